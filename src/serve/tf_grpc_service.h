// TF Serving's own gRPC API (proto/tf_serving.proto: tensorflow.serving.PredictionService's
// Predict, Classify, Regress and GetModelMetadata, and ModelService's GetModelStatus) over the
// same repository, servables, batcher and metrics as Parasol's own gRPC and REST front ends, so
// unmodified TF Serving gRPC clients work. Served on the same port as grpc_service.h.
// Thread-safe, as grpc_service.h.
#pragma once

#include <grpcpp/impl/service_type.h>

#include <memory>
#include <vector>

#include "serve/batcher.h"
#include "serve/model_repository.h"

namespace parasol {

// The two TF Serving services, to register on a grpc::ServerBuilder. `repository` (and
// `batcher`, when not null) must outlive them.
std::vector<std::unique_ptr<grpc::Service>> MakeTfServingServices(const ModelRepository* repository,
                                                                  Batcher* batcher);

}  // namespace parasol
