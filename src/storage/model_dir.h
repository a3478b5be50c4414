// The on-disk model directory shared by `parasol train`, checkpoints and the model server:
//   DIR/manifest.json   what the model is (type, config, transforms, tables, training summary)
//   DIR/weights.bin     the sparse table: keys, weights and optimizer state (see docs/)
//   DIR/dense.bin       deep models: the dense layers' weights and optimizer state
// manifest.h reads the manifest alone, table_file.h is one table file's format, and
// checkpoint_dir.h the checkpoints that LoadModelDir also loads. Functions here are
// thread-compatible: do not save and load the same directory concurrently.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "model/model.h"
#include "model/sparse_table.h"
#include "optim/optimizer.h"
#include "storage/manifest.h"

namespace parasol {

// A deep model's dense weights as the trainer holds them: `size` weights, then their optimizer
// state (size * optimizer.state_per_weight() floats, interleaved per weight as Optimizer keeps
// it), updated `steps` times.
struct DenseWeights {
  const float* weights = nullptr;
  const float* state = nullptr;
  int64_t size = 0;
  const Optimizer* optimizer = nullptr;
  uint64_t steps = 0;
};

// Writes `table` (rows of dim weights followed by dim * S optimizer state floats) as a model
// directory. `optimizer` exports the weights (Finalize) given `steps` updates so far. A deep
// model's dense layers come as `dense` (required exactly when the model has dense weights).
absl::Status SaveModelDir(const std::string& dir, const ModelManifest& manifest,
                          const SparseTable& table, const Optimizer& optimizer, uint64_t steps,
                          const DenseWeights* dense = nullptr);

struct LoadedModel {
  ModelManifest manifest;
  std::unique_ptr<Model> model;
  // Rows hold dim() weights, followed by the optimizer state when loaded with_state.
  std::unique_ptr<SparseTable> table;
  int state_floats = 0;  // per row, 0 unless loaded with_state
  // Deep models: the dense layers (model->dense_size() weights, laid out as DeepModel says),
  // and with_state their optimizer state (dense_state_floats per weight, interleaved).
  std::vector<float> dense;
  std::vector<float> dense_state;
  int dense_state_floats = 0;
};

// Loads DIR. Errors name the file and what is wrong: missing manifest, unsupported format
// version, unknown field, a table file whose size or checksum does not match (truncated or
// half-written), dimensions that disagree with the manifest.
// A checkpoint's manifest loads the same way: every shard file, each delta applied over the
// same shard of the previous checkpoint (whose shard count must match).
// With `keep`, only the rows whose key it accepts are stored (a parameter server restoring its
// share of a checkpoint holds only that share in memory).
absl::StatusOr<LoadedModel> LoadModelDir(const std::string& dir, bool with_state,
                                         const std::function<bool(uint64_t)>& keep = nullptr);

}  // namespace parasol
