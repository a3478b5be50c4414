// The on-disk model directory shared by `parasol train`, checkpoints and the model server:
//   DIR/manifest.json   what the model is (type, config, transforms, tables, training summary)
//   DIR/weights.bin     the sparse table: keys, weights and optimizer state (see docs/)
// manifest.h reads the manifest alone, table_file.h is one table file's format, and
// checkpoint_dir.h the checkpoints that LoadModelDir also loads. Functions here are
// thread-compatible: do not save and load the same directory concurrently.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "model/model.h"
#include "model/sparse_table.h"
#include "optim/optimizer.h"
#include "storage/manifest.h"

namespace parasol {

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
// A checkpoint's manifest loads the same way: every shard file, each delta applied over the
// same shard of the previous checkpoint (whose shard count must match).
// With `keep`, only the rows whose key it accepts are stored (a parameter server restoring its
// share of a checkpoint holds only that share in memory).
absl::StatusOr<LoadedModel> LoadModelDir(const std::string& dir, bool with_state,
                                         const std::function<bool(uint64_t)>& keep = nullptr);

}  // namespace parasol
