// `parasol ps server`: serves a PsNode over gRPC (proto/ps.proto), translating messages only:
// what a server does is ps_node.h's. Requests are checked before use (sizes, finiteness, table
// names): a malformed or oversized request gets an error status, never a crash. Thread-safe; gRPC
// runs handlers on its own thread pool.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "ps/dense_table.h"
#include "ps/ps_node.h"
#include "ps/server_table.h"

namespace parasol {

// Largest request or reply accepted, in bytes (1M keys × 32 floats fits).
inline constexpr int kPsMaxMessageBytes = 256 << 20;

class PsGrpcServer {
 public:
  // Listens on `address` (HOST:PORT; port 0 picks a free one) and serves `node` (not owned; it
  // must outlive the server).
  static absl::StatusOr<std::unique_ptr<PsGrpcServer>> Start(const std::string& address,
                                                             PsNode* node);
  // The same over a node of its own made of the sparse `tables`, this server's ranges of the
  // `dense` tables and `checkpoint_root` (see PsNode).
  static absl::StatusOr<std::unique_ptr<PsGrpcServer>> Start(
      const std::string& address, std::vector<std::unique_ptr<ServerTable>> tables,
      const std::string& checkpoint_root = "", std::vector<std::unique_ptr<DenseTable>> dense = {});
  ~PsGrpcServer();

  // HOST:PORT actually bound.
  const std::string& address() const { return address_; }
  PsNode* node() const { return node_; }
  ServerTable* table(const std::string& name) const;
  DenseTable* dense_table(const std::string& name) const;
  // Worker clocks from a checkpoint (server 0 after a restore).
  void RestoreClocks(const std::vector<int64_t>& clocks);
  void Shutdown();
  void Wait();  // until Shutdown

  struct Impl;

 private:
  PsGrpcServer(std::unique_ptr<Impl> impl, PsNode* node, std::string address);
  std::unique_ptr<Impl> impl_;
  PsNode* node_;
  std::string address_;
};

}  // namespace parasol
