// The seam between workers, coordinators and the servers: everything a client asks of server i
// goes through PsTransport — asynchronous Pull/Push (sparse tables by key, dense tables by index
// range) and blocking control calls (clocks, checkpoints, export, statistics).
// InProcessTransport calls PsNodes in this process (unit tests, several servers in one process,
// restarts included); GrpcTransport (grpc_transport.h) talks to `parasol ps server` processes.
// Implementations are thread-safe; `done` is called exactly once per call, possibly on another
// thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "ps/ps_node.h"
#include "storage/checkpoint_dir.h"

namespace parasol {

class SparseTable;

class PsTransport {
 public:
  using Done = std::function<void(absl::Status)>;
  // A pull's answer: keys.size() * dim floats, valid only during the call (the reply buffer
  // itself: the receiver copies rows straight to where they go).
  using PullDone = std::function<void(absl::Status, absl::Span<const float>)>;
  // One exported row: the key and its weights followed by optimizer state.
  using RowFn = std::function<void(uint64_t key, absl::Span<const float> row)>;
  virtual ~PsTransport() = default;
  virtual int num_servers() const = 0;
  virtual void Pull(int server, const std::string& table, std::vector<uint64_t> keys,
                    PullDone done) = 0;
  virtual void Push(int server, const std::string& table, std::vector<uint64_t> keys,
                    std::vector<float> grads, Done done) = 0;
  // Push, then answer the same keys' rows after the update (one round trip).
  virtual void PushPull(int server, const std::string& table, std::vector<uint64_t> keys,
                        std::vector<float> grads, PullDone done) = 0;
  // Dense tables: `length` weights from global index `offset` into *values (resized), and
  // gradients for the indexes from `offset`.
  virtual void DensePull(int server, const std::string& table, uint64_t offset, uint64_t length,
                         std::vector<float>* values, Done done) = 0;
  virtual void DensePush(int server, const std::string& table, uint64_t offset,
                         std::vector<float> grads, Done done) = 0;

  // Control calls, blocking. A clock call goes to the server that keeps the job's clocks
  // (server 0) and may wait there for slower workers (BSP/SSP).
  virtual absl::StatusOr<ClockReply> Clock(int server, const ClockCall& call) = 0;
  virtual absl::StatusOr<PsStats> Stats(int server) = 0;
  virtual absl::StatusOr<ShardCheckpoint> Checkpoint(int server,
                                                     const ShardCheckpointRequest& request) = 0;
  // Calls fn for every row of `table` on `server`, in key order. A dense table exports one row
  // per index of the server's range: the global index, then [weight, optimizer state].
  virtual absl::Status Export(int server, const std::string& table, const RowFn& fn) = 0;
};

// Servers as objects in this process; calls complete synchronously. Counts requests so tests
// can check batching. A server can be taken down and replaced (a restart from a checkpoint):
// calls to a server that is down fail with Unavailable.
class InProcessTransport : public PsTransport {
 public:
  // nodes[i] is server i; not owned, each must outlive the transport or be replaced first.
  explicit InProcessTransport(std::vector<PsNode*> nodes) : nodes_(std::move(nodes)) {}
  // Replaces server i (nullptr: down). Calls already running on the old node finish there.
  void SetNode(int server, PsNode* node);

  int num_servers() const override { return static_cast<int>(nodes_.size()); }
  void Pull(int server, const std::string& table, std::vector<uint64_t> keys,
            PullDone done) override;
  void Push(int server, const std::string& table, std::vector<uint64_t> keys,
            std::vector<float> grads, Done done) override;
  void PushPull(int server, const std::string& table, std::vector<uint64_t> keys,
                std::vector<float> grads, PullDone done) override;
  void DensePull(int server, const std::string& table, uint64_t offset, uint64_t length,
                 std::vector<float>* values, Done done) override;
  void DensePush(int server, const std::string& table, uint64_t offset, std::vector<float> grads,
                 Done done) override;
  absl::StatusOr<ClockReply> Clock(int server, const ClockCall& call) override;
  absl::StatusOr<PsStats> Stats(int server) override;
  absl::StatusOr<ShardCheckpoint> Checkpoint(int server,
                                             const ShardCheckpointRequest& request) override;
  absl::Status Export(int server, const std::string& table, const RowFn& fn) override;
  int requests() const { return requests_.load(); }

 private:
  absl::StatusOr<PsNode*> Node(int server) const;
  absl::StatusOr<ServerTable*> Find(int server, const std::string& table) const;
  absl::StatusOr<DenseTable*> FindDense(int server, const std::string& table) const;
  mutable std::shared_mutex mu_;  // guards nodes_ against SetNode
  std::vector<PsNode*> nodes_;
  std::atomic<int> requests_{0};
};

// Client-side operations over any transport, shared by workers, coordinators and launchers.

// Advances worker `worker`'s clock on server 0 (see ClockTable), or marks it finished.
absl::Status AdvanceClock(PsTransport& transport, int worker, int num_workers, int64_t clock,
                          int64_t staleness);
absl::Status FinishClock(PsTransport& transport, int worker, int num_workers);
// Epoch coordination on server 0 (ClockTable): worker `worker` finished `epoch` and waits for
// every unfinished worker to finish it; worker 0 posts whether training stops after it; the
// others wait for that decision (true: stop).
absl::Status ReachEpoch(PsTransport& transport, int worker, int num_workers, int64_t epoch);
absl::Status DecideEpoch(PsTransport& transport, int64_t epoch, bool stop);
absl::StatusOr<bool> AwaitEpochDecision(PsTransport& transport, int64_t epoch);
// Batches each worker has finished, as server 0 records them (-1: finished).
absl::StatusOr<std::vector<int64_t>> WorkerClocks(PsTransport& transport);
// The dense tables server 0 holds (every server holds a range of each).
absl::StatusOr<std::vector<DenseTableInfo>> DenseTables(PsTransport& transport);
// Asks every server to write its shard of `table` as checkpoint `name` (a delta over `previous`
// where it can), in parallel; shard i is server i's file. Worker clocks are server 0's.
absl::StatusOr<CheckpointInfo> WriteShards(PsTransport& transport, const std::string& table,
                                           const std::string& name, const std::string& previous);
// Copies every row of `table` on every server into *into (rows of weights followed by optimizer
// state; into->row_floats() must match the servers'). DataLoss on a row of another width.
absl::Status ExportTable(PsTransport& transport, const std::string& table, SparseTable* into);
// Copies the whole dense table `table` (`size` weights, each with state_per_weight state floats)
// from every server's range. DataLoss when an index is missing or has another width.
absl::Status ExportDenseTable(PsTransport& transport, const std::string& table, uint64_t size,
                              int state_per_weight, std::vector<float>* weights,
                              std::vector<float>* state);
// Export's rows of a dense table held here (the servers' Export handlers).
void ForEachDenseRow(const DenseTable& table, const PsTransport::RowFn& fn);

}  // namespace parasol
