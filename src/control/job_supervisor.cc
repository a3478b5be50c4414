#include "control/job_supervisor.h"

#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "control/lifecycle.h"

namespace parasol::control {

JobSupervisor::JobSupervisor(JobBackend& backend, double stop_grace_seconds)
    : backend_(backend), stop_grace_seconds_(stop_grace_seconds) {}

bool JobSupervisor::Step(JobRecord& job, double now) {
  bool changed = false;
  if (job.state == JobState::kPending) changed |= PlaceAndStart(job, now);
  if (job.state == JobState::kPending) return changed;
  auto events = backend_.Poll(job, now);
  if (!events.ok()) {
    // The backend could not look (an API server out of reach): say so while it lasts.
    if (job.state == JobState::kRunning && job.reason != events.status().message()) {
      job.reason = std::string(events.status().message());
      changed = true;
    }
  } else {
    if (job.state == JobState::kRunning && !job.reason.empty()) {
      job.reason.clear();  // a running job has no reason but a failed look, now over
      changed = true;
    }
    for (const ReplicaEvent& event : *events) changed |= Apply(job, event, now);
  }
  if (job.state == JobState::kRunning) {
    if (std::optional<Outcome> outcome = DecideOutcome(job)) {
      End(job, outcome->state, outcome->reason, now);
      changed = true;
    } else if (job.spec.active_deadline_seconds > 0 &&
               now - job.started_at > job.spec.active_deadline_seconds) {
      End(job, JobState::kFailed,
          absl::StrCat("DeadlineExceeded: ran longer than activeDeadlineSeconds ",
                       job.spec.active_deadline_seconds),
          now);
      changed = true;
    } else {
      for (auto& r : job.replicas) {
        if (r.state == ReplicaState::kPending && now >= r.next_start) {
          StartReplica(job, r);
          changed = true;
        }
      }
    }
  }
  changed |= ForceLateStops(job, now);
  ReleaseIfDone(job);
  return changed;
}

bool JobSupervisor::PlaceAndStart(JobRecord& job, double now) {
  std::string waiting;
  absl::StatusOr<bool> placed = backend_.Place(job, &waiting);
  if (!placed.ok()) {
    End(job, JobState::kFailed, std::string(placed.status().message()), now);
    return true;
  }
  if (!*placed) {
    if (job.reason == waiting) return false;
    job.reason = waiting;
    return true;
  }
  job.state = JobState::kRunning;
  job.started_at = now;
  job.reason = "";
  for (auto& r : job.replicas) StartReplica(job, r);
  return true;
}

void JobSupervisor::StartReplica(JobRecord& job, ReplicaStatus& replica) {
  replica.reason = "";
  if (absl::Status st = backend_.StartReplica(job, replica); !st.ok()) {
    // The job fails through DecideOutcome, naming the replica.
    replica.state = ReplicaState::kFailed;
    replica.reason = std::string(st.message());
    return;
  }
  replica.state = ReplicaState::kRunning;
  replica.exit_code.reset();
  replica.stopping = false;
}

bool JobSupervisor::Apply(JobRecord& job, const ReplicaEvent& event, double now) {
  ReplicaStatus* r = job.FindReplica(event.replica);
  if (r == nullptr) return false;
  switch (event.type) {
    case ReplicaEvent::Type::kRunning:
      if (r->state == ReplicaState::kRunning && r->reason == event.reason) return false;
      r->state = ReplicaState::kRunning;
      r->reason = event.reason;
      return true;
    case ReplicaEvent::Type::kExited:
      if (r->state != ReplicaState::kRunning) return false;
      OnExit(job, *r, event.exit_code.value_or(-1), now);
      return true;
    case ReplicaEvent::Type::kSucceeded:
    case ReplicaEvent::Type::kFailed: {
      const ReplicaState state = event.type == ReplicaEvent::Type::kSucceeded
                                     ? ReplicaState::kSucceeded
                                     : ReplicaState::kFailed;
      if (r->state == state || r->state == ReplicaState::kStopped) return false;
      r->state = state;
      r->reason = event.reason;
      if (event.exit_code) r->exit_code = event.exit_code;
      r->stopping = false;
      return true;
    }
  }
  return false;
}

void JobSupervisor::OnExit(JobRecord& job, ReplicaStatus& replica, int code, double now) {
  if (code >= 0) {
    replica.exit_code = code;
  } else {
    replica.exit_code.reset();
  }
  if (replica.stopping) {
    replica.state = ReplicaState::kStopped;
    replica.stopping = false;
    replica.reason = "stopped when the job ended";
    return;
  }
  switch (OnReplicaExit(job.spec.restart_policy, code, job.restarts, job.spec.backoff_limit)) {
    case ExitAction::kSucceed:
      replica.state = ReplicaState::kSucceeded;
      replica.reason = "";
      break;
    case ExitAction::kRestart:
      ++job.restarts;
      ++replica.restarts;
      replica.state = ReplicaState::kPending;
      replica.next_start = now + RestartDelaySeconds(replica.restarts);
      replica.reason = absl::StrFormat(
          "restarting after exit %s (job restart %d of backoffLimit %d)",
          code >= 0 ? absl::StrCat(code) : "unknown", job.restarts, job.spec.backoff_limit);
      break;
    case ExitAction::kFail:
      replica.state = ReplicaState::kFailed;
      if (code < 0) {
        replica.reason = "process ended while the control service was down; exit status unknown";
      } else if (job.spec.restart_policy == RestartPolicy::kNever) {
        replica.reason = "restartPolicy Never";
      } else if (job.restarts >= job.spec.backoff_limit) {
        replica.reason = absl::StrCat("backoffLimit ", job.spec.backoff_limit, " reached");
      } else {
        replica.reason = "exit code not retryable under restartPolicy ExitCode (128-255 are)";
      }
      break;
  }
}

void JobSupervisor::End(JobRecord& job, JobState state, const std::string& reason, double now) {
  job.state = state;
  job.reason = reason;
  job.finished_at = now;
  StopReplicas(job, now);
}

void JobSupervisor::StopReplicas(JobRecord& job, double now) {
  std::vector<std::string> to_stop;
  for (auto& r : job.replicas) {
    if (r.state == ReplicaState::kPending) {
      r.state = ReplicaState::kStopped;
      r.reason = "not restarted: the job ended";
    } else if (r.state == ReplicaState::kRunning && !r.stopping) {
      r.stopping = true;
      r.reason = "stopping";
      r.stop_deadline = now + stop_grace_seconds_;
      to_stop.push_back(r.name);
    }
  }
  if (to_stop.empty()) return;
  for (const std::string& name : backend_.StopReplicas(job, to_stop, /*force=*/false)) {
    ReplicaStatus* r = job.FindReplica(name);
    if (r == nullptr || r->state != ReplicaState::kRunning) continue;
    r->state = ReplicaState::kStopped;
    r->stopping = false;
    r->reason = "stopped when the job ended";
  }
}

bool JobSupervisor::ForceLateStops(JobRecord& job, double now) {
  std::vector<std::string> late;
  for (auto& r : job.replicas) {
    if (r.state == ReplicaState::kRunning && r.stopping && now >= r.stop_deadline) {
      late.push_back(r.name);
      r.stop_deadline = now + 3600;  // once
    }
  }
  if (late.empty()) return false;
  backend_.StopReplicas(job, late, /*force=*/true);  // their exits come as events
  return true;
}

void JobSupervisor::ReleaseIfDone(const JobRecord& job) {
  if (!IsFinal(job.state) || job.HasLiveReplicas()) return;
  if (released_.insert(job.name()).second) backend_.Release(job);
}

void JobSupervisor::Stop(JobRecord& job, const std::string& reason, double now) {
  if (!IsFinal(job.state)) {
    End(job, JobState::kStopped, reason, now);
  } else {
    StopReplicas(job, now);
  }
  ReleaseIfDone(job);
}

void JobSupervisor::Recover(JobRecord& job) {
  released_.erase(job.name());
  for (const ReplicaEvent& event : backend_.Recover(job)) Apply(job, event, 0);
}

void JobSupervisor::Forget(const std::string& job) { released_.erase(job); }

}  // namespace parasol::control
