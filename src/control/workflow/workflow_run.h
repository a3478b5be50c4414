// What the control plane knows about one run of a workflow: the spec it runs (its text, so a
// restarted service parses the same graph), params, and each step's state, attempts (one job
// each), outputs and, for a gate, its verdict and figures. This is what the workflow store keeps
// and the API returns. Plain values; thread-compatible.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace parasol::control {

// Running until no step can run; then Succeeded, Failed (a step failed beyond its retries), or
// Blocked (a gate said NOT_BLESSED, so the steps after it, deploy among them, were not run).
enum class RunState { kRunning, kSucceeded, kFailed, kBlocked };
// Skipped: not run, because a dependency failed, was skipped or is a gate that did not bless,
// or because its `when` was false.
enum class StepState { kPending, kRunning, kSucceeded, kFailed, kSkipped };

const char* RunStateName(RunState state);
const char* StepStateName(StepState state);

struct StepAttempt {
  std::string job;    // the control-plane job that ran it (kept, with its logs)
  std::string state;  // the job's final state, or Running
  std::string reason;
};

struct StepRecord {
  std::string name;
  std::string type;  // job, train, eval, gate, deploy
  StepState state = StepState::kPending;
  std::string reason;
  std::vector<StepAttempt> attempts;  // oldest first; reruns add to them
  int tries = 0;                      // attempts since the step last became Pending
  std::map<std::string, std::string> outputs;
  std::string verdict;               // gates: BLESSED / NOT_BLESSED once run
  nlohmann::json figures = nullptr;  // gates: verdict.json (candidate, baseline, checks)
  double started_at = 0, finished_at = 0;
};

struct WorkflowRun {
  std::string name;      // WORKFLOW-xxxxx
  std::string workflow;  // the spec's name
  std::string spec_text, source;
  std::map<std::string, std::string> params;  // resolved
  std::string working_dir;                    // steps' jobs run here unless they say otherwise
  std::string dir;                            // the run's own folder: STEP/ for each step
  RunState state = RunState::kRunning;
  std::string reason;
  double created_at = 0, finished_at = 0;
  int reruns = 0;
  std::vector<StepRecord> steps;  // in the spec's order

  StepRecord* Find(const std::string& step);
};

nlohmann::json WorkflowRunToJson(const WorkflowRun& run);
// Reads what WorkflowRunToJson wrote; DataLoss naming `source` and the field otherwise.
absl::StatusOr<WorkflowRun> WorkflowRunFromJson(const std::string& json, const std::string& source);

}  // namespace parasol::control
