#include "serve/serving_core.h"

#include <exception>
#include <random>
#include <string>

#include "absl/strings/str_cat.h"

namespace parasol {
namespace {

// Uniform in [0, 1) for the weighted label split; one generator per thread.
double SplitUniform() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

double SecondsSince(ServingCore::Clock::time_point start) {
  return std::chrono::duration<double>(ServingCore::Clock::now() - start).count();
}

}  // namespace

absl::Status CheckSignatureName(ServeApi api, const std::string& name) {
  if (name.empty() || name == kServingSignature) return absl::OkStatus();
  const std::string message = absl::StrCat("model_spec.signature_name: no signature '", name,
                                           "' (this model has '", kServingSignature, "')");
  // TF Serving: predict_util.cc answers FAILED_PRECONDITION, classifier.cc and regressor.cc
  // INVALID_ARGUMENT.
  if (api == ServeApi::kPredict) return absl::FailedPreconditionError(message);
  return absl::InvalidArgumentError(message);
}

ServingCore::ServingCore(const ModelRepository* repository, Batcher* batcher)
    : repository_(*repository), batcher_(batcher) {}

absl::Status ServingCore::Call(ServeApi api, const std::string& model_name,
                               const VersionSelector& selector, bool needs_servable,
                               Handler handler, Clock::time_point start) const {
  const auto snapshot = repository_.snapshot();
  RequestMetrics* metrics = repository_.unrouted_metrics();
  absl::Status status;
  try {
    status = [&]() -> absl::Status {
      if (needs_servable && model_name.empty()) {
        return absl::InvalidArgumentError("model_spec.name: empty; name the model to call");
      }
      auto model = snapshot->Find(model_name);
      if (!model.ok() && needs_servable && selector.kind == VersionSelector::Kind::kLabel) {
        return absl::InvalidArgumentError(
            absl::StrCat(model.status().message(), ", so no label '", selector.label, "'"));
      }
      if (!model.ok()) return model.status();
      metrics = (*model)->metrics.get();
      ServablePtr servable;
      if (needs_servable) {
        auto resolved = (*model)->Resolve(selector, SplitUniform());
        if (!resolved.ok()) return resolved.status();
        servable = std::move(*resolved);
      }
      return handler(**model, servable);
    }();
  } catch (const std::exception& e) {  // a bug, not the client's fault: answer, don't die
    status = absl::InternalError(absl::StrCat("internal error: ", e.what()));
  }
  metrics->Record(api, !status.ok(), SecondsSince(start));
  return status;
}

absl::StatusOr<std::vector<float>> ServingCore::Predict(const ServablePtr& servable,
                                                        absl::Span<const RawInstance> rows) const {
  return PredictRows(servable, rows, batcher_);
}

void ServingCore::RecordUnrouted(ServeApi api, bool error, Clock::time_point start) const {
  repository_.unrouted_metrics()->Record(api, error, SecondsSince(start));
}

}  // namespace parasol
