#include "train/training_input.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace parasol {

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

absl::StatusOr<InputSpec> PrepareTrainingInput(const TrainConfig& config) {
  ASSIGN_OR_RETURN(InputSpec input, InputSpecFromConfig(config));
  if (input.pipeline == nullptr || !input.pipeline->NeedsStatistics()) return input;
  ReaderOptions options = input.MakeReaderOptions(0, config.max_bad_lines);
  options.encoder_factory = input.pipeline->StatisticsFactory();
  ASSIGN_OR_RETURN(auto reader, OpenDataReader(config.train_path, options));
  ExampleBlock block;
  while (true) {
    ASSIGN_OR_RETURN(bool more, reader->Next(&block));
    if (!more) break;
  }
  RETURN_IF_ERROR(input.pipeline->FinishStatistics());
  return input;
}

absl::StatusOr<ModelSpec> ResolveModelSpec(const TrainConfig& config, const InputSpec& input) {
  ModelSpec spec = config.model;
  if (spec.type != ModelType::kFfm && !IsDeep(spec.type)) return spec;
  if (input.pipeline != nullptr) {
    spec.num_fields = input.pipeline->num_fields();
    return spec;
  }
  if (spec.num_fields > 1) return spec;
  ASSIGN_OR_RETURN(auto reader, OpenDataReader(config.train_path,
                                               input.MakeReaderOptions(config.resolved_threads(),
                                                                       config.max_bad_lines)));
  ExampleBlock block;
  uint32_t max_field = 0;
  while (true) {
    ASSIGN_OR_RETURN(bool more, reader->Next(&block));
    if (!more) break;
    for (uint32_t f : block.fields()) max_field = std::max(max_field, f);
  }
  spec.num_fields = static_cast<int>(max_field) + 1;
  if (IsDeep(spec.type) && spec.num_fields == 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        config.train_path, ": model ", ModelTypeName(spec.type),
        " learns one embedding per field, and this libsvm file has no fields (every feature is "
        "idx:value). Write features as field:idx:value (libffm), e.g. '1 0:12:1 1:7:0.5', or use "
        "CSV with a schema (--format csv --schema FILE), where each column is a field"));
  }
  return spec;
}

absl::StatusOr<PreparedTraining> PrepareTraining(const TrainConfig& config) {
  PreparedTraining out;
  ASSIGN_OR_RETURN(out.input, PrepareTrainingInput(config));
  ASSIGN_OR_RETURN(out.spec, ResolveModelSpec(config, out.input));
  return out;
}

}  // namespace parasol
