// What every gRPC front end of the model server does around a call (grpc_service.cc for
// Parasol's schema, tf_grpc_service.cc for TF Serving's): find the model, resolve the version,
// run the handler, record the call in the model's metrics, convert the status in the one place
// (wire/grpc_status.h). Internal to serve/. Thread-safe: one snapshot load per call, no lock.
#pragma once

#include <grpcpp/support/status.h>

#include <chrono>
#include <memory>
#include <random>
#include <string>

#include "serve/model_repository.h"
#include "serve/serve_metrics.h"
#include "wire/grpc_status.h"

namespace parasol {

// Uniform in [0, 1) for the weighted label split; one generator per thread.
inline double SplitUniform() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

// The version a request's ModelSpec asks for (Parasol's and TF Serving's ModelSpec both have a
// version_choice oneof of version / version_label); `version` is the number when it is set.
template <typename Spec>
VersionSelector SelectorOf(const Spec& spec, int64_t version) {
  VersionSelector s;
  if (spec.version_choice_case() == Spec::kVersion) {
    s.kind = VersionSelector::Kind::kVersion;
    s.version = version;
  } else if (spec.version_choice_case() == Spec::kVersionLabel) {
    s.kind = VersionSelector::Kind::kLabel;
    s.label = spec.version_label();
  }
  return s;
}

// Runs fn(model, servable) for `model_name`; servable is the resolved version when
// `needs_servable`, else null. Unknown models are recorded in the repository's unrouted metrics.
template <typename Fn>
grpc::Status ServeGrpcCall(const ModelRepository& repository, ServeApi api,
                           const std::string& model_name, const VersionSelector& selector,
                           bool needs_servable, Fn fn) {
  const auto start = std::chrono::steady_clock::now();
  const auto snapshot = repository.snapshot();
  RequestMetrics* metrics = repository.unrouted_metrics();
  absl::Status status = [&]() -> absl::Status {
    auto model = snapshot->Find(model_name);
    if (!model.ok()) return model.status();
    metrics = (*model)->metrics.get();
    std::shared_ptr<const Servable> servable;
    if (needs_servable) {
      auto resolved = (*model)->Resolve(selector, SplitUniform());
      if (!resolved.ok()) return resolved.status();
      servable = std::move(*resolved);
    }
    return fn(**model, servable);
  }();
  metrics->Record(api, !status.ok(),
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return ToGrpcStatus(status);
}

}  // namespace parasol
