// Builds one parameter server (a PsNode) from its settings: the sparse table (model, optimizer,
// admission, TTL), dense tables, the checkpoint directory, and a restore from a checkpoint or
// model directory onto any shard layout. `parasol ps server`, `parasol cluster` and in-process
// tests build servers only through here. Re-entrant.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "ps/ps_node.h"
#include "ps/server_table.h"

namespace parasol {

// A dense table of `size` floats over all servers (each holds an index range).
struct DenseTableSpec {
  std::string name;
  uint64_t size = 0;
  // Unset: the sparse table's optimizer, init scale and seed (--dense tables). A deep model's
  // layers (added by BuildPsNode) carry their own optimizer and initial weights.
  std::optional<OptimizerConfig> optimizer;
  std::shared_ptr<const std::vector<float>> initial;
};

struct PsNodeOptions {
  ServerTableConfig table;  // the sparse table
  // With the sparse table's optimizer, init scale and seed. A deep model's layers are added as
  // table kDenseTableName (storage/manifest.h) whatever is listed here.
  std::vector<DenseTableSpec> dense;
  std::string checkpoint_root;  // where checkpoint requests write; empty: refused
  // A checkpoint or model directory with optimizer state to start from; empty: initial weights.
  // Only the keys ShardMap(num_shards) gives to `shard` are read, and the ranges of the dense
  // tables this shard holds (a dense table the checkpoint lacks starts from initial weights).
  std::string restore;
  int shard = 0;
  int num_shards = 1;
  bool restore_clocks = false;  // also take the worker clocks of `restore` (the same job resumes)
  // Start from the newest whole checkpoint under `checkpoint_root` when there is one, clocks
  // included, instead of `restore` (which then only seeds a job with no checkpoint yet) — a
  // server of a running job restarted by whatever supervises it (the job supervisor's restart
  // policy, Kubernetes) picks up where the job's checkpoints are.
  bool restore_latest = false;
};

// InvalidArgument for settings that can never work (a bad model, optimizer, shard, dense table,
// or a checkpoint of another model); the loader's errors (NotFound, DataLoss, ...) for a
// checkpoint that cannot be read. Logs what it restored.
absl::StatusOr<std::unique_ptr<PsNode>> BuildPsNode(const PsNodeOptions& options);

}  // namespace parasol
