#include "control/workflow/workflow_spec.h"

#include <algorithm>
#include <functional>
#include <regex>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/config_reader.h"
#include "common/status_macros.h"
#include "control/job_spec.h"
#include "control/workflow/gate.h"

namespace parasol::control {
namespace {

using config::Map;
using config::Node;
using ordered_json = nlohmann::ordered_json;

const std::regex& ReferencePattern() {
  static const std::regex kRef(R"(\{\{\s*([A-Za-z0-9_.\-]+)\s*\}\})");
  return kRef;
}

std::string DnsLabel(const Node& node, size_t max, const char* what) {
  static const std::regex kName("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
  const std::string name = node.As<std::string>();
  if (!std::regex_match(name, kName) || name.size() > max) {
    node.Fail(absl::StrCat("expected a ", what,
                           ": lowercase letters, digits and '-', starting and ending with a letter "
                           "or digit, at most ",
                           max, " characters"));
  }
  return name;
}

// A string of a step that may hold references, kept with its node for the checks that need the
// whole graph.
struct Reference {
  Node node;
  std::string text;
};

struct StepReader {
  StepSpec step;
  std::vector<Reference> refs;
  Node at;
};

std::string Required(const Map& m, const char* key, const char* what, StepReader& r) {
  const Node node = m.Require(key, what);
  std::string value = node.As<std::string>();
  if (value.empty()) node.Fail(std::string("expected ") + what);
  r.refs.push_back({node, value});
  return value;
}

std::string Optional(const Map& m, const char* key, StepReader& r) {
  std::string value;
  if (auto node = m.Find(key)) {
    value = node->As<std::string>();
    r.refs.push_back({*node, value});
  }
  return value;
}

// The job of a built-in step other than train: one replica running `parasol workflow TYPE`.
ordered_json ParasolStepJob(const std::string& verb, const std::vector<std::string>& args) {
  std::vector<std::string> command = {"{{parasol}}", "workflow", verb};
  command.insert(command.end(), args.begin(), args.end());
  command.insert(command.end(), {"--out", "{{step.dir}}"});
  ordered_json j;
  j["kind"] = "custom";
  j["replicas"]["step"] = {{"count", 1}, {"command", command}};
  return j;
}

void AddFlag(std::vector<std::string>& args, const char* flag, const std::string& value) {
  if (!value.empty()) args.insert(args.end(), {flag, value});
}

ordered_json ReadBuiltIn(StepType type, const Node& node, StepReader& r) {
  if (type == StepType::kTrain) {
    ordered_json flags = ordered_json::object();
    for (const auto& [flag, value] : node.Entries()) {
      if (flag == "out") {
        value.Fail(
            "set by the workflow: the model is written to the step's folder, "
            "{{steps." +
            r.step.name + ".outputs.model}} for later steps");
      }
      if (!value.IsScalar()) value.Fail("expected a flag value");
      flags[flag] = value.ScalarText();
      r.refs.push_back({value, value.ScalarText()});
    }
    flags["out"] = "{{outputs.model}}";
    ordered_json j;
    j["kind"] = "train";
    j["train"] = {{"servers", 0}, {"workers", 1}, {"args", flags}};
    return j;
  }
  const Map m = node.AsMap();  // the train step's keys are flags, read with Entries()
  std::vector<std::string> args;
  switch (type) {
    case StepType::kEval:
      AddFlag(args, "--model", Required(m, "model", "the model folder", r));
      AddFlag(args, "--data", Required(m, "data", "the labelled data file", r));
      return ParasolStepJob("eval", args);
    case StepType::kGate: {
      AddFlag(args, "--candidate", Required(m, "candidate", "the candidate model folder", r));
      AddFlag(args, "--data", Required(m, "data", "the validation data file", r));
      if (auto baseline = m.Find("baseline")) {
        const Map b = baseline->AsMap();
        const std::string model = Optional(b, "model", r);
        const std::string base = Optional(b, "modelBase", r);
        const std::string server = Optional(b, "server", r);
        b.RefuseUnknownKeys();
        if (!model.empty() && (!base.empty() || !server.empty())) {
          b.Fail("model", "either model (a folder) or modelBase (+ server), not both");
        }
        if (!server.empty() && base.empty()) {
          b.Fail("server", "needs modelBase: the served model's base folder");
        }
        AddFlag(args, "--baseline", model);
        AddFlag(args, "--baseline-base", base);
        AddFlag(args, "--baseline-server", server);
      }
      const std::vector<MetricRule> rules =
          ReadGateRules(m.Require("metrics", "METRIC: {min, max, change}"));
      args.insert(args.end(), {"--rules", GateRulesToJson(rules).dump()});
      return ParasolStepJob("gate", args);
    }
    case StepType::kDeploy:
      AddFlag(args, "--model", Required(m, "model", "the model folder to deploy", r));
      AddFlag(args, "--model-base", Required(m, "modelBase", "the served model's base folder", r));
      AddFlag(args, "--server", Optional(m, "server", r));
      return ParasolStepJob("deploy", args);
    case StepType::kTrain:
    case StepType::kJob:
      break;
  }
  return {};
}

// Every string of a JSON value.
void Strings(const ordered_json& j, std::vector<std::string>& out) {
  if (j.is_string()) out.push_back(j.get<std::string>());
  if (j.is_structured()) {
    for (const auto& item : j) Strings(item, out);
  }
}

StepReader ReadStep(const Node& node) {
  StepReader r{{}, {}, node};
  StepSpec& s = r.step;
  const Map m = node.AsMap();
  s.name = DnsLabel(m.Get("name"), 20, "step name");
  if (auto deps = m.Find("dependsOn")) {
    if (!deps->IsSequence()) deps->Fail("expected a list of step names");
    for (const Node& d : deps->Items()) s.depends_on.push_back(d.As<std::string>());
  }
  if (auto retries = m.Find("retries")) {
    s.retries = retries->As<int>();
    if (s.retries < 0 || s.retries > 100) retries->Fail("expected a whole number from 0 to 100");
  }
  if (auto timeout = m.Find("timeoutSeconds")) {
    s.timeout_seconds = timeout->As<int64_t>();
    if (s.timeout_seconds < 1) timeout->Fail("expected a positive number of seconds");
  }
  if (auto when = m.Find("when")) {
    s.when = when->As<std::string>();
    static const std::regex kWhen(R"(\s*(true|false|[^=!]*[^=!\s]\s*(==|!=)\s*[^=!]*)\s*)");
    if (!std::regex_match(s.when, kWhen)) {
      when->Fail("expected \"A == B\", \"A != B\", true or false (with {{...}} references)");
    }
    r.refs.push_back({*when, s.when});
  }
  static const std::vector<std::pair<std::string, StepType>> kTypes = {
      {"job", StepType::kJob},
      {"train", StepType::kTrain},
      {"eval", StepType::kEval},
      {"gate", StepType::kGate},
      {"deploy", StepType::kDeploy}};
  std::vector<std::pair<Node, StepType>> given;
  for (const auto& [key, type] : kTypes) {
    if (auto body = m.Find(key)) given.push_back({*body, type});
  }
  const std::optional<Node> outputs = m.Find("outputs");
  m.RefuseUnknownKeys();
  if (given.size() != 1) {
    node.Fail("expected exactly one of job (an inline job spec), train, eval, gate, deploy");
  }
  const auto& [body, type] = given[0];
  s.type = type;
  if (type == StepType::kJob) {
    const JobSpec job = ReadJobSpec(body, "step");
    s.job = ordered_json::parse(JobSpecToJson(job));
    s.job.erase("name");
    std::vector<std::string> strings;
    Strings(s.job, strings);
    for (auto& text : strings) r.refs.push_back({body, std::move(text)});
    if (outputs) {
      static const std::regex kOutput("[a-z][a-z0-9_]{0,30}");
      if (!outputs->IsSequence()) outputs->Fail("expected a list of output names");
      for (const Node& o : outputs->Items()) {
        const std::string name = o.As<std::string>();
        if (!std::regex_match(name, kOutput)) {
          o.Fail("expected lowercase letters, digits and '_', starting with a letter");
        }
        s.outputs.push_back(name);
      }
    }
  } else {
    if (outputs) outputs->Fail("a built-in step's outputs are fixed (see the workflow README)");
    s.job = ReadBuiltIn(type, body, r);
    for (const auto& o : BuiltInOutputs(type)) s.outputs.push_back(o.name);
    // What the job itself checks (flag names of train), with the references still unfilled.
    ordered_json named = s.job;
    named["name"] = "step";
    const auto parsed = ParseJobSpec(named.dump(), "its job");
    if (!parsed.ok()) body.Fail(parsed.status().message());
  }
  if (s.timeout_seconds > 0) s.job["activeDeadlineSeconds"] = s.timeout_seconds;
  s.job["env"]["PARASOL_STEP_DIR"] = "{{step.dir}}";
  s.job["env"]["PARASOL_RUN"] = "{{run.name}}";
  return r;
}

// Fails at `ref.node` unless every {{...}} of its text names something `step` may use.
void CheckReferences(const Reference& ref, const StepSpec& step, const WorkflowSpec& spec,
                     const std::set<std::string>& ancestors) {
  const std::string& text = ref.text;
  size_t open = 0;
  while ((open = text.find("{{", open)) != std::string::npos) {
    std::smatch m;
    const std::string rest = text.substr(open);
    if (!std::regex_search(rest, m, ReferencePattern(), std::regex_constants::match_continuous)) {
      ref.node.Fail("malformed reference at '" + rest.substr(0, 40) +
                    "': expected {{params.NAME}}, {{steps.STEP.outputs.NAME}}, ...");
    }
    const std::string key = m[1].str();
    const std::vector<std::string> parts = absl::StrSplit(key, '.');
    auto fail = [&](const std::string& why) { ref.node.Fail("{{" + key + "}}: " + why); };
    if (key == "parasol" || key == "run.name" || key == "run.dir" || key == "step.dir") {
    } else if (parts.size() == 2 && parts[0] == "params") {
      if (spec.params.count(parts[1]) == 0) fail("no param '" + parts[1] + "' is declared");
    } else if (parts.size() == 2 && parts[0] == "outputs") {
      if (std::find(step.outputs.begin(), step.outputs.end(), parts[1]) == step.outputs.end()) {
        fail("step '" + step.name + "' has no output '" + parts[1] + "'");
      }
    } else if (parts.size() == 4 && parts[0] == "steps" && parts[2] == "outputs") {
      const StepSpec* from = spec.Find(parts[1]);
      if (from == nullptr) fail("unknown step '" + parts[1] + "'");
      if (ancestors.count(parts[1]) == 0) {
        fail("step '" + parts[1] + "' is not among the dependsOn of '" + step.name +
             "' (directly or through another step), so it may not have run yet");
      }
      if (std::find(from->outputs.begin(), from->outputs.end(), parts[3]) == from->outputs.end()) {
        fail("step '" + parts[1] + "' has no output '" + parts[3] +
             "' (it has: " + absl::StrJoin(from->outputs, ", ") + ")");
      }
    } else {
      fail(
          "expected params.NAME, steps.STEP.outputs.NAME, outputs.NAME, step.dir, run.dir or "
          "run.name");
    }
    open += m.length(0);
  }
}

WorkflowSpec ReadWorkflow(const Node& root) {
  if (!root.IsMap()) root.Fail("expected a mapping with name, kind: workflow and steps");
  const Map m = root.AsMap();
  WorkflowSpec spec;
  spec.name = DnsLabel(m.Get("name"), 30, "workflow name");
  const Node kind = m.Require("kind", "workflow");
  if (kind.As<std::string>() != "workflow") {
    kind.Fail("expected workflow (jobs of other kinds: 'parasol job submit')");
  }
  if (auto params = m.Find("params")) {
    if (!params->IsMap()) params->Fail("expected a mapping NAME: default (~ for none)");
    static const std::regex kParam("[A-Za-z_][A-Za-z0-9_]*");
    for (const auto& [name, value] : params->Entries()) {
      if (!std::regex_match(name, kParam)) value.Fail("expected a name of letters, digits, '_'");
      if (!value.IsNull() && !value.IsScalar()) value.Fail("expected a default value or ~");
      spec.params[name] =
          value.IsNull() ? std::nullopt : std::optional<std::string>(value.ScalarText());
    }
  }
  if (auto dir = m.Find("workingDir")) spec.working_dir = dir->As<std::string>();
  const Node steps = m.Require("steps", "a list of steps");
  if (!steps.IsSequence() || steps.Items().empty()) steps.Fail("expected a non-empty list");
  std::vector<StepReader> readers;
  for (const Node& s : steps.Items()) readers.push_back(ReadStep(s));
  m.RefuseUnknownKeys();
  for (const auto& r : readers) spec.steps.push_back(r.step);

  // Names, then dependencies, then cycles, then references (which need the ancestors).
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < readers.size(); ++i) {
    if (!index.emplace(spec.steps[i].name, i).second) {
      readers[i].at.AsMap().Fail("name", "a step named '" + spec.steps[i].name + "' comes earlier");
    }
  }
  std::vector<std::string> names;
  for (const auto& s : spec.steps) names.push_back(s.name);
  for (size_t i = 0; i < readers.size(); ++i) {
    const std::optional<Node> deps = readers[i].at.AsMap().Find("dependsOn");
    const std::vector<Node> items = deps ? deps->Items() : std::vector<Node>{};
    for (size_t k = 0; k < items.size(); ++k) {
      const std::string& dep = spec.steps[i].depends_on[k];
      if (index.count(dep) == 0) {
        const std::string near = config::NearestName(dep, names);
        items[k].Fail("unknown step '" + dep + "'" +
                      (near.empty() ? "" : ", did you mean '" + near + "'?"));
      }
      if (dep == spec.steps[i].name) items[k].Fail("a step cannot depend on itself");
    }
  }
  // Depth-first search; a grey step met again closes a cycle.
  std::vector<int> color(readers.size(), 0);
  std::vector<std::string> path;
  std::function<void(size_t)> visit = [&](size_t i) {
    color[i] = 1;
    path.push_back(spec.steps[i].name);
    for (const auto& dep : spec.steps[i].depends_on) {
      const size_t j = index.at(dep);
      if (color[j] == 1) {
        const auto from = std::find(path.begin(), path.end(), dep);
        std::vector<std::string> cycle(from, path.end());
        cycle.push_back(dep);
        readers[i].at.AsMap().Fail(
            "dependsOn", "cycle: " + absl::StrJoin(cycle, " -> ") + " (each depends on the next)");
      }
      if (color[j] == 0) visit(j);
    }
    path.pop_back();
    color[i] = 2;
  };
  for (size_t i = 0; i < readers.size(); ++i) {
    if (color[i] == 0) visit(i);
  }
  for (size_t i = 0; i < readers.size(); ++i) {
    std::set<std::string> ancestors;
    std::vector<std::string> todo = spec.steps[i].depends_on;
    while (!todo.empty()) {
      const std::string s = todo.back();
      todo.pop_back();
      if (!ancestors.insert(s).second) continue;
      const auto& deps = spec.steps[index.at(s)].depends_on;
      todo.insert(todo.end(), deps.begin(), deps.end());
    }
    for (const auto& ref : readers[i].refs) {
      CheckReferences(ref, spec.steps[i], spec, ancestors);
    }
  }
  return spec;
}

}  // namespace

const char* StepTypeName(StepType type) {
  switch (type) {
    case StepType::kJob:
      return "job";
    case StepType::kTrain:
      return "train";
    case StepType::kEval:
      return "eval";
    case StepType::kGate:
      return "gate";
    case StepType::kDeploy:
      return "deploy";
  }
  return "?";
}

const StepSpec* WorkflowSpec::Find(const std::string& step) const {
  for (const auto& s : steps) {
    if (s.name == step) return &s;
  }
  return nullptr;
}

std::vector<OutputInfo> BuiltInOutputs(StepType type) {
  switch (type) {
    case StepType::kTrain:
      return {{"model", "model"}};
    case StepType::kEval:
      return {{"metrics", "metrics.json"}, {"auc", ""}, {"logloss", ""}};
    case StepType::kGate:
      return {{"report", "verdict.json"}, {"verdict", ""}};
    case StepType::kDeploy:
      return {{"version", ""}, {"path", ""}};
    case StepType::kJob:
      break;
  }
  return {};
}

absl::StatusOr<WorkflowSpec> ParseWorkflowSpec(const std::string& text, const std::string& source) {
  WorkflowSpec spec;
  RETURN_IF_ERROR(
      config::ReadYaml(text, source, [&](const config::Node& root) { spec = ReadWorkflow(root); }));
  return spec;
}

absl::StatusOr<std::map<std::string, std::string>> ResolveParams(
    const WorkflowSpec& spec, const std::map<std::string, std::string>& sets) {
  std::map<std::string, std::string> out;
  std::vector<std::string> declared;
  for (const auto& [name, value] : spec.params) {
    declared.push_back(name);
    if (value) out[name] = *value;
  }
  for (const auto& [name, value] : sets) {
    if (spec.params.count(name) == 0) {
      return absl::InvalidArgumentError(
          "--set " + name + ": workflow '" + spec.name + "' has no param '" + name +
          "' (params: " + (declared.empty() ? "none" : absl::StrJoin(declared, ", ")) + ")");
    }
    out[name] = value;
  }
  for (const auto& name : declared) {
    if (out.count(name) == 0) {
      return absl::InvalidArgumentError("params." + name +
                                        ": required (it has no default): --set " + name + "=VALUE");
    }
  }
  return out;
}

absl::StatusOr<std::string> Substitute(const std::string& text,
                                       const std::map<std::string, std::string>& values) {
  std::string out;
  auto begin = std::sregex_iterator(text.begin(), text.end(), ReferencePattern());
  size_t last = 0;
  for (auto it = begin; it != std::sregex_iterator(); ++it) {
    const auto found = values.find((*it)[1].str());
    if (found == values.end()) {
      return absl::InvalidArgumentError("{{" + (*it)[1].str() + "}}: no such value");
    }
    out += text.substr(last, it->position(0) - last) + found->second;
    last = it->position(0) + it->length(0);
  }
  return out + text.substr(last);
}

absl::StatusOr<ordered_json> SubstituteJson(const ordered_json& value,
                                            const std::map<std::string, std::string>& values) {
  if (value.is_string()) {
    ASSIGN_OR_RETURN(std::string s, Substitute(value.get<std::string>(), values));
    return ordered_json(s);
  }
  if (!value.is_structured()) return value;
  ordered_json out = value;
  for (auto it = out.begin(); it != out.end(); ++it) {
    ASSIGN_OR_RETURN(*it, SubstituteJson(*it, values));
  }
  return out;
}

absl::StatusOr<bool> EvaluateWhen(const std::string& when) {
  auto trim = [](std::string s) {
    const size_t b = s.find_first_not_of(" \t");
    const size_t e = s.find_last_not_of(" \t");
    return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
  };
  const std::string w = trim(when);
  if (w.empty() || w == "true") return true;
  if (w == "false") return false;
  for (const char* op : {"==", "!="}) {
    const size_t at = w.find(op);
    if (at != std::string::npos) {
      const bool equal = trim(w.substr(0, at)) == trim(w.substr(at + 2));
      return op[0] == '=' ? equal : !equal;
    }
  }
  return absl::InvalidArgumentError("when: '" + when + "': expected A == B, A != B, true, false");
}

std::vector<std::string> StepAndDependents(const WorkflowSpec& spec, const std::string& step) {
  std::set<std::string> found = {step};
  bool grew = true;
  while (grew) {
    grew = false;
    for (const auto& s : spec.steps) {
      if (found.count(s.name) > 0) continue;
      for (const auto& d : s.depends_on) {
        if (found.count(d) > 0) {
          found.insert(s.name);
          grew = true;
          break;
        }
      }
    }
  }
  std::vector<std::string> out;
  for (const auto& s : spec.steps) {
    if (found.count(s.name) > 0) out.push_back(s.name);
  }
  return out;
}

}  // namespace parasol::control
