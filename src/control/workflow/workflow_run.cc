#include "control/workflow/workflow_run.h"

#include "common/config_reader.h"

namespace parasol::control {
namespace {

template <typename Enum, size_t N>
Enum FromName(const config::Node& node, const char* const (&names)[N]) {
  const std::string name = node.As<std::string>();
  for (size_t i = 0; i < N; ++i) {
    if (name == names[i]) return static_cast<Enum>(i);
  }
  node.Fail("unknown state '" + name + "'");
}

constexpr const char* kRunStates[] = {"Running", "Succeeded", "Failed", "Blocked"};
constexpr const char* kStepStates[] = {"Pending", "Running", "Succeeded", "Failed", "Skipped"};

std::map<std::string, std::string> ReadStrings(const config::Node& node) {
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : node.Entries()) out[key] = value.As<std::string>();
  return out;
}

}  // namespace

const char* RunStateName(RunState state) { return kRunStates[static_cast<int>(state)]; }
const char* StepStateName(StepState state) { return kStepStates[static_cast<int>(state)]; }

StepRecord* WorkflowRun::Find(const std::string& step) {
  for (auto& s : steps) {
    if (s.name == step) return &s;
  }
  return nullptr;
}

nlohmann::json WorkflowRunToJson(const WorkflowRun& run) {
  nlohmann::json steps = nlohmann::json::array();
  for (const auto& s : run.steps) {
    nlohmann::json attempts = nlohmann::json::array();
    for (const auto& a : s.attempts) {
      attempts.push_back({{"job", a.job}, {"state", a.state}, {"reason", a.reason}});
    }
    nlohmann::json step = {{"name", s.name},
                           {"type", s.type},
                           {"state", StepStateName(s.state)},
                           {"reason", s.reason},
                           {"job", s.attempts.empty() ? "" : s.attempts.back().job},
                           {"attempts", attempts},
                           {"tries", s.tries},
                           {"outputs", s.outputs},
                           {"startedAt", s.started_at},
                           {"finishedAt", s.finished_at}};
    if (s.type == "gate") {
      step["verdict"] = s.verdict.empty() ? nlohmann::json(nullptr) : nlohmann::json(s.verdict);
      step["figures"] = s.figures;
    }
    steps.push_back(step);
  }
  return {{"name", run.name},     {"workflow", run.workflow},    {"state", RunStateName(run.state)},
          {"reason", run.reason}, {"createdAt", run.created_at}, {"finishedAt", run.finished_at},
          {"reruns", run.reruns}, {"params", run.params},        {"workingDir", run.working_dir},
          {"dir", run.dir},       {"source", run.source},        {"specText", run.spec_text},
          {"steps", steps}};
}

absl::StatusOr<WorkflowRun> WorkflowRunFromJson(const std::string& json,
                                                const std::string& source) {
  const nlohmann::json j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return absl::DataLossError(source + ": not JSON");
  WorkflowRun run;
  auto st = config::ReadJson(j, source, [&](const config::Node& root) {
    const config::Map m = root.AsMap();
    run.name = m.Get<std::string>("name");
    run.workflow = m.Get<std::string>("workflow");
    run.state = FromName<RunState>(m.Get("state"), kRunStates);
    run.reason = m.Get<std::string>("reason");
    run.created_at = m.Get<double>("createdAt");
    run.finished_at = m.Get<double>("finishedAt");
    run.reruns = m.Get<int>("reruns");
    run.params = ReadStrings(m.Get("params"));
    run.working_dir = m.Get<std::string>("workingDir");
    run.dir = m.Get<std::string>("dir");
    run.source = m.Get<std::string>("source");
    run.spec_text = m.Get<std::string>("specText");
    for (const config::Node& item : m.Get("steps").Items()) {
      const config::Map s = item.AsMap();
      StepRecord step;
      step.name = s.Get<std::string>("name");
      step.type = s.Get<std::string>("type");
      step.state = FromName<StepState>(s.Get("state"), kStepStates);
      step.reason = s.Get<std::string>("reason");
      s.Allow({"job", "figures"});
      for (const config::Node& a : s.Get("attempts").Items()) {
        const config::Map am = a.AsMap();
        step.attempts.push_back({am.Get<std::string>("job"), am.Get<std::string>("state"),
                                 am.Get<std::string>("reason")});
      }
      step.outputs = ReadStrings(s.Get("outputs"));
      step.tries = s.Get<int>("tries");
      step.started_at = s.Get<double>("startedAt");
      step.finished_at = s.Get<double>("finishedAt");
      if (auto verdict = s.Find("verdict")) step.verdict = verdict->As<std::string>();
      run.steps.push_back(std::move(step));
    }
  });
  if (!st.ok()) return absl::DataLossError(st.message());
  // The figures are the gate's own report, kept as written.
  for (size_t i = 0; i < run.steps.size(); ++i) {
    const nlohmann::json& step = j["steps"][i];
    if (step.contains("figures")) run.steps[i].figures = step["figures"];
  }
  return run;
}

}  // namespace parasol::control
