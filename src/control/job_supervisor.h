// The one state machine of a job's life, whatever runs it: starts a Pending job once the backend
// can place it, applies the replica events the backend reports by lifecycle.h's rules (restart
// with backoff within backoffLimit, or fail), decides the outcome (DecideOutcome), enforces
// activeDeadlineSeconds, and stops the rest when the job has ended (forcing after a grace
// period). Whether a job changed is known from what happened — an event applied, a transition
// made — never by comparing records. Thread-compatible: the job service serializes calls.
#pragma once

#include <set>
#include <string>

#include "control/job_backend.h"
#include "control/job_record.h"

namespace parasol::control {

class JobSupervisor {
 public:
  // `backend` must outlive the supervisor. A replica asked to stop is killed after
  // `stop_grace_seconds`.
  explicit JobSupervisor(JobBackend& backend, double stop_grace_seconds = 5);

  // Moves `job` forward at time `now` (seconds since the epoch): places a Pending job, applies
  // what the backend reports, restarts replicas whose backoff has passed, decides the outcome or
  // the deadline, and stops what is left of an ended job. Returns true when `job` changed (the
  // caller persists it). Called every ~100 ms for each job with work left.
  bool Step(JobRecord& job, double now);

  // Stops every replica; the job ends Stopped with `reason` unless it had already ended.
  void Stop(JobRecord& job, const std::string& reason, double now);

  // Once, when the service starts, for each job it had not finished or that still had live
  // replicas: the backend takes back what the job holds and reports the replicas still alive.
  void Recover(JobRecord& job);

  // Forgets `job` (deleted); a later job of the same name starts afresh.
  void Forget(const std::string& job);

 private:
  bool PlaceAndStart(JobRecord& job, double now);
  void StartReplica(JobRecord& job, ReplicaStatus& replica);
  bool Apply(JobRecord& job, const ReplicaEvent& event, double now);
  void OnExit(JobRecord& job, ReplicaStatus& replica, int code, double now);
  // Ends a job that has not ended: state, reason, and the rest of its replicas stopped.
  void End(JobRecord& job, JobState state, const std::string& reason, double now);
  void StopReplicas(JobRecord& job, double now);
  // Kills replicas still running past their stop deadline; true when it did.
  bool ForceLateStops(JobRecord& job, double now);
  // Lets the backend free an ended job's resources once no replica runs.
  void ReleaseIfDone(const JobRecord& job);

  JobBackend& backend_;
  double stop_grace_seconds_;
  std::set<std::string> released_;  // ended jobs whose backend resources are freed
};

}  // namespace parasol::control
