// Runs workflows on the control plane: each step's attempt is an ordinary job submitted to the
// JobService (so the one JobSupervisor and the backend run it, with its restarts, deadline and
// logs), named RUN-STEP[-ATTEMPT]. Every 200 ms the engine starts the steps whose dependencies
// succeeded, reads the outcome of the running ones (outputs, a gate's verdict), retries failed
// ones, and saves each run it changed. Job names are fixed before a job is submitted, so after
// a restart of the service a step finds its job again (a submit that answers AlreadyExists
// adopts it) and nothing is lost or run twice. Thread-safe: all methods may be called from any
// thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "control/job_service.h"
#include "control/workflow/workflow_run.h"
#include "control/workflow/workflow_spec.h"
#include "control/workflow/workflow_store.h"

namespace parasol::control {

struct WorkflowEngineOptions {
  std::string state_dir;       // runs' folders: STATE/workflows/RUN/STEP/
  std::string parasol_binary;  // what built-in steps run ({{parasol}})
};

class WorkflowEngine {
 public:
  WorkflowEngine(JobService& jobs, std::unique_ptr<WorkflowStore> store,
                 WorkflowEngineOptions options);
  ~WorkflowEngine();

  // Loads the stored runs and starts ticking. Call once, after the JobService has started.
  absl::Status Start();
  void Shutdown();

  // Validates the spec (InvalidArgument naming file:line: field) and the `--set` values, and
  // starts a run. `default_working_dir` as for JobService::Submit.
  absl::StatusOr<WorkflowRun> Run(const std::string& spec_text, const std::string& source,
                                  const std::map<std::string, std::string>& sets,
                                  const std::string& default_working_dir);
  absl::StatusOr<WorkflowRun> Get(const std::string& name);
  absl::StatusOr<std::vector<WorkflowRun>> List();
  // Runs a finished run again from `step`: that step, the steps after it and every step that
  // did not succeed start again (new attempts, earlier ones kept); the others keep their outputs.
  // FailedPrecondition while it runs; NotFound for an unknown run or step.
  absl::StatusOr<WorkflowRun> Rerun(const std::string& name, const std::string& step);
  // An operator's blessing of a gate that said NOT_BLESSED, with the reason recorded in its
  // figures; the steps it held back run.
  absl::StatusOr<WorkflowRun> Bless(const std::string& name, const std::string& step,
                                    const std::string& reason);

  // One step of every running run at `now` (seconds since the epoch); Start() runs it.
  void Tick(double now);

 private:
  struct Active {
    WorkflowRun run;
    WorkflowSpec spec;
  };
  // Advances one run; true when it changed.
  bool Advance(Active& a, double now);
  bool StartAttempt(Active& a, const StepSpec& spec, StepRecord& step, double now);
  bool Poll(Active& a, const StepSpec& spec, StepRecord& step, double now);
  void Save(const WorkflowRun& run);

  JobService& jobs_;
  std::unique_ptr<WorkflowStore> store_;
  const WorkflowEngineOptions options_;
  std::mutex mu_;
  std::map<std::string, Active> runs_;  // guarded by mu_
  std::atomic<bool> stop_{false};
  std::mutex wake_mu_;
  std::condition_variable wake_;
  std::thread ticker_;
};

}  // namespace parasol::control
