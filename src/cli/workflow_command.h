// `parasol workflow run|describe|list|rerun|bless`: the control service's workflow client
// (control/workflow/workflow_client.h), and `parasol workflow eval|gate|deploy`, the built-in
// steps a run's jobs execute (control/workflow/workflow_steps.h). Flags and printing only.
// Registered by commands.cc; single-threaded.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace parasol {

struct WorkflowFlags {
  std::string endpoint;           // --endpoint, else $PARASOL_ENDPOINT, else the default
  std::string file;               // run -f
  std::vector<std::string> sets;  // run --set NAME=VALUE
  std::string run;                // describe/rerun/bless RUN
  std::string from, step, reason;
  bool watch = false, json = false;
  // eval, gate, deploy (the steps)
  std::string model, data, out, candidate, rules, baseline, baseline_base, baseline_server,
      model_base, server;
  int wait_seconds = 120;
};

CLI::App* AddWorkflowCommand(CLI::App& app, WorkflowFlags& flags);
int RunWorkflow(const CLI::App& workflow_command, const WorkflowFlags& flags);

}  // namespace parasol
