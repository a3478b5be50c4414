#include "predict/input_spec.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace parasol {

ReaderOptions InputSpec::MakeReaderOptions(int parse_threads, int64_t max_bad_lines,
                                           bool labels_optional) const {
  ReaderOptions options;
  options.format = format;
  options.parse_threads = parse_threads;
  options.max_bad_lines = max_bad_lines;
  options.hash_bits = hash_bits;
  options.labels_optional = labels_optional;
  if (pipeline != nullptr) {
    options.schema = pipeline->schema();
    options.encoder_factory = pipeline->EncoderFactory(labels_optional);
  }
  return options;
}

std::string InputSpec::Fingerprint() const {
  return absl::StrCat(DataFormatName(format), "|", hash_bits, "|",
                      pipeline == nullptr ? "" : pipeline->ToJson());
}

absl::StatusOr<InputSpec> InputSpecFromManifest(const ModelManifest& manifest) {
  InputSpec spec;
  ASSIGN_OR_RETURN(spec.format, ParseDataFormat(manifest.data_format));
  spec.hash_bits = manifest.hash_bits;
  if (spec.format == DataFormat::kLibsvm) return spec;
  if (manifest.transforms_json.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("model manifest: input format ",
                                                   manifest.data_format, " needs its transforms"));
  }
  ASSIGN_OR_RETURN(spec.pipeline, FeaturePipeline::FromJson(manifest.transforms_json));
  return spec;
}

ModelManifest BuildManifest(const ModelSpec& spec, const OptimizerConfig& optimizer,
                            const InputSpec& input, int64_t feature_count,
                            std::string training_json) {
  ModelManifest manifest;
  manifest.spec = spec;
  manifest.optimizer = optimizer;
  manifest.data_format = DataFormatName(input.format);
  manifest.hash_bits = input.hash_bits;
  if (input.pipeline != nullptr) manifest.transforms_json = input.pipeline->ToJson();
  manifest.feature_count = feature_count;
  manifest.training_json = std::move(training_json);
  return manifest;
}

}  // namespace parasol
