#include "control/lifecycle.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace parasol::control {

bool IsRetryableExitCode(int exit_code) { return exit_code >= 128 && exit_code <= 255; }

ExitAction OnReplicaExit(RestartPolicy policy, int exit_code, int job_restarts, int backoff_limit) {
  if (exit_code == 0) return ExitAction::kSucceed;
  const bool allowed = policy == RestartPolicy::kOnFailure ||
                       (policy == RestartPolicy::kExitCode && IsRetryableExitCode(exit_code));
  return allowed && job_restarts < backoff_limit ? ExitAction::kRestart : ExitAction::kFail;
}

double RestartDelaySeconds(int restarts) {
  return std::min(10.0, 0.2 * std::pow(2.0, std::max(0, restarts - 1)));
}

namespace {
bool IsWorkerRole(const std::string& role) { return role == "worker" || role == "chief"; }
}  // namespace

bool CompletesJob(const JobSpec& spec, const std::string& role) {
  bool has_workers = false;
  for (const auto& r : spec.replicas) has_workers |= IsWorkerRole(r.role);
  return !has_workers || IsWorkerRole(role);
}

std::optional<Outcome> DecideOutcome(const JobRecord& job) {
  // From the replicas, not job.spec: a kind train spec has its roles only once expanded.
  bool has_workers = false;
  for (const auto& r : job.replicas) has_workers |= IsWorkerRole(r.role);
  bool all_done = true;
  for (const auto& r : job.replicas) {
    if (r.state == ReplicaState::kFailed) {
      std::string why = absl::StrCat("replica ", r.name, " failed");
      if (r.exit_code) absl::StrAppend(&why, " (exit ", *r.exit_code, ")");
      if (!r.reason.empty()) absl::StrAppend(&why, ": ", r.reason);
      return Outcome{JobState::kFailed, why};
    }
    if ((!has_workers || IsWorkerRole(r.role)) && r.state != ReplicaState::kSucceeded) {
      all_done = false;
    }
  }
  if (all_done && !job.replicas.empty()) {
    return Outcome{JobState::kSucceeded,
                   has_workers ? "all workers succeeded" : "all replicas succeeded"};
  }
  return std::nullopt;
}

}  // namespace parasol::control
