// The on-disk model directory shared by `parasol train`, checkpoints and the model server:
//   DIR/manifest.json   what the model is (type, config, transforms, tables, training summary)
//   DIR/weights.bin     the sparse table: keys, weights and optimizer state (see docs/)
// The manifest is written last and names each table file's checksum, so a directory whose
// manifest is present and matches its tables is complete. Functions here are thread-compatible:
// do not save and load the same directory concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "model/model.h"
#include "model/sparse_table.h"
#include "optim/optimizer.h"

namespace parasol {

inline constexpr int kModelFormatVersion = 1;

struct ModelManifest {
  ModelSpec spec;
  OptimizerConfig optimizer;
  std::string data_format = "libsvm";  // how raw input is read: libsvm | csv | criteo
  int hash_bits = 0;
  std::string transforms_json;       // FeaturePipeline::ToJson(); empty for libsvm input
  int64_t feature_count = 0;         // rows in the table, bias excluded
  std::string training_json = "{}";  // training summary, a JSON object
};

// Writes `table` (rows of dim weights followed by dim * S optimizer state floats) as a model
// directory. `optimizer` exports the weights (Finalize) given `steps` updates so far.
absl::Status SaveModelDir(const std::string& dir, const ModelManifest& manifest,
                          const SparseTable& table, const Optimizer& optimizer, uint64_t steps);

struct LoadedModel {
  ModelManifest manifest;
  std::unique_ptr<Model> model;
  // Rows hold dim() weights, followed by the optimizer state when loaded with_state.
  std::unique_ptr<SparseTable> table;
  int state_floats = 0;  // per row, 0 unless loaded with_state
};

// Loads DIR. Errors name the file and what is wrong: missing manifest, unsupported format
// version, unknown field, a table file whose size or checksum does not match (truncated or
// half-written), dimensions that disagree with the manifest.
absl::StatusOr<LoadedModel> LoadModelDir(const std::string& dir, bool with_state);

}  // namespace parasol
