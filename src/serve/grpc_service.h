// The gRPC front end of the model server (proto/serving.proto: Predict, GetModelStatus,
// GetModelMetadata, Lookup): translates messages to and from the call path every front end
// shares (serving_core.h), with errors converted in wire/grpc_status.h. Requests are bounded in
// size and checked; a bad one gets an error status, never a crash. Thread-safe; gRPC runs handlers
// on its own thread pool and each reads the repository's current snapshot without a lock.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "serve/batcher.h"
#include "serve/model_repository.h"

namespace parasol {

class ServeGrpcServer {
 public:
  // Listens on `address` (HOST:PORT; port 0 picks a free one). `repository` (and `batcher`,
  // when given) must outlive the server. Messages over `max_message_bytes` are refused by gRPC
  // (RESOURCE_EXHAUSTED). With a batcher, Predict rows are scored in dynamic batches.
  static absl::StatusOr<std::unique_ptr<ServeGrpcServer>> Start(const std::string& address,
                                                                const ModelRepository* repository,
                                                                int max_message_bytes,
                                                                Batcher* batcher = nullptr);
  ~ServeGrpcServer();  // Shutdown()

  const std::string& address() const { return address_; }  // HOST:PORT actually bound
  void Shutdown();

  struct Impl;

 private:
  ServeGrpcServer(std::unique_ptr<Impl> impl, std::string address);
  std::unique_ptr<Impl> impl_;
  std::string address_;
};

}  // namespace parasol
