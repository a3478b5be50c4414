// What a process that trains resolves from its config before the first example: the input
// (schema, transforms and their normalize statistics) and the model spec (FFM's field count).
// Shared by the local trainer and distributed workers so that both read the same keys.
// Functions here are re-entrant.
#pragma once

#include "absl/status/statusor.h"
#include "model/model.h"
#include "predict/input_spec.h"
#include "train/train_config.h"

namespace parasol {

// Loads the schema (CSV: config.schema_path; Criteo: built in) and the transforms of
// config.config_text. Statistics for normalize are not collected here (see the trainer).
absl::StatusOr<InputSpec> InputSpecFromConfig(const TrainConfig& config);

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

}  // namespace parasol
