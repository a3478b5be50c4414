// The one call path every front end of the model server shares (REST in rest_api.cc, Parasol's
// gRPC in grpc_service.cc, TF Serving's gRPC in tf_grpc_service.cc): find the model, resolve the
// version or label (weighted split for bare names), run the front end's handler, record the call
// in the model's metrics. Front ends only translate wire formats; the status they get back is
// converted to a wire code in wire/ (the one place). Thread-safe: one snapshot load per call, no
// lock; a handler that throws is answered as Internal, never crashes the server.
//
// The error codes are TF Serving's (its ServerCore, manager and servables), so a client written
// for TF Serving branches the same way on either server; README.md lists them.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "serve/batcher.h"
#include "serve/model_repository.h"
#include "serve/serve_metrics.h"

namespace parasol {

// The one signature every Parasol model has.
inline constexpr char kServingSignature[] = "serving_default";

// A request's signature name: empty (the default) or kServingSignature. Otherwise
// FailedPrecondition for predict and InvalidArgument for classify/regress (TF Serving's codes).
absl::Status CheckSignatureName(ServeApi api, const std::string& name);

class ServingCore {
 public:
  using Clock = std::chrono::steady_clock;
  using ServablePtr = std::shared_ptr<const Servable>;
  using Handler = absl::FunctionRef<absl::Status(const ServedModel&, const ServablePtr&)>;

  // `repository` (and `batcher`, when not null) must outlive this object.
  ServingCore(const ModelRepository* repository, Batcher* batcher);

  // Finds `model_name` in the current snapshot, resolves `selector` when `needs_servable` (else
  // the servable is null), runs `handler` and records the call as `api` in the model's metrics
  // (the repository's unrouted metrics when the model is unknown) with the time since `start`.
  // Returns, before the handler runs: InvalidArgument for an empty name or an unknown label
  // when resolving (also when the model is unknown: a label is looked up first, as TF Serving
  // does); NotFound for an unknown model, or a version that is not serving
  // (ServedModel::Resolve). Else the handler's status.
  absl::Status Call(ServeApi api, const std::string& model_name, const VersionSelector& selector,
                    bool needs_servable, Handler handler,
                    Clock::time_point start = Clock::now()) const;

  // Probabilities of `rows` with `servable`, through the dynamic batcher when there is one.
  absl::StatusOr<std::vector<float>> Predict(const ServablePtr& servable,
                                             absl::Span<const RawInstance> rows) const;

  // Records a request that reached no model (a bad path, /metrics, health) as `api`.
  void RecordUnrouted(ServeApi api, bool error, Clock::time_point start) const;

  std::shared_ptr<const RepositorySnapshot> snapshot() const { return repository_.snapshot(); }
  const ModelRepository& repository() const { return repository_; }
  const Batcher* batcher() const { return batcher_; }

 private:
  const ModelRepository& repository_;
  Batcher* const batcher_;
};

}  // namespace parasol
