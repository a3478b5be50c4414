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
#include "ps/transport.h"

namespace parasol {

class GrpcTransport : public PsTransport {
 public:
  // addresses[i] is server i's HOST:PORT.
  explicit GrpcTransport(const std::vector<std::string>& addresses, double retry_seconds = 60);
  ~GrpcTransport() override;
  int num_servers() const override;
  absl::StatusOr<ClockReply> Clock(int server, const ClockCall& call) override;
  absl::StatusOr<PsStats> Stats(int server) override;
  absl::StatusOr<ShardCheckpoint> Checkpoint(int server,
                                             const ShardCheckpointRequest& request) override;
  // Streamed in chunks (ExportRequest); not retried: a server that dies mid-export fails it.
  absl::Status Export(int server, const std::string& table, const RowFn& fn) override;
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
