// The on-disk model directory shared by `parasol train`, checkpoints and the model server:
//   DIR/manifest.json   what the model is (type, config, transforms, tables, training summary)
//   DIR/weights.bin     the sparse table: keys, weights and optimizer state (see docs/)
// The manifest is written last and names each table file's checksum, so a directory whose
// manifest is present and matches its tables is complete. Functions here are thread-compatible:
// do not save and load the same directory concurrently.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
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

// One table file (the weights.bin layout of docs/model-format.md) as a manifest lists it.
struct TableFile {
  std::string file;  // plain file name inside the model directory
  uint64_t rows = 0;
  uint64_t checksum = 0;
  bool delta = false;  // checkpoint shards: only the rows changed since the previous checkpoint
};

// A checkpoint written by parameter servers (src/ps/checkpoint.h): one table file per server
// shard, each either whole or a delta over the same shard of `previous` (a sibling directory).
// A dense table of a checkpoint (parameter servers' dense tables): `size` floats, each stored as
// a row keyed by its index, its weight followed by `state_dim` optimizer state floats; shard i is
// server i's contiguous range, always whole.
struct DenseTableCheckpoint {
  std::string name;
  uint64_t size = 0;
  int state_dim = 0;
  std::vector<TableFile> shards;
};

struct CheckpointInfo {
  int64_t id = 0;
  std::string previous;                // sibling directory name; empty for none
  std::vector<TableFile> shards;       // shard i = the rows server i of shards.size() held
  std::vector<int64_t> worker_clocks;  // batches each worker had finished (-1: finished)
  std::vector<DenseTableCheckpoint> dense;
};

// Writes `rows` (key → dim weights followed by state_dim optimizer state floats, sorted by key)
// to `path` atomically (a temporary file renamed into place). With `finalize`, weights are
// exported through it (the averaged perceptron) given `steps`; otherwise copied.
absl::StatusOr<TableFile> WriteTableFile(const std::string& path,
                                         absl::Span<const std::pair<uint64_t, const float*>> rows,
                                         int dim, int state_dim, const Optimizer* finalize,
                                         uint64_t steps);

// Writes DIR/manifest.json for a checkpoint whose shard files are already in DIR: from then on
// DIR loads with LoadModelDir like any model directory (sharded, delta chains followed).
absl::Status WriteCheckpointManifest(const std::string& dir, const ModelManifest& manifest,
                                     const CheckpointInfo& checkpoint);

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

// DIR's manifest alone (no table files read).
absl::StatusOr<ModelManifest> ReadModelManifest(const std::string& dir);

// The checkpoint section of DIR's manifest; NotFound when DIR is a plain model directory.
absl::StatusOr<CheckpointInfo> ReadCheckpointInfo(const std::string& dir);

// Reads dense table `table` of checkpoint DIR whole: size weights and size * state_dim state
// floats (interleaved per weight). DataLoss names the file that is truncated, corrupt, or leaves
// an index out.
absl::Status LoadDenseTable(const std::string& dir, const DenseTableCheckpoint& table,
                            std::vector<float>* weights, std::vector<float>* state);

}  // namespace parasol
