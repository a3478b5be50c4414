#include "train/input_spec.h"

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

absl::StatusOr<InputSpec> InputSpecFromConfig(const TrainConfig& config) {
  InputSpec spec;
  spec.format = config.format;
  spec.hash_bits = config.hash_bits;
  if (config.format == DataFormat::kLibsvm) return spec;
  Schema schema;
  if (config.format == DataFormat::kCriteo) {
    schema = CriteoSchema();
  } else {
    ASSIGN_OR_RETURN(schema, Schema::FromYamlFile(config.schema_path));
  }
  ASSIGN_OR_RETURN(
      spec.pipeline,
      FeaturePipeline::Create(schema, config.config_text,
                              config.config_origin.empty() ? "model config" : config.config_origin,
                              config.hash_bits));
  return spec;
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

}  // namespace parasol
