// The control service's core: accepts job specs, keeps every job's record in the store, and
// runs every job's state machine (job_supervisor.h) over the backend from one supervision
// thread (every 100 ms), persisting a job when its step changed it. The HTTP API and tests call it;
// it knows nothing of HTTP. Thread-safe: all methods may be called from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "control/auth/quota.h"
#include "control/job_backend.h"
#include "control/job_store.h"
#include "control/job_supervisor.h"

namespace parasol::control {

struct LogChunk {
  std::string data;
  uint64_t next_offset = 0;
  bool done = false;  // the replica will write no more (it is not running or waiting to restart)
};

// Who submits a job (control --auth) and the quota its unfinished jobs must fit.
struct Submitter {
  std::string tenant;                // recorded in the job; "" without authentication
  std::optional<auth::Quota> quota;  // none: no limit
};

class JobService {
 public:
  JobService(std::unique_ptr<JobStore> store, std::unique_ptr<JobBackend> backend);
  ~JobService();

  // Loads the stored jobs, lets the backend re-attach to or account for those that were running,
  // and starts supervising. Call once.
  absl::Status Start();
  // Stops supervising. Running replicas are left running (a later Start re-attaches to them).
  void Shutdown();

  // Validates `spec_text` (YAML or JSON; `source` names it in errors) and queues the job. When
  // `default_working_dir` is an absolute path (the CLI sends its own directory), a missing
  // workingDir becomes it and a relative one is resolved against it. InvalidArgument naming the
  // field; AlreadyExists for a taken name; ResourceExhausted when the backend can never run it
  // or when it would take `submitter`'s unfinished jobs over their quota (auth::CheckQuota).
  absl::StatusOr<JobRecord> Submit(const std::string& spec_text, const std::string& source,
                                   const std::string& default_working_dir = "",
                                   const Submitter& submitter = {});
  // What `tenant`'s unfinished jobs reserve, and how many there are.
  auth::Usage UsageOf(const std::string& tenant);
  absl::StatusOr<JobRecord> Get(const std::string& name);
  absl::StatusOr<std::vector<JobRecord>> List();
  // Stops the job's replicas; the job ends Stopped unless it had already ended.
  absl::StatusOr<JobRecord> Stop(const std::string& name);
  // Stops the job and forgets it with its logs once no replica runs. Returns whether it is gone
  // already (false: it will be once its replicas have stopped).
  absl::StatusOr<bool> Delete(const std::string& name);
  absl::StatusOr<LogChunk> Logs(const std::string& name, const std::string& replica,
                                uint64_t offset, size_t max_bytes);

  // The job's metric series as JSON (metrics_log.h's MetricSeriesJson).
  absl::StatusOr<std::string> MetricsJson(const std::string& name);
  // Stores points a replica reports over the API: `body` is
  // {"replica": R, "points": [{"step": 1, "loss": 0.5}, ...]}; InvalidArgument naming the point.
  absl::Status ReportMetrics(const std::string& name, const std::string& body);

  // One supervision step at time `now` (seconds since the epoch). Start() runs it periodically.
  void Tick(double now);

 private:
  void Persist(const JobRecord& job);
  auth::Usage UsageOfLocked(const std::string& tenant);  // REQUIRES: mu_ held

  std::unique_ptr<JobStore> store_;
  std::unique_ptr<JobBackend> backend_;
  JobSupervisor supervisor_;  // guarded by mu_
  std::mutex mu_;
  std::map<std::string, JobRecord> jobs_;  // guarded by mu_; mirrors the store
  std::atomic<bool> stop_{false};
  std::mutex wake_mu_;
  std::condition_variable wake_;
  std::thread ticker_;  // runs Tick every 100 ms
};

double NowSeconds();

}  // namespace parasol::control
