// Where jobs run: the seam between the control service (API, store, bookkeeping) and a place
// that runs replicas — local processes today, Kubernetes later. The service calls a backend from
// one thread at a time (under its lock); implementations need not be thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "control/job_record.h"

namespace parasol::control {

class JobBackend {
 public:
  virtual ~JobBackend() = default;

  // Checks at submission that this backend can ever run `spec` (kinds, resources that fit).
  virtual absl::Status Admit(const JobSpec& spec) = 0;

  // Moves `job` forward by what has happened since the last call: starts a Pending job when its
  // resources are free, notices exits, restarts or fails replicas by the restart policy, stops the
  // rest when the job is decided, enforces the deadline. Returns true when `job` changed (the
  // caller persists it). Never blocks for long; called every ~100 ms for each job with work left.
  virtual bool Reconcile(JobRecord& job, double now) = 0;

  // Asks every replica to stop (SIGTERM, then SIGKILL after a grace period) and marks the job
  // Stopped with `reason` unless it is already final. Reconcile finishes the work.
  virtual void RequestStop(JobRecord& job, const std::string& reason, double now) = 0;

  // Once, when the service starts, for each job it had not finished: re-attaches to replicas
  // whose processes are still alive and records what happened to the others.
  virtual void Recover(JobRecord& job, double now) = 0;

  // Metric points the job's replicas reported since the last call. Advances the read positions
  // kept in `job` (the caller stores the points first, then persists `job`).
  virtual std::vector<MetricPoint> CollectMetrics(JobRecord& job, double now) = 0;

  // Up to `max_bytes` of a replica's log from byte `offset`; NotFound for an unknown replica.
  virtual absl::StatusOr<std::string> ReadLog(const JobRecord& job, const std::string& replica,
                                              uint64_t offset, size_t max_bytes) = 0;

  // Removes what the job left on this backend (logs). Only for a job with no live replica.
  virtual absl::Status Remove(const JobRecord& job) = 0;
};

}  // namespace parasol::control
