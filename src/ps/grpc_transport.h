// PsTransport over gRPC to `parasol ps server` processes: one channel and one calling thread per
// server, so calls to a server run in the order they were made and calls to different servers in
// parallel. Thread-safe; `done` runs on the server's calling thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

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
  explicit GrpcTransport(const std::vector<std::string>& addresses);
  ~GrpcTransport() override;
  int num_servers() const override;
  // Bounded staleness through server 0's clocks (proto/ps.proto ClockRequest); blocking.
  absl::Status AdvanceClock(int worker, int num_workers, int64_t clock, int64_t staleness);
  absl::Status FinishClock(int worker, int num_workers);
  void Pull(int server, const std::string& table, std::vector<uint64_t> keys,
            std::vector<float>* values, Done done) override;
  void Push(int server, const std::string& table, std::vector<uint64_t> keys,
            std::vector<float> grads, Done done) override;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace parasol
