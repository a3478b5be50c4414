#include "control/workflow/workflow_engine.h"

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace parasol::control {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string ReadText(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string RandomSuffix() {
  static std::mt19937_64 rng(std::random_device{}());
  static const char kChars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string out;
  for (int i = 0; i < 5; ++i) out += kChars[rng() % 36];
  return out;
}

// Gates that did not bless (and no operator blessed by hand) hold back what follows them.
bool Holds(const StepRecord& s) {
  return s.type == "gate" && s.state == StepState::kSucceeded && s.verdict != "BLESSED";
}

}  // namespace

WorkflowEngine::WorkflowEngine(JobService& jobs, std::unique_ptr<WorkflowStore> store,
                               WorkflowEngineOptions options)
    : jobs_(jobs), store_(std::move(store)), options_(std::move(options)) {}

WorkflowEngine::~WorkflowEngine() { Shutdown(); }

absl::Status WorkflowEngine::Start() {
  auto stored = store_->List();
  if (!stored.ok()) return stored.status();
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& run : *stored) {
      auto spec = ParseWorkflowSpec(run.spec_text, run.source);
      if (!spec.ok()) {
        log::Error("parasol control: workflow run {}: its spec no longer parses: {}", run.name,
                   std::string(spec.status().message()));
        continue;
      }
      const std::string name = run.name;
      runs_[name] = Active{std::move(run), *std::move(spec)};
    }
  }
  ticker_ = std::thread([this] {
    while (!stop_) {
      Tick(NowSeconds());
      std::unique_lock<std::mutex> lock(wake_mu_);
      wake_.wait_for(lock, std::chrono::milliseconds(200), [this] { return stop_.load(); });
    }
  });
  return absl::OkStatus();
}

void WorkflowEngine::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(wake_mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (ticker_.joinable()) ticker_.join();
}

void WorkflowEngine::Save(const WorkflowRun& run) {
  if (auto st = store_->Put(run); !st.ok()) {
    log::Error("parasol control: cannot save workflow run {}: {}", run.name,
               std::string(st.message()));
  }
}

absl::StatusOr<WorkflowRun> WorkflowEngine::Run(const std::string& spec_text,
                                                const std::string& source,
                                                const std::map<std::string, std::string>& sets,
                                                const std::string& default_working_dir) {
  auto spec = ParseWorkflowSpec(spec_text, source);
  if (!spec.ok()) return spec.status();
  auto params = ResolveParams(*spec, sets);
  if (!params.ok()) return params.status();
  Active a{WorkflowRun{}, *spec};
  WorkflowRun& run = a.run;
  run.workflow = spec->name;
  run.spec_text = spec_text;
  run.source = source;
  run.params = *std::move(params);
  run.created_at = NowSeconds();
  run.working_dir = spec->working_dir;
  if (!default_working_dir.empty() && default_working_dir.front() == '/' &&
      (run.working_dir.empty() || run.working_dir.front() != '/')) {
    run.working_dir =
        run.working_dir.empty() ? default_working_dir : default_working_dir + "/" + run.working_dir;
  }
  for (const auto& s : spec->steps) {
    StepRecord step;
    step.name = s.name;
    step.type = StepTypeName(s.type);
    step.reason = "waiting for its dependencies";
    run.steps.push_back(step);
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    do {
      run.name = spec->name + "-" + RandomSuffix();
    } while (runs_.count(run.name) > 0);
    run.dir = options_.state_dir + "/workflows/" + run.name;
    // Without a directory from the submitter, the run's own folder is where relative paths go.
    if (run.working_dir.empty() || run.working_dir.front() != '/') {
      run.working_dir = run.working_dir.empty() ? run.dir : run.dir + "/" + run.working_dir;
    }
    std::error_code ec;
    fs::create_directories(run.dir, ec);
    if (ec) return absl::UnavailableError("cannot create " + run.dir + ": " + ec.message());
    if (auto st = store_->Put(run); !st.ok()) return st;
    runs_[run.name] = a;
  }
  wake_.notify_all();
  return run;
}

absl::StatusOr<WorkflowRun> WorkflowEngine::Get(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = runs_.find(name);
  if (it == runs_.end()) return absl::NotFoundError("no workflow run named '" + name + "'");
  return it->second.run;
}

absl::StatusOr<std::vector<WorkflowRun>> WorkflowEngine::List() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<WorkflowRun> out;
  for (const auto& [name, a] : runs_) out.push_back(a.run);
  std::sort(out.begin(), out.end(),
            [](const WorkflowRun& x, const WorkflowRun& y) { return x.created_at < y.created_at; });
  return out;
}

absl::StatusOr<WorkflowRun> WorkflowEngine::Rerun(const std::string& name,
                                                  const std::string& from) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = runs_.find(name);
  if (it == runs_.end()) return absl::NotFoundError("no workflow run named '" + name + "'");
  Active& a = it->second;
  if (a.spec.Find(from) == nullptr) {
    return absl::NotFoundError("run '" + name + "' has no step '" + from + "'");
  }
  if (a.run.state == RunState::kRunning) {
    return absl::FailedPreconditionError("run '" + name +
                                         "' is still running; rerun it once it has ended");
  }
  const std::vector<std::string> again = StepAndDependents(a.spec, from);
  for (auto& step : a.run.steps) {
    const bool listed = std::find(again.begin(), again.end(), step.name) != again.end();
    if (!listed && step.state == StepState::kSucceeded) continue;
    step.state = StepState::kPending;
    step.reason = "rerun from " + from;
    step.outputs.clear();
    step.verdict.clear();
    step.figures = nullptr;
    step.started_at = step.finished_at = 0;
    step.tries = 0;
  }
  a.run.state = RunState::kRunning;
  a.run.reason = "rerun from " + from;
  a.run.finished_at = 0;
  ++a.run.reruns;
  Save(a.run);
  wake_.notify_all();
  return a.run;
}

absl::StatusOr<WorkflowRun> WorkflowEngine::Bless(const std::string& name,
                                                  const std::string& step_name,
                                                  const std::string& reason) {
  if (reason.empty()) {
    return absl::InvalidArgumentError("reason: required: say why the candidate is blessed");
  }
  std::lock_guard<std::mutex> lock(mu_);
  auto it = runs_.find(name);
  if (it == runs_.end()) return absl::NotFoundError("no workflow run named '" + name + "'");
  Active& a = it->second;
  StepRecord* gate = a.run.Find(step_name);
  if (gate == nullptr || gate->type != "gate") {
    return absl::NotFoundError("run '" + name + "' has no gate step '" + step_name + "'");
  }
  if (!Holds(*gate)) {
    return absl::FailedPreconditionError("gate '" + step_name + "' of run '" + name +
                                         "' has no NOT_BLESSED verdict to overrule (state " +
                                         StepStateName(gate->state) + ")");
  }
  gate->verdict = "BLESSED";
  if (!gate->figures.is_object()) gate->figures = json::object();
  gate->figures["manual"] = {{"reason", reason}, {"at", NowSeconds()}};
  gate->outputs["verdict"] = "BLESSED";
  gate->reason = "blessed by hand: " + reason;
  for (const auto& after : StepAndDependents(a.spec, step_name)) {
    StepRecord* s = a.run.Find(after);
    if (s != gate && s->state == StepState::kSkipped) {
      s->state = StepState::kPending;
      s->reason = "gate blessed by hand";
    }
  }
  a.run.state = RunState::kRunning;
  a.run.reason = "gate " + step_name + " blessed by hand";
  a.run.finished_at = 0;
  Save(a.run);
  wake_.notify_all();
  return a.run;
}

void WorkflowEngine::Tick(double now) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [name, a] : runs_) {
    if (a.run.state != RunState::kRunning) continue;
    if (Advance(a, now)) Save(a.run);
  }
}

bool WorkflowEngine::Advance(Active& a, double now) {
  WorkflowRun& run = a.run;
  bool changed = false;
  // Until nothing moves: a step that ends may let the next one start in the same tick.
  for (bool moved = true; moved;) {
    moved = false;
    for (StepRecord& step : run.steps) {
      const StepSpec& spec = *a.spec.Find(step.name);
      if (step.state == StepState::kRunning) {
        moved |= Poll(a, spec, step, now);
        continue;
      }
      if (step.state != StepState::kPending) continue;
      std::string blocked;
      bool ready = true;
      for (const auto& dep_name : spec.depends_on) {
        const StepRecord& dep = *run.Find(dep_name);
        if (dep.state == StepState::kFailed || dep.state == StepState::kSkipped) {
          blocked = "dependency '" + dep_name + "' " + StepStateName(dep.state);
        } else if (Holds(dep)) {
          blocked = "gate '" + dep_name + "' said " + dep.verdict;
        } else if (dep.state != StepState::kSucceeded) {
          ready = false;
        }
      }
      if (!blocked.empty()) {
        step.state = StepState::kSkipped;
        step.reason = blocked;
        step.finished_at = now;
        moved = true;
        continue;
      }
      if (!ready) continue;
      moved |= StartAttempt(a, spec, step, now);
    }
    changed |= moved;
  }
  bool active = false, failed = false, held = false;
  for (const StepRecord& s : run.steps) {
    active |= s.state == StepState::kPending || s.state == StepState::kRunning;
    failed |= s.state == StepState::kFailed;
    held |= Holds(s);
  }
  if (active) return changed;
  run.finished_at = now;
  if (failed) {
    run.state = RunState::kFailed;
    for (const StepRecord& s : run.steps) {
      if (s.state == StepState::kFailed) {
        run.reason = "step " + s.name + " failed: " + s.reason;
        break;
      }
    }
  } else if (held) {
    run.state = RunState::kBlocked;
    run.reason = "a gate said NOT_BLESSED; the steps after it were not run";
  } else {
    run.state = RunState::kSucceeded;
    run.reason = "every step succeeded or was skipped by its condition";
  }
  return true;
}

bool WorkflowEngine::StartAttempt(Active& a, const StepSpec& spec, StepRecord& step, double now) {
  WorkflowRun& run = a.run;
  const std::string step_dir = run.dir + "/" + step.name;
  std::map<std::string, std::string> values = {{"parasol", options_.parasol_binary},
                                               {"run.name", run.name},
                                               {"run.dir", run.dir},
                                               {"step.dir", step_dir}};
  for (const auto& [k, v] : run.params) values["params." + k] = v;
  for (const StepRecord& s : run.steps) {
    for (const auto& [k, v] : s.outputs) values["steps." + s.name + ".outputs." + k] = v;
  }
  for (const auto& o : BuiltInOutputs(spec.type)) {
    if (!o.path.empty()) values["outputs." + o.name] = step_dir + "/" + o.path;
  }
  for (const auto& o : spec.outputs) {
    if (values.count("outputs." + o) == 0) values["outputs." + o] = step_dir + "/" + o;
  }
  auto fail = [&](const std::string& why) {
    step.state = StepState::kFailed;
    step.reason = why;
    step.finished_at = now;
    return true;
  };
  if (!spec.when.empty()) {
    auto when = Substitute(spec.when, values);
    auto go = when.ok() ? EvaluateWhen(*when) : absl::StatusOr<bool>(when.status());
    if (!go.ok()) return fail(std::string(go.status().message()));
    if (!*go) {
      step.state = StepState::kSkipped;
      step.reason = "when '" + *when + "' is false";
      step.finished_at = now;
      return true;
    }
  }
  auto job = SubstituteJson(spec.job, values);
  if (!job.ok()) return fail(std::string(job.status().message()));
  const size_t attempt = step.attempts.size() + 1;
  const std::string job_name =
      run.name + "-" + step.name + (attempt > 1 ? absl::StrCat("-", attempt) : "");
  (*job)["name"] = job_name;
  std::error_code ec;
  fs::create_directories(step_dir, ec);
  fs::remove(step_dir + "/outputs.json", ec);
  auto submitted =
      jobs_.Submit(job->dump(), "workflow run " + run.name + " step " + step.name, run.working_dir);
  // AlreadyExists: submitted before a restart of the service that lost the run's last save.
  if (!submitted.ok() && !absl::IsAlreadyExists(submitted.status())) {
    step.attempts.push_back({job_name, "Failed", std::string(submitted.status().message())});
    return fail("cannot submit job " + job_name + ": " + std::string(submitted.status().message()));
  }
  step.attempts.push_back({job_name, "Running", ""});
  ++step.tries;
  step.state = StepState::kRunning;
  step.reason = "job " + job_name;
  if (step.started_at == 0) step.started_at = now;
  return true;
}

bool WorkflowEngine::Poll(Active& a, const StepSpec& spec, StepRecord& step, double now) {
  StepAttempt& attempt = step.attempts.back();
  auto job = jobs_.Get(attempt.job);
  std::string failure;
  if (!job.ok()) {
    failure = "job " + attempt.job + " is gone: " + std::string(job.status().message());
  } else if (!IsFinal(job->state)) {
    return false;
  } else if (job->state != JobState::kSucceeded) {
    failure = "job " + attempt.job + " " + JobStateName(job->state) + ": " + job->reason;
  }
  attempt.state = job.ok() ? JobStateName(job->state) : "Lost";
  attempt.reason = job.ok() ? job->reason : failure;
  const std::string step_dir = a.run.dir + "/" + step.name;
  if (failure.empty()) {
    for (const auto& o : BuiltInOutputs(spec.type)) {
      if (!o.path.empty()) step.outputs[o.name] = step_dir + "/" + o.path;
    }
    for (const auto& o : spec.outputs) step.outputs[o] = step_dir + "/" + o;
    // Values the step wrote ({"verdict": "BLESSED", "auc": 0.84}), kept as text.
    const std::string text = ReadText(step_dir + "/outputs.json");
    const json values = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (values.is_object()) {
      for (const auto& [k, v] : values.items()) {
        if (std::find(spec.outputs.begin(), spec.outputs.end(), k) == spec.outputs.end()) continue;
        step.outputs[k] = v.is_string() ? v.get<std::string>() : v.dump();
      }
    }
    if (spec.type == StepType::kGate) {
      const json report =
          json::parse(ReadText(step_dir + "/verdict.json"), nullptr, /*allow_exceptions=*/false);
      if (!report.is_object() || !report.contains("verdict") || !report["verdict"].is_string()) {
        failure = "the gate wrote no verdict to " + step_dir + "/verdict.json";
      } else {
        step.verdict = report["verdict"].get<std::string>();
        step.figures = report;
        step.outputs["verdict"] = step.verdict;
      }
    }
  }
  if (failure.empty()) {
    step.state = StepState::kSucceeded;
    step.reason = spec.type == StepType::kGate ? step.verdict : "job " + attempt.job + " succeeded";
    step.finished_at = now;
    return true;
  }
  if (step.tries <= spec.retries) {  // `retries` more attempts after the first
    log::Info("parasol control: run {} step {}: retry {} of {} after: {}", a.run.name, step.name,
              step.tries, spec.retries, failure);
    StartAttempt(a, spec, step, now);
    return true;
  }
  step.state = StepState::kFailed;
  step.reason = failure;
  step.finished_at = now;
  return true;
}

}  // namespace parasol::control
