// One parameter server as an object, free of any transport: its sparse and dense tables, the
// worker clocks (server 0's are the job's), checkpoints of its shards and its statistics. The
// gRPC service (grpc_server.h) and the in-process transport (transport.h) are thin layers over
// it, so everything a server does can run in one process in a unit test. Built with
// BuildPsNode (ps_node_builder.h). Thread-safe: every call may run concurrently with any other.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "ps/clock_table.h"
#include "ps/dense_table.h"
#include "ps/server_table.h"
#include "storage/table_file.h"

namespace parasol {

// A worker's clock call: batch `clock` finished (BSP/SSP wait for the slowest up to
// `staleness`; ASP, negative, only records), or the worker's whole share `finished`.
struct ClockCall {
  int worker = 0;
  int num_workers = 1;
  int64_t clock = 0;
  int64_t staleness = 0;
  bool finished = false;
  std::chrono::milliseconds timeout{600000};  // the longest a BSP/SSP wait may take
  // Epoch coordination instead of a clock (ClockTable::ReachEpoch, Decide, AwaitDecision).
  enum class EpochOp { kNone = 0, kReached = 1, kDecide = 2, kAwait = 3 };
  EpochOp epoch_op = EpochOp::kNone;
  int64_t epoch = 0;
  bool stop = false;  // kDecide
};

// What a clock call answers: for EpochOp::kAwait, whether training stops after the epoch.
struct ClockReply {
  bool stop = false;
};

// What a server reports of itself.
struct PsStats {
  std::vector<ServerTableStats> tables;
  std::vector<DenseTableStats> dense;
  std::vector<int64_t> worker_clocks;  // batches each worker finished (-1: finished); server 0
};

// Asks a server to write its shard of `table` as checkpoint `name` (a delta over `previous`
// where it can) into the server's checkpoint directory, as shard `shard` of `num_shards`.
struct ShardCheckpointRequest {
  std::string table;
  std::string name;
  std::string previous;
  int shard = 0;
  int num_shards = 1;
};

struct ShardCheckpoint {
  TableFile file;
  uint64_t features = 0;               // sparse tables: rows, the bias row excluded
  std::vector<int64_t> worker_clocks;  // at the time of the checkpoint (server 0's matter)
};

class PsNode {
 public:
  // `checkpoint_root`: where Checkpoint writes (refused when empty).
  PsNode(std::vector<std::unique_ptr<ServerTable>> tables,
         std::vector<std::unique_ptr<DenseTable>> dense, std::string checkpoint_root = "");
  ~PsNode();

  // nullptr when there is no such table.
  ServerTable* table(const std::string& name) const;
  DenseTable* dense_table(const std::string& name) const;
  // NotFound naming the tables this server has: the answer to a request for `name`.
  absl::Status UnknownTable(const std::string& name) const;
  const std::vector<std::unique_ptr<ServerTable>>& tables() const { return tables_; }
  const std::vector<std::unique_ptr<DenseTable>>& dense_tables() const { return dense_; }

  // Worker clocks (server 0's are the job's): see ClockTable. Blocks for BSP/SSP.
  absl::StatusOr<ClockReply> Clock(const ClockCall& call);
  std::vector<int64_t> WorkerClocks() { return clocks_.Snapshot(); }
  void RestoreClocks(const std::vector<int64_t>& clocks) { clocks_.Restore(clocks); }

  // Writes the shard file CHECKPOINT_ROOT/NAME/TABLE-SHARD-of-N.bin. InvalidArgument for names
  // that are not plain directory names or a bad shard; FailedPrecondition without a root.
  absl::StatusOr<ShardCheckpoint> Checkpoint(const ShardCheckpointRequest& request);

  PsStats Stats();

  // Drops rows idle for their table's TTL every quarter TTL (clamped to [50 ms, 60 s]) on a
  // thread of this node, logging what it evicted, until the node is destroyed. No-op for tables
  // without TTL.
  void StartEviction();

 private:
  class Evictor;
  std::vector<std::unique_ptr<ServerTable>> tables_;
  std::vector<std::unique_ptr<DenseTable>> dense_;
  const std::string checkpoint_root_;
  ClockTable clocks_;
  std::vector<std::unique_ptr<Evictor>> evictors_;  // last: stopped before the tables go
};

}  // namespace parasol
