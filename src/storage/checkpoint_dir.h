// Checkpoints written by parameter servers (src/ps/checkpoint.h), as directories under a
// checkpoint root: one table file per server shard, each either whole or a delta over the same
// shard of the previous checkpoint (a sibling directory), the servers' dense tables, and a
// manifest.json with a "checkpoint" section (docs/model-format.md). A checkpoint is also a model
// directory: LoadModelDir (model_dir.h) loads it, following the delta chain. Functions here are
// thread-compatible: do not write and read the same checkpoint concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "model/sparse_table.h"
#include "storage/manifest.h"
#include "storage/table_file.h"

namespace parasol {

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
  int64_t feature_count = 0;  // rows of the sparse table over all servers, bias excluded
};

// The directory name of checkpoint `id` under a checkpoint root ("ckpt-000007"): what a later
// checkpoint's `previous` names.
std::string CheckpointDirName(int64_t id);

// Writes DIR/manifest.json for a checkpoint whose shard files are already in DIR: from then on
// DIR loads with LoadModelDir like any model directory (sharded, delta chains followed).
absl::Status WriteCheckpointManifest(const std::string& dir, const ModelManifest& manifest,
                                     const CheckpointInfo& checkpoint);

// The checkpoint section of DIR's manifest; NotFound when DIR is a plain model directory.
absl::StatusOr<CheckpointInfo> ReadCheckpointInfo(const std::string& dir);

// One table file of a checkpoint shard, with the checkpoint directory that holds it.
struct ShardFile {
  std::string dir;
  TableFile file;
};

// The delta chain of checkpoint `dir` (whose manifest, at `where`, has checkpoint section `top`
// and a sparse table of dim weights and state_dim state floats per row), followed back far
// enough that every shard reaches a whole file. Returns, for each shard, the files to apply in
// order: its newest whole file, then each later delta, oldest first. DataLoss when a delta has
// no previous checkpoint or the chain is longer than any real one (a cycle in 'previous'), or a
// previous checkpoint's dimensions or shard count differ; the errors of ReadCheckpointInfo for
// a previous checkpoint's manifest.
absl::StatusOr<std::vector<std::vector<ShardFile>>> ResolveDeltaChain(const std::string& dir,
                                                                      const std::string& where,
                                                                      CheckpointInfo top, int dim,
                                                                      int state_dim);

// A checkpoint read as a delta to apply in place (the model server's incremental updates):
// only its own shard files, weights without optimizer state.
struct CheckpointDelta {
  ModelManifest manifest;
  CheckpointInfo checkpoint;
  int dim = 0;
  std::unique_ptr<SparseTable> rows;  // dim weights per row: the rows changed since `previous`
};

// Reads DIR (a checkpoint whose shards are all deltas over checkpoint.previous) without following
// the chain. FailedPrecondition when DIR is not a checkpoint, has no previous checkpoint, or has a
// whole shard (a whole shard also drops rows, which an in-place update cannot express); the
// errors of LoadModelDir for a missing manifest or a truncated, corrupt or mismatched file.
absl::StatusOr<CheckpointDelta> ReadCheckpointDelta(const std::string& dir);

// Reads dense table `table` of checkpoint DIR whole: size weights and size * state_dim state
// floats (interleaved per weight). DataLoss names the file that is truncated, corrupt, or leaves
// an index out.
absl::Status LoadDenseTable(const std::string& dir, const DenseTableCheckpoint& table,
                            std::vector<float>* weights, std::vector<float>* state);

}  // namespace parasol
