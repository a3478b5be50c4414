// The rules of a job's life, as pure functions of its record: what a replica's exit means under
// the restart policy, when the job as a whole has succeeded or failed, and how long to wait
// before a restart. The job supervisor (job_supervisor.h) applies them for every backend; tests
// check them without processes. Thread-safe.
#pragma once

#include <optional>
#include <string>

#include "control/job_record.h"

namespace parasol::control {

enum class ExitAction { kSucceed, kRestart, kFail };

// Exit codes the ExitCode policy retries: 128-255 (killed by a signal, or chose to be retried).
// 1-127 are permanent failures.
bool IsRetryableExitCode(int exit_code);

// What a replica's exit with `exit_code` leads to, given the restarts the job has used so far.
// Code 0 always succeeds; a failure is retried while job_restarts < backoff_limit and the
// policy allows it (Never: no; OnFailure: any code; ExitCode: 128-255 only).
ExitAction OnReplicaExit(RestartPolicy policy, int exit_code, int job_restarts, int backoff_limit);

// Seconds to wait before the n-th restart (n >= 1) of a replica: 0.2 s doubling, at most 10 s.
double RestartDelaySeconds(int restarts);

// The roles whose success completes the job: "worker" (and "chief") when the job has them, so
// parameter servers that never exit do not hold it open; otherwise every role.
bool CompletesJob(const JobSpec& spec, const std::string& role);

struct Outcome {
  JobState state;
  std::string reason;
};
// The job's final state once its replicas decide it: Failed as soon as a replica has Failed,
// Succeeded when every replica of a completing role has Succeeded; nullopt while undecided.
std::optional<Outcome> DecideOutcome(const JobRecord& job);

}  // namespace parasol::control
