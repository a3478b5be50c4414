// Where jobs run: the seam between the job supervisor (job_supervisor.h, which owns every job's
// pending → running → outcome, restarts, backoff and deadline) and a place that runs replicas —
// local processes or Kubernetes. A backend only places a job, starts and stops replicas, and
// reports what happened to them as events; it never decides a job's or a replica's state.
// The service calls a backend from one thread at a time (under its lock); implementations need
// not be thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "control/job_record.h"

namespace parasol::control {

// What a backend observed about one replica.
struct ReplicaEvent {
  enum class Type {
    // The replica is running: found alive again after a restart of the service.
    kRunning,
    // Its process ended with `exit_code` (128+N when killed by signal N; nullopt when unknown).
    // The supervisor applies the restart policy.
    kExited,
    // The backend's own controller ran it to success or gave up on it after its own retries (a
    // Kubernetes Job's Complete or Failed condition): final, never restarted by the supervisor.
    kSucceeded,
    kFailed,
  };
  std::string replica;
  Type type = Type::kExited;
  std::optional<int> exit_code;
  std::string reason;  // for people: why (a Job condition's message, "re-attached ...")
};

// What CollectMetrics read: the points, and whether the read positions (or the count of bad
// lines) in the job moved, which the caller must persist even when no point came of it.
struct CollectedMetrics {
  std::vector<MetricPoint> points;
  bool advanced = false;
};

// The replica fields a backend owns and may write: pid, start_ticks, port, gpus (and its metric
// read positions). Everything else in a JobRecord is the supervisor's.
class JobBackend {
 public:
  virtual ~JobBackend() = default;

  // Checks at submission that this backend can ever run `spec` (kinds, resources that fit).
  virtual absl::Status Admit(const JobSpec& spec) = 0;

  // Sets a Pending job up to run: reserves its resources and creates what it needs (directories;
  // Kubernetes objects), and fills job.replicas with the replicas to start (name, role, index,
  // port, gpus; state Pending). Returns false with *waiting saying why when it cannot run yet
  // (resources taken by earlier jobs); an error fails the job, and the backend has undone
  // whatever it had set up.
  virtual absl::StatusOr<bool> Place(JobRecord& job, std::string* waiting) = 0;

  // Starts (or restarts) one replica of a placed job. OK: it runs (the backend has recorded its
  // pid, and may have set replica.reason to say where it runs). An error: it could not start.
  virtual absl::Status StartReplica(const JobRecord& job, ReplicaStatus& replica) = 0;

  // Asks the named running replicas to stop: gracefully, or at once with `force` (the supervisor
  // forces after its grace period). Returns the names of those that have stopped already
  // (nothing left to wait for); the others report kExited when they have.
  virtual std::vector<std::string> StopReplicas(const JobRecord& job,
                                                const std::vector<std::string>& replicas,
                                                bool force) = 0;

  // What happened to the job's running replicas since the last call. May update the fields the
  // backend owns (an ended replica's pid). An error: it could not look (an API server out of
  // reach); the supervisor shows it as the job's reason until a later call looks again (a
  // backend that looks only every so often returns its last look's error in between). Never
  // blocks for long; called every ~100 ms for a job with live replicas.
  virtual absl::StatusOr<std::vector<ReplicaEvent>> Poll(JobRecord& job, double now) = 0;

  // Once a job has ended and none of its replicas runs any more: frees what it held (resources,
  // held ports; for Kubernetes, the objects an unsuccessful job leaves). Called once per job and
  // run of the service.
  virtual void Release(const JobRecord& job) = 0;

  // Once, when the service starts, for each job it had not finished: takes back what the job
  // holds (resources) and reports the replicas whose processes are still alive (kRunning); the
  // others are reported by the next Poll.
  virtual std::vector<ReplicaEvent> Recover(JobRecord& job) = 0;

  // Metric points the job's replicas reported since the last call. Advances the read positions
  // kept in `job` (the caller stores the points first, then persists `job`).
  virtual CollectedMetrics CollectMetrics(JobRecord& job, double now) = 0;

  // Up to `max_bytes` of a replica's log from byte `offset`; NotFound for an unknown replica.
  virtual absl::StatusOr<std::string> ReadLog(const JobRecord& job, const std::string& replica,
                                              uint64_t offset, size_t max_bytes) = 0;

  // Removes what the job left on this backend (logs; objects). Only for a job with no live
  // replica.
  virtual absl::Status Remove(const JobRecord& job) = 0;
};

}  // namespace parasol::control
