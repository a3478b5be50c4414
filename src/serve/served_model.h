// What requests read: the immutable snapshot the manager (model_repository.h) publishes — every
// served model with its config, its available versions and the state of the others — and the
// rules that pick a version for a request (number, label, weighted traffic split, newest).
// Immutable once published: any number of threads read a snapshot without a lock; a request
// holds the snapshot (and so the servables) it started with until it ends.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "serve/model_config.h"
#include "serve/servable.h"
#include "serve/serve_metrics.h"

namespace parasol {

// TF Serving's states: START (seen) → LOADING → AVAILABLE (published to requests) → UNLOADING
// (removed from the snapshot; in-flight requests still hold it) → END (the last request let go,
// or the load failed).
enum class VersionState { kStart, kLoading, kAvailable, kUnloading, kEnd };
const char* VersionStateName(VersionState state);

// In-place incremental updates of one loaded version: parameter-server delta checkpoints
// dropped into VERSION/deltas/SEQ/ (see Servable::ApplyDelta).
inline constexpr char kDeltaFolder[] = "deltas";
struct DeltaStatus {
  int64_t applied = 0;         // deltas applied since the version was loaded
  uint64_t rows = 0;           // rows they replaced or added
  int64_t checkpoint_id = -1;  // the checkpoint the version is at now; -1: not a checkpoint
  std::map<int64_t, absl::Status> refused;  // SEQ → why, for refused deltas still on disk
};

struct VersionStatus {
  int64_t version = 0;
  VersionState state = VersionState::kStart;
  absl::Status status;  // why a version is END without having been served
  DeltaStatus deltas;   // AVAILABLE versions only
};

// Which version a request asks for: the default (traffic split or latest), a number, a label.
struct VersionSelector {
  enum class Kind { kDefault, kVersion, kLabel };
  Kind kind = Kind::kDefault;
  int64_t version = 0;
  std::string label;
  std::string ToString() const;  // for messages: "latest", "version 3", "label 'canary'"
};

// One model as published to requests. Immutable.
struct ServedModel {
  ModelConfig config;
  std::map<int64_t, std::shared_ptr<const Servable>> available;
  std::set<int64_t> loading;
  std::map<int64_t, absl::Status> failed;                     // load errors
  std::map<int64_t, std::weak_ptr<const Servable>> unloaded;  // UNLOADING while alive, then END
  std::map<int64_t, DeltaStatus> deltas;                      // of available versions
  std::string problem;  // why no version can be listed (missing base folder), else empty
  std::shared_ptr<RequestMetrics> metrics;

  // Every known version, newest first (states computed now).
  std::vector<VersionStatus> Statuses() const;
  // The statuses a status request asks for: every version (default), one version, or a
  // label's version. NotFound names the unknown version (or says the model has none);
  // InvalidArgument the unknown label.
  absl::StatusOr<std::vector<VersionStatus>> StatusesFor(const VersionSelector& selector) const;
  // The version a request gets. `uniform` in [0, 1) drives the weighted label split.
  // InvalidArgument: no such label. NotFound: the version is not serving — none such, failed to
  // load (with the reason), still loading, unloaded by the policy, or (default) no version is
  // available. These are TF Serving's codes: a label is looked up in the config
  // (ServerCore::GetModelVersionForLabel, INVALID_ARGUMENT), a version among the servables the
  // manager serves (NOT_FOUND "Servable not found for request", whatever the reason).
  absl::StatusOr<std::shared_ptr<const Servable>> Resolve(const VersionSelector& selector,
                                                          double uniform) const;
  // The version `label` names; InvalidArgument when the config has no such label.
  absl::StatusOr<int64_t> LabelVersion(const std::string& label) const;
};

struct RepositorySnapshot {
  std::map<std::string, std::shared_ptr<const ServedModel>, std::less<>> models;
  std::string config_error;  // the last rejected config file change, if any

  // NotFound "no model named 'x'" when it is not served.
  absl::StatusOr<std::shared_ptr<const ServedModel>> Find(const std::string& name) const;
};

}  // namespace parasol
