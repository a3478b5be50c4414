// PsTransport over gRPC to `parasol ps server` processes: one channel and one calling thread per
// server, so calls to a server run in the order they were made and calls to different servers in
// parallel. A call that finds its server unavailable (killed, being restarted from a checkpoint)
// is retried for up to `retry_seconds` before it fails. Thread-safe; `done` runs on the server's
// calling thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "model/model_dir.h"
#include "ps/transport.h"

namespace parasol {

class SparseTable;

// Copies every row of `table` on the server at `address` into *into (rows of weights followed
// by optimizer state; into->row_floats() must match the server's). Blocking.
absl::Status ExportFromServer(const std::string& address, const std::string& table,
                              SparseTable* into);

class GrpcTransport : public PsTransport {
 public:
  // addresses[i] is server i's HOST:PORT.
  explicit GrpcTransport(const std::vector<std::string>& addresses, double retry_seconds = 60);
  ~GrpcTransport() override;
  int num_servers() const override;
  // Bounded staleness through server 0's clocks (proto/ps.proto ClockRequest); blocking.
  absl::Status AdvanceClock(int worker, int num_workers, int64_t clock, int64_t staleness);
  absl::Status FinishClock(int worker, int num_workers);
  // Batches each worker has finished, as server 0 records them (-1: finished).
  absl::StatusOr<std::vector<int64_t>> WorkerClocks();
  // Asks every server to write its shard of `table` as checkpoint `name` (a delta over
  // `previous` where it can), in parallel; shard i is server i's file. Blocking.
  absl::StatusOr<CheckpointInfo> WriteShards(const std::string& table, const std::string& name,
                                             const std::string& previous);
  // The dense tables server 0 holds (every server holds a range of each). Blocking.
  absl::StatusOr<std::vector<DenseTableInfo>> DenseTables();
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

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace parasol
