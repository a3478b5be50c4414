// The model repository: which versions of which models are loaded, kept in step with the file
// system (BASE/NAME/VERSION/ model directories) and the model config file by polling.
//
// Lifecycle of a version (TF Serving's states): START (seen on disk) → LOADING (Servable::Load,
// which warms it up) → AVAILABLE (published to requests) → UNLOADING (removed from the
// snapshot; in-flight requests still hold it) → END (the last request let go). A version that
// fails to load is END with the reason as its status and is retried only when its files change,
// so a broken or half-written version never replaces a good one.
//
// Threading: one writer (PollOnce, from the poll thread or a test) builds a new immutable
// RepositorySnapshot and swaps it in atomically; readers (request threads) take the current
// snapshot with one atomic load and hold shared_ptrs, never a lock.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "serve/model_config.h"
#include "serve/servable.h"
#include "serve/serve_metrics.h"

namespace parasol {

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
  // label's version. NotFound names the unknown version or label.
  absl::StatusOr<std::vector<VersionStatus>> StatusesFor(const VersionSelector& selector) const;
  // The version a request gets. `uniform` in [0, 1) drives the weighted label split.
  // NotFound: no such version or label (or it failed to load, with the reason);
  // Unavailable: it exists but is not (yet) serving, or nothing is available.
  absl::StatusOr<std::shared_ptr<const Servable>> Resolve(const VersionSelector& selector,
                                                          double uniform) const;
};

struct RepositorySnapshot {
  std::map<std::string, std::shared_ptr<const ServedModel>, std::less<>> models;
  std::string config_error;  // the last rejected config file change, if any

  // NotFound "no model named 'x'" when it is not served.
  absl::StatusOr<std::shared_ptr<const ServedModel>> Find(const std::string& name) const;
};

struct RepositoryOptions {
  std::string config_path;  // --model-config; otherwise one model:
  std::string model_base;   // --model-base
  std::string model_name;   // --model-name (default: the base folder's name)
  double poll_seconds = 1;
};

class ModelRepository {
 public:
  explicit ModelRepository(RepositoryOptions options);
  ~ModelRepository();  // stops polling; servables live on while requests hold them

  // One pass: re-reads the config file when its text changed (a bad change is rejected, kept in
  // snapshot()->config_error and the previous config stays), lists each model's versions and
  // loads/unloads them per the version policy, then publishes a snapshot. Errors only for a
  // config that has never been valid. REQUIRES: not called concurrently with itself.
  absl::Status PollOnce();

  // Polls every poll_seconds on a background thread until Stop() or destruction.
  void Start();
  void Stop();

  std::shared_ptr<const RepositorySnapshot> snapshot() const { return snapshot_.load(); }

  // Metrics of requests that named no served model, shared by every front end.
  RequestMetrics* unrouted_metrics() const { return &unrouted_; }

 private:
  struct Failure {
    std::string fingerprint;
    absl::Status status;
  };
  struct DeltaState {
    DeltaStatus status;
    std::set<int64_t> applied;          // SEQs
    std::map<int64_t, Failure> failed;  // retried when the folder or the version's checkpoint
                                        // changes (fingerprint covers both)
  };
  struct ModelState {
    ModelConfig config;
    std::map<int64_t, std::shared_ptr<Servable>> loaded;  // ApplyDeltas mutates them in place
    std::map<int64_t, DeltaState> deltas;                 // of loaded versions
    std::map<int64_t, Failure> failed;
    std::map<int64_t, std::weak_ptr<const Servable>> unloaded;
    std::string problem;
    std::shared_ptr<RequestMetrics> metrics = std::make_shared<RequestMetrics>();
  };

  absl::Status ReloadConfig();
  void ApplyConfig(const RepositoryConfig& config);
  void SyncVersions(ModelState* state);
  // Applies the deltas in the version's deltas/ folder that are complete (manifest.json
  // present), not yet applied and not refused as they are now, in SEQ order.
  static void ApplyDeltas(const std::string& model, Servable* servable, DeltaState* deltas);
  void Publish(const std::string& loading_model = "", int64_t loading_version = -1);

  const RepositoryOptions options_;
  // Writer state: touched only by PollOnce.
  std::map<std::string, ModelState> models_;
  bool have_config_ = false;
  std::string config_text_;
  std::string config_error_;

  std::atomic<std::shared_ptr<const RepositorySnapshot>> snapshot_;
  mutable RequestMetrics unrouted_;

  std::mutex mu_;  // guards stop_ (poll thread only; never taken by requests)
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread poller_;
};

}  // namespace parasol
