#include "cli/workflow_command.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "cli/exit_codes.h"
#include "cli/job_command.h"
#include "control/workflow/workflow_client.h"
#include "control/workflow/workflow_steps.h"

namespace parasol {
namespace {

int FailStatus(const absl::Status& st) {
  return Fail(absl::IsInvalidArgument(st) ? kExitUsage : kExitRuntime, st);
}

std::string StepLine(const control::StepView& s) {
  std::string line = s.name + " (" + s.type + "): " + s.state;
  if (!s.verdict.empty()) line += " " + s.verdict;
  if (!s.reason.empty() && s.reason != s.verdict) line += " (" + s.reason + ")";
  return line;
}

void PrintRun(const control::RunView& run) {
  std::printf("Run:       %s\nWorkflow:  %s\nState:     %s%s\nSteps:\n", run.name.c_str(),
              run.workflow.c_str(), run.state.c_str(),
              run.reason.empty() ? "" : (" (" + run.reason + ")").c_str());
  for (const auto& s : run.steps) {
    std::printf("  %s%s\n", StepLine(s).c_str(),
                s.job.empty() ? "" : ("  [job " + s.job + "]").c_str());
  }
  // The gate's figures: what the verdict rests on. Parts of an unexpected shape are left out.
  auto figure = [](const nlohmann::json& c, const char* key) {
    return c.contains(key) ? c[key].dump() : std::string("-");
  };
  for (const auto& step : run.json["steps"]) {
    if (!step.is_object() || !step.contains("figures") || !step["figures"].is_object()) continue;
    const auto& f = step["figures"];
    const auto& verdict = f.contains("verdict") ? f["verdict"] : nlohmann::json();
    std::printf("Gate %s: %s (baseline %s)\n",
                step["name"].get<std::string>().c_str(),  // checked by ReadRun
                verdict.is_string() ? verdict.get<std::string>().c_str() : "-",
                figure(f, "baselineModel").c_str());
    if (f.contains("checks") && f["checks"].is_array()) {
      for (const auto& c : f["checks"]) {
        if (!c.is_object()) continue;
        std::string label;
        for (const char* key : {"metric", "rule"}) {
          if (c.contains(key) && c[key].is_string()) label += c[key].get<std::string>() + " ";
        }
        std::printf("  %-24s candidate %-10s baseline %-10s value %-12s %s\n", label.c_str(),
                    figure(c, "candidate").c_str(), figure(c, "baseline").c_str(),
                    figure(c, "value").c_str(),
                    c.contains("passed") && c["passed"] == true ? "pass" : "FAIL");
      }
    }
    if (f.contains("manual") && f["manual"].is_object()) {
      std::printf("  blessed by hand: %s\n", figure(f["manual"], "reason").c_str());
    }
  }
}

bool Final(const std::string& state) { return state != "Running"; }

// Polls until the run ends; with `watch`, prints each step's changes. Exit 0 only for Succeeded.
int Wait(control::WorkflowClient& client, const std::string& name, bool watch) {
  std::map<std::string, std::string> seen;
  while (true) {
    auto run = client.Get(name);
    if (!run.ok()) return FailStatus(run.status());
    if (watch) {
      for (const auto& s : run->steps) {
        const std::string line = StepLine(s);
        if (seen[s.name] != line) {
          std::printf("step %s\n", line.c_str());
          std::fflush(stdout);
          seen[s.name] = line;
        }
      }
    }
    if (Final(run->state)) {
      std::printf("run %s: %s (%s)\n", run->name.c_str(), run->state.c_str(), run->reason.c_str());
      return run->state == "Succeeded" ? kExitOk : kExitRuntime;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
}

int RunStepCommand(const CLI::App& cmd, const WorkflowFlags& f) {
  if (cmd.got_subcommand("eval")) {
    auto st = control::RunEvalStep(f.model, f.data, f.out);
    if (!st.ok()) return Fail(kExitRuntime, st);
    std::printf("metrics written to %s/metrics.json\n", f.out.c_str());
    return kExitOk;
  }
  if (cmd.got_subcommand("gate")) {
    control::GateStepOptions o{f.candidate,       f.data, f.rules, f.baseline, f.baseline_base,
                               f.baseline_server, f.out};
    auto blessed = control::RunGateStep(o);
    if (!blessed.ok()) return Fail(kExitRuntime, blessed.status());
    std::printf("%s (figures in %s/verdict.json)\n", *blessed ? "BLESSED" : "NOT_BLESSED",
                f.out.c_str());
    return kExitOk;
  }
  auto version = control::RunDeployStep(f.model, f.model_base, f.server, f.out, f.wait_seconds);
  if (!version.ok()) return Fail(kExitRuntime, version.status());
  std::printf("deployed %s as version %lld of %s\n", f.model.c_str(),
              static_cast<long long>(*version), f.model_base.c_str());
  return kExitOk;
}

}  // namespace

CLI::App* AddWorkflowCommand(CLI::App& app, WorkflowFlags& f) {
  auto* wf = app.add_subcommand(
      "workflow",
      "Run workflows (DAGs of train, eval, gate, deploy and job steps) on the control "
      "service");
  wf->require_subcommand(1);
  auto* run = wf->add_subcommand(
      "run",
      "Start a run of a kind: workflow spec; prints 'run RUN' first, waits for the end, "
      "exits 0 when it succeeded, 1 otherwise");
  run->add_option("-f,--file", f.file, "The workflow spec (YAML or JSON)")->required();
  run->add_option("--set", f.sets, "NAME=VALUE for a param of the spec (repeatable)");
  run->add_flag("--watch", f.watch, "Print each step's state as it changes");
  auto* describe = wf->add_subcommand("describe", "Show a run: its state, steps, gate figures");
  describe->add_option("run", f.run, "Run name")->required();
  describe->add_flag("--json", f.json, "Print the run as JSON");
  auto* list = wf->add_subcommand("list", "List the runs");
  list->add_flag("--json", f.json, "Print JSON");
  auto* rerun = wf->add_subcommand(
      "rerun",
      "Run an ended run again from a step (that step, the ones after it, and any that "
      "did not succeed); waits like run");
  rerun->add_option("run", f.run, "Run name")->required();
  rerun->add_option("--from", f.from, "The step to start from")->required();
  rerun->add_flag("--watch", f.watch, "Print each step's state as it changes");
  auto* bless = wf->add_subcommand(
      "bless", "Overrule a gate's NOT_BLESSED verdict by hand (the reason is recorded)");
  bless->add_option("run", f.run, "Run name")->required();
  bless->add_option("--step", f.step, "The gate step")->required();
  bless->add_option("--reason", f.reason, "Why the candidate is blessed")->required();
  for (CLI::App* client : {run, describe, list, rerun, bless}) {
    client->add_option(
        "--endpoint", f.endpoint,
        "Control service URL (default $PARASOL_ENDPOINT, else http://127.0.0.1:7900)");
  }

  auto* eval = wf->add_subcommand("eval", "Step: score a model; writes OUT/metrics.json");
  eval->add_option("--model", f.model, "Model folder")->required();
  eval->add_option("--data", f.data, "Labelled data file")->required();
  eval->add_option("--out", f.out, "The step's folder")->required();
  auto* gate = wf->add_subcommand(
      "gate",
      "Step: score candidate and baseline on the same data and judge them; writes "
      "OUT/verdict.json (exit 0 for either verdict)");
  gate->add_option("--candidate", f.candidate, "Candidate model folder")->required();
  gate->add_option("--data", f.data, "Validation data file")->required();
  gate->add_option("--rules", f.rules, "JSON {METRIC: {min, max, change: \">= -0.001\"}}")
      ->required();
  gate->add_option("--baseline", f.baseline, "Baseline model folder");
  gate->add_option("--baseline-base", f.baseline_base,
                   "Baseline model base (BASE/VERSION/): its newest version, or the one served");
  gate->add_option("--baseline-server", f.baseline_server,
                   "REST address of the parasol serve serving --baseline-base");
  gate->add_option("--out", f.out, "The step's folder")->required();
  auto* deploy = wf->add_subcommand(
      "deploy", "Step: write a model as the next version of a model base (atomically)");
  deploy->add_option("--model", f.model, "Model folder")->required();
  deploy->add_option("--model-base", f.model_base, "Model base BASE/VERSION/")->required();
  deploy->add_option("--server", f.server, "Wait until this parasol serve serves the version");
  deploy->add_option("--wait-seconds", f.wait_seconds, "How long to wait for it (default 120)");
  deploy->add_option("--out", f.out, "The step's folder")->required();
  return wf;
}

int RunWorkflow(const CLI::App& cmd, const WorkflowFlags& f) {
  for (const char* step : {"eval", "gate", "deploy"}) {
    if (cmd.got_subcommand(step)) return RunStepCommand(cmd, f);
  }
  // The endpoint and credentials as every control command finds them (job_command.h): signed
  // when the service runs with --auth.
  auto connected = ConnectControl(f.endpoint);
  if (!connected.ok()) return Fail(kExitUsage, connected.status());
  auto client = std::make_unique<control::WorkflowClient>(*std::move(connected));
  if (cmd.got_subcommand("run")) {
    std::map<std::string, std::string> sets;
    for (const auto& s : f.sets) {
      const size_t eq = s.find('=');
      if (eq == std::string::npos || eq == 0) {
        return Fail(kExitUsage, "--set " + s + ": expected NAME=VALUE");
      }
      sets[s.substr(0, eq)] = s.substr(eq + 1);
    }
    std::ifstream in(f.file, std::ios::binary);
    if (!in) return Fail(kExitUsage, "cannot read " + f.file);
    std::stringstream text;
    text << in.rdbuf();
    std::error_code ec;
    const std::string cwd = std::filesystem::current_path(ec).string();
    auto run = client->Run(text.str(), f.file, sets, cwd);
    if (!run.ok()) return FailStatus(run.status());
    std::printf("run %s\n", run->name.c_str());
    std::fflush(stdout);
    return Wait(*client, run->name, f.watch);
  }
  if (cmd.got_subcommand("describe")) {
    auto run = client->Get(f.run);
    if (!run.ok()) return FailStatus(run.status());
    if (f.json) {
      std::printf("%s\n", run->json.dump(2).c_str());
    } else {
      PrintRun(*run);
    }
    return kExitOk;
  }
  if (cmd.got_subcommand("list")) {
    auto runs = client->List();
    if (!runs.ok()) return FailStatus(runs.status());
    if (f.json) {
      nlohmann::json out = {{"runs", nlohmann::json::array()}};
      for (const auto& r : *runs) out["runs"].push_back(r.json);
      std::printf("%s\n", out.dump(2).c_str());
      return kExitOk;
    }
    for (const auto& r : *runs) {
      std::printf("%-32s %-10s %s\n", r.name.c_str(), r.state.c_str(), r.reason.c_str());
    }
    return kExitOk;
  }
  if (cmd.got_subcommand("rerun")) {
    auto run = client->Rerun(f.run, f.from);
    if (!run.ok()) return FailStatus(run.status());
    std::printf("run %s\n", run->name.c_str());
    std::fflush(stdout);
    return Wait(*client, run->name, f.watch);
  }
  auto run = client->Bless(f.run, f.step, f.reason);
  if (!run.ok()) return FailStatus(run.status());
  std::printf("run %s: gate %s blessed by hand\n", run->name.c_str(), f.step.c_str());
  return kExitOk;
}

}  // namespace parasol
