// TF Serving's own gRPC API (proto/tf_serving.proto: tensorflow.serving.PredictionService's
// Predict, Classify, Regress and GetModelMetadata, and ModelService's GetModelStatus) over the
// same call path (serving_core.h) as Parasol's own gRPC and REST front ends, so unmodified TF
// Serving gRPC clients work. Served on the same port as grpc_service.h.
// Thread-safe, as grpc_service.h.
#pragma once

#include <grpcpp/impl/service_type.h>

#include <memory>
#include <vector>

#include "serve/serving_core.h"

namespace parasol {

// The two TF Serving services, to register on a grpc::ServerBuilder. `core` must outlive them.
std::vector<std::unique_ptr<grpc::Service>> MakeTfServingServices(const ServingCore* core);

}  // namespace parasol
