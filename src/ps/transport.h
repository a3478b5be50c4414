// The seam between the worker client and the servers: an asynchronous Pull/Push to server i
// (sparse tables by key, dense tables by index range).
// InProcessTransport calls ServerTables directly (unit tests, several nodes in one process);
// GrpcTransport (grpc_transport.h) talks to `parasol ps server` processes. Implementations are
// thread-safe; `done` is called exactly once per call, possibly on another thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "ps/dense_table.h"
#include "ps/server_table.h"

namespace parasol {

class PsTransport {
 public:
  using Done = std::function<void(absl::Status)>;
  // A pull's answer: keys.size() * dim floats, valid only during the call (the reply buffer
  // itself: the receiver copies rows straight to where they go).
  using PullDone = std::function<void(absl::Status, absl::Span<const float>)>;
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
};

// Servers as objects in this process; calls complete synchronously. Counts requests so tests
// can check batching.
class InProcessTransport : public PsTransport {
 public:
  // tables[i] is server i's only sparse table, dense[i] its dense tables (none when `dense` is
  // empty); not owned, must outlive the transport.
  explicit InProcessTransport(std::vector<ServerTable*> tables,
                              std::vector<std::vector<DenseTable*>> dense = {})
      : tables_(std::move(tables)), dense_(std::move(dense)) {}
  int num_servers() const override { return static_cast<int>(tables_.size()); }
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
  int requests() const { return requests_.load(); }

 private:
  ServerTable* Find(int server, const std::string& table, absl::Status* status) const;
  DenseTable* FindDense(int server, const std::string& table, absl::Status* status) const;
  std::vector<ServerTable*> tables_;
  std::vector<std::vector<DenseTable*>> dense_;
  std::atomic<int> requests_{0};
};

}  // namespace parasol
