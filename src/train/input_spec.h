// How raw input becomes examples for one model: the text format, hashing and (for CSV/Criteo)
// the feature pipeline. Built from a training config, or from a saved model's manifest so that
// evaluation and prediction compute exactly the training keys. Immutable once built; shareable.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "data/reader.h"
#include "model/model_dir.h"
#include "train/train_config.h"
#include "transform/feature_pipeline.h"

namespace parasol {

struct InputSpec {
  DataFormat format = DataFormat::kLibsvm;
  int hash_bits = 0;
  std::shared_ptr<FeaturePipeline> pipeline;  // null for libsvm

  // `labels_optional` (prediction only) lets input come without labels: see
  // ReaderOptions::labels_optional; the pipeline's encoders then accept a missing label column.
  ReaderOptions MakeReaderOptions(int parse_threads, int64_t max_bad_lines,
                                  bool labels_optional = false) const;
  // The text the binary cache fingerprint covers: format, hashing and the pipeline.
  std::string Fingerprint() const;
};

// Loads the schema (CSV: config.schema_path; Criteo: built in) and the transforms of
// config.config_text. Statistics for normalize are not collected here (see the trainer).
absl::StatusOr<InputSpec> InputSpecFromConfig(const TrainConfig& config);
absl::StatusOr<InputSpec> InputSpecFromManifest(const ModelManifest& manifest);

// InputSpecFromConfig plus the pass over config.train_path that collects normalize statistics
// when a transform needs them: what training (local or distributed) reads with.
absl::StatusOr<InputSpec> PrepareTrainingInput(const TrainConfig& config);

// config.model with FFM's field count resolved: from the pipeline (CSV/Criteo), or for libsvm a
// scan of the training file when the config does not give `fields`.
absl::StatusOr<ModelSpec> ResolveModelSpec(const TrainConfig& config, const InputSpec& input);

// What a process that trains resolves first (`parasol cluster` and `parasol ps worker`, the
// latter on every worker of a job from the same flags): PrepareTrainingInput, then
// ResolveModelSpec.
struct PreparedTraining {
  InputSpec input;
  ModelSpec spec;
};
absl::StatusOr<PreparedTraining> PrepareTraining(const TrainConfig& config);

// The manifest of a model trained with these settings.
ModelManifest BuildManifest(const ModelSpec& spec, const OptimizerConfig& optimizer,
                            const InputSpec& input, int64_t feature_count,
                            std::string training_json);

}  // namespace parasol
