// The manager of the model server (TF Serving's AspiredVersionsManager): asks a version source
// (version_source.h) what should be served, has a loader (servable_loader.h) load new versions
// on a small thread pool, unloads the ones no longer wanted, applies deltas in place, and
// publishes an immutable RepositorySnapshot (served_model.h) after every change.
//
// Lifecycle of a version: START → LOADING (on a pool thread; a large model never holds up the
// others) → AVAILABLE (published) → UNLOADING (removed from the snapshot; in-flight requests still
// hold it) → END. A version that fails to load is END with the reason and is retried only when
// the source's fingerprint of it changes, so a broken or half-written version never replaces a
// good one; while a newer version loads, the older ones keep serving.
//
// Threading: the poll thread (or a test) and the pool threads change the manager's state under
// one mutex that requests never take; requests read the current snapshot with one atomic load
// and hold shared_ptrs, never a lock.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
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
#include "serve/servable_loader.h"
#include "serve/serve_metrics.h"
#include "serve/served_model.h"
#include "serve/version_source.h"

namespace parasol {

struct RepositoryOptions {
  std::string config_path;  // --model-config; otherwise one model:
  std::string model_base;   // --model-base
  std::string model_name;   // --model-name (default: the base folder's name)
  double poll_seconds = 1;
  int load_threads = 2;      // versions loaded (or deltas applied) at once
  ServableOptions servable;  // how versions are loaded (--quantize)
};

class ModelRepository {
 public:
  // Serves what a FileSystemSource over `options` lists, loaded from disk.
  explicit ModelRepository(RepositoryOptions options);
  // Serves what `source` reports, loaded by `loader` (options' file-system fields are unused).
  ModelRepository(std::unique_ptr<VersionSource> source, std::unique_ptr<ServableLoader> loader,
                  RepositoryOptions options);
  ~ModelRepository();  // stops polling, lets running loads finish; servables live on while
                       // requests hold them

  // One pass: takes the source's view (for the file system: re-reads the config file when its
  // text changed — a bad change is rejected, kept in snapshot()->config_error and the previous
  // config stays — and lists each model's versions), schedules loads and delta applies, unloads
  // what the version policy no longer wants, and publishes a snapshot. Returns without waiting
  // for the loads; each publishes when it ends. Errors only for a source that never had a
  // valid view. REQUIRES: not called concurrently with itself.
  absl::Status Poll();
  // Blocks until no load or delta apply is running or scheduled.
  void WaitUntilIdle();
  // Poll, then WaitUntilIdle: on return every version the pass decided to load is AVAILABLE or
  // has failed.
  absl::Status PollOnce();

  // Blocks until `ready` holds for the current snapshot or `timeout` passes; returns whether it
  // holds. Re-checked at every publish (TF Serving's ServableStateMonitor).
  bool WaitFor(const std::function<bool(const RepositorySnapshot&)>& ready,
               std::chrono::milliseconds timeout) const;

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
  struct Loaded {
    std::shared_ptr<Servable> servable;  // deltas mutate it in place
    DeltaState deltas;
    bool applying = false;  // a delta task runs on the pool; it owns `deltas` meanwhile
  };
  struct ModelState {
    uint64_t id = 0;  // a new id when the model starts afresh: older tasks' results are dropped
    AspiredModel aspired;
    std::map<int64_t, Loaded> loaded;
    std::set<int64_t> loading;
    std::map<int64_t, Failure> failed;
    std::map<int64_t, std::weak_ptr<const Servable>> unloaded;
    std::shared_ptr<RequestMetrics> metrics = std::make_shared<RequestMetrics>();
  };

  // All REQUIRE mu_.
  void ApplyModels(std::vector<AspiredModel> models);
  void Forget(ModelState* state);
  void Reconcile(ModelState* state);
  void ScheduleLoad(ModelState* state, const AspiredVersion& version);
  void ScheduleDeltas(ModelState* state);
  ModelState* Current(const std::string& name, uint64_t id);
  void TaskDone();
  void Publish();

  // Applies the complete deltas of `offered` not yet applied and not refused as they are now,
  // in SEQ order; forgets refusals of deltas no longer offered. Touches no manager state.
  static void ApplyDeltas(const std::string& model, Servable* servable,
                          const std::vector<AspiredDelta>& offered, DeltaState* deltas);
  static bool HasDeltaWork(const Servable& servable, const std::vector<AspiredDelta>& offered,
                           const DeltaState& deltas);

  const RepositoryOptions options_;
  const std::unique_ptr<VersionSource> source_;
  const std::unique_ptr<ServableLoader> loader_;

  mutable std::mutex mu_;                       // the manager's state; never taken by requests
  mutable std::condition_variable changed_cv_;  // a publish, or a task ended
  std::map<std::string, ModelState> models_;
  std::string config_error_;
  uint64_t next_id_ = 1;
  int in_flight_ = 0;  // scheduled or running tasks
  bool shutting_down_ = false;
  bool stop_ = false;  // the poll thread's

  std::atomic<std::shared_ptr<const RepositorySnapshot>> snapshot_;
  mutable RequestMetrics unrouted_;
  std::thread poller_;
  LoadPool pool_;  // last: destroyed first, finishing its tasks while the state above lives
};

}  // namespace parasol
