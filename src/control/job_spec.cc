#include "control/job_spec.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>

#include "absl/strings/str_cat.h"
#include "common/config_reader.h"
#include "common/status_macros.h"

namespace parasol::control {
namespace {

using ordered_json = nlohmann::ordered_json;

using config::Map;
using config::Node;

// An integer of at least `min`; `what` says what is expected when it is less.
int64_t Integer(const Node& node, int64_t min, const char* what) {
  const int64_t v = node.As<int64_t>();
  if (v < min) node.Fail(what);
  return v;
}
int SmallInteger(const Node& node, int min, const char* what) {
  const int v = node.As<int>();
  if (v < min) node.Fail(what);
  return v;
}

double ParseCpu(const Node& node) {
  const char* what = "expected a number of cores (2, 0.5 or \"500m\")";
  if (!node.IsScalar()) node.Fail(what);
  std::string s = node.ScalarText();
  double scale = 1;
  if (!s.empty() && s.back() == 'm') {
    s.pop_back();
    scale = 1e-3;
  }
  double v = 0;
  size_t used = 0;
  try {
    v = std::stod(s, &used);
  } catch (const std::logic_error&) {
    node.Fail(what);
  }
  if (used != s.size() || !(v >= 0) || !std::isfinite(v)) node.Fail(what);
  return v * scale;
}

int64_t ParseMemory(const Node& node) {
  const char* what = "expected bytes or a quantity such as 512Mi, 2Gi or 1G";
  if (!node.IsScalar()) node.Fail(what);
  static const std::regex kQuantity("([0-9]+)(Ki|Mi|Gi|Ti|K|M|G|T)?");
  std::smatch m;
  const std::string s = node.ScalarText();
  if (!std::regex_match(s, m, kQuantity) || m[1].length() > 15) node.Fail(what);
  static const std::map<std::string, int64_t> kScale = {
      {"", 1},           {"K", 1000},          {"M", 1000000},
      {"G", 1000000000}, {"T", 1000000000000}, {"Ki", 1LL << 10},
      {"Mi", 1LL << 20}, {"Gi", 1LL << 30},    {"Ti", 1LL << 40}};
  const int64_t v = std::stoll(m[1].str());
  const int64_t scale = kScale.at(m[2].str());
  if (v > (int64_t{1} << 62) / scale) node.Fail(what);
  return v * scale;
}

Resources ParseResources(const Node& node) {
  const Map m = node.AsMap();
  Resources r;
  if (auto cpu = m.Find("cpu")) r.cpu = ParseCpu(*cpu);
  if (auto memory = m.Find("memory")) r.memory_bytes = ParseMemory(*memory);
  if (auto gpu = m.Find("gpu")) r.gpu = SmallInteger(*gpu, 0, "expected a whole number >= 0");
  return r;
}

std::map<std::string, std::string> ParseEnv(const Node& node) {
  static const std::regex kName("[A-Za-z_][A-Za-z0-9_]*");
  if (!node.IsMap()) node.Fail("expected a mapping NAME: value");
  std::map<std::string, std::string> env;
  for (const auto& [name, value] : node.Entries()) {
    if (!std::regex_match(name, kName)) value.Fail("not a valid environment variable name");
    env[name] = value.As<std::string>();
  }
  return env;
}

std::vector<std::string> ParseCommand(const Node& node) {
  const char* what = "expected a non-empty list of strings, e.g. [\"sh\", \"-c\", \"...\"]";
  if (!node.IsSequence() || node.Items().empty()) node.Fail(what);
  const std::vector<Node> items = node.Items();
  std::vector<std::string> argv;
  for (const Node& item : items) argv.push_back(item.As<std::string>());
  if (argv[0].empty()) items[0].Fail("the program must not be empty");
  return argv;
}

std::string ParseDir(const Node& node) {
  std::string dir = node.As<std::string>();
  if (dir.empty()) node.Fail("expected a directory");
  if (dir.find('\0') != std::string::npos) node.Fail("contains a NUL byte");
  return dir;
}

std::string ParseImage(const Node& node) {
  static const std::regex kImage("[A-Za-z0-9][A-Za-z0-9._/:@+-]{0,254}");
  const std::string image = node.As<std::string>();
  if (!std::regex_match(image, kImage)) node.Fail("expected an image reference, e.g. python:3.11");
  return image;
}

ReplicaSpec ParseReplica(const std::string& role, const Node& node) {
  const Map m = node.AsMap();
  ReplicaSpec r;
  r.role = role;
  if (auto count = m.Find("count")) {
    r.count = SmallInteger(*count, 1, "expected a positive integer");
    if (r.count > 1000) count->Fail("at most 1000 replicas per role");
  }
  r.command = ParseCommand(m.Require("command", "the program and its arguments"));
  if (auto env = m.Find("env")) r.env = ParseEnv(*env);
  if (auto dir = m.Find("workingDir")) r.working_dir = ParseDir(*dir);
  if (auto resources = m.Find("resources")) r.resources = ParseResources(*resources);
  if (auto image = m.Find("image")) r.image = ParseImage(*image);
  return r;
}

// The `args` mapping of a built-in kind (FLAG: value, passed as --FLAG value); `refused`: flags
// the control plane sets itself, with the reason.
std::vector<std::pair<std::string, std::string>> ParseArgs(
    const Node& args,
    const std::vector<std::pair<std::vector<std::string>, std::string>>& refused) {
  static const std::regex kFlag("[a-z][a-z0-9-]*");
  if (!args.IsMap()) args.Fail("expected a mapping FLAG: value");
  std::vector<std::pair<std::string, std::string>> flags;
  for (const auto& [flag, value] : args.Entries()) {
    if (!std::regex_match(flag, kFlag)) value.Fail("not a flag name (--" + flag + ")");
    for (const auto& [flags_refused, why] : refused) {
      for (const auto& r : flags_refused) {
        if (flag == r) value.Fail(why);
      }
    }
    flags.emplace_back(flag, value.As<std::string>());
  }
  return flags;
}

// "500" (worker batches, > 0) or "30s" / "2.5s" (seconds, > 0): what `ps worker
// --checkpoint-every` accepts.
bool IsCheckpointEvery(const std::string& text) {
  const bool seconds = !text.empty() && text.back() == 's';
  const std::string number = seconds ? text.substr(0, text.size() - 1) : text;
  const std::string allowed = seconds ? "0123456789." : "0123456789";
  return !number.empty() && number.find_first_not_of(allowed) == std::string::npos &&
         number.find_first_not_of("0.") != std::string::npos &&
         std::count(number.begin(), number.end(), '.') <= 1 && number != ".";
}

TrainSpec ParseTrain(const Node& node) {
  const Map m = node.AsMap();
  TrainSpec t;
  if (auto servers = m.Find("servers")) {
    t.servers = SmallInteger(*servers, 0, "expected a whole number >= 0");
  }
  const std::optional<Node> workers = m.Find("workers");
  if (workers) t.workers = SmallInteger(*workers, 1, "expected a positive integer");
  if (t.servers > 256 || t.workers > 256) node.Fail("at most 256 servers and workers");
  if (t.servers == 0 && t.workers > 1) {
    workers->Fail("more than one worker needs train.servers >= 1");
  }
  // `parasol cluster` launcher options: the control plane itself places, restarts and stops
  // the servers and workers of a distributed job.
  t.flags = ParseArgs(m.Require("args", "the training flags, e.g. {train: x.svm, out: model}"),
                      {{{"servers"}, "set train.servers instead"},
                       {{"workers"}, "set train.workers instead"},
                       {{"checkpoint-every", "checkpoint-dir", "restore", "max-restarts",
                         "worker-index", "num-workers", "resume", "retry-seconds"},
                        "not a training flag (a parameter-server launcher option; restarts follow "
                        "restartPolicy and backoffLimit; checkpoints: train.checkpointEvery; "
                        "a start: train.restore)"}});
  if (auto every = m.Find("checkpointEvery")) {
    t.checkpoint_every = every->As<std::string>();
    if (!IsCheckpointEvery(t.checkpoint_every)) {
      every->Fail("expected seconds (\"30s\") or worker batches (\"500\")");
    }
    if (t.servers == 0) {
      every->Fail("checkpoints are of parameter servers: needs train.servers >= 1");
    }
  }
  if (auto dir = m.Find("checkpointDir")) {
    t.checkpoint_dir = dir->As<std::string>();
  } else if (!t.checkpoint_every.empty()) {
    const auto out = std::find_if(t.flags.begin(), t.flags.end(),
                                  [](const auto& f) { return f.first == "out"; });
    if (out == t.flags.end()) {
      m.Fail("checkpointDir", "required with checkpointEvery when args has no out");
    }
    t.checkpoint_dir = out->second + "/checkpoints";
  }
  if (auto keep = m.Find("keepCheckpoints")) {
    t.keep_checkpoints = SmallInteger(*keep, 0, "expected a whole number >= 0 (0: all)");
  }
  if (t.servers == 0 && !t.checkpoint_dir.empty()) {
    m.Fail("checkpointDir", "checkpoints are of parameter servers: needs train.servers >= 1");
  }
  if (auto restore = m.Find("restore")) {
    t.restore = restore->As<std::string>();
    if (t.restore.empty()) restore->Fail("expected a checkpoint or model directory");
    if (t.servers == 0) {
      restore->Fail(
          "restores parameter servers: needs train.servers >= 1 (parasol train has no restore)");
    }
  }
  return t;
}

ServeSpec ParseServe(const Node& node) {
  const Map m = node.AsMap();
  ServeSpec s;
  if (auto replicas = m.Find("replicas")) {
    s.replicas = SmallInteger(*replicas, 1, "expected a positive integer");
    if (s.replicas > 64) replicas->Fail("at most 64");
  }
  const Node args = m.Require("args", "the model server's flags, e.g. {model-base: models/churn}");
  s.flags = ParseArgs(args, {{{"rest-port"},
                              "set by the control plane: each replica serves REST on its own "
                              "port (PARASOL_PORT, shown by describe)"}});
  bool has_model = false;
  for (const auto& [flag, value] : s.flags) {
    has_model |= flag == "model-base" || flag == "model-config";
  }
  if (!has_model) args.Fail("needs model-base or model-config");
  return s;
}

RestartPolicy ParseRestartPolicy(const Node& node) {
  const std::string p = node.As<std::string>();
  if (p == "Never") return RestartPolicy::kNever;
  if (p == "OnFailure") return RestartPolicy::kOnFailure;
  if (p == "ExitCode") return RestartPolicy::kExitCode;
  node.Fail("expected Never, OnFailure or ExitCode, not '" + p + "'");
}

ordered_json ResourcesJson(const Resources& r) {
  ordered_json j = ordered_json::object();
  if (r.cpu != 0) j["cpu"] = r.cpu;
  if (r.memory_bytes != 0) j["memory"] = r.memory_bytes;
  if (r.gpu != 0) j["gpu"] = r.gpu;
  return j;
}

}  // namespace

JobSpec ReadJobSpec(const config::Node& root, const std::string& given_name) {
  if (!root.IsMap()) root.Fail("expected a mapping with name, kind and replicas");
  const Map m = root.AsMap();
  JobSpec spec;
  static const std::regex kName("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");
  spec.name = given_name;  // when given, "name" stays an unknown key: the caller names the job
  if (given_name.empty()) {
    const Node name = m.Get("name");
    spec.name = name.As<std::string>();
    if (!std::regex_match(spec.name, kName)) {
      name.Fail(
          "expected lowercase letters, digits and '-', starting and ending with a letter or "
          "digit, at most 63 characters");
    }
  }
  const Node kind_node = m.Require("kind", "train, serve or custom");
  const std::string kind = kind_node.As<std::string>();
  if (kind == "custom") {
    spec.kind = JobKind::kCustom;
  } else if (kind == "train") {
    spec.kind = JobKind::kTrain;
  } else if (kind == "serve") {
    spec.kind = JobKind::kServe;
    spec.restart_policy = RestartPolicy::kOnFailure;  // a server runs until stopped
  } else if (kind == "workflow") {
    kind_node.Fail("a workflow is run with 'parasol workflow run -f FILE', not submitted as a job");
  } else {
    kind_node.Fail("expected train, serve or custom, not '" + kind + "'");
  }
  if (auto env = m.Find("env")) spec.env = ParseEnv(*env);
  if (auto dir = m.Find("workingDir")) spec.working_dir = ParseDir(*dir);
  if (auto resources = m.Find("resources")) spec.resources = ParseResources(*resources);
  if (auto image = m.Find("image")) spec.image = ParseImage(*image);
  if (auto selector = m.Find("nodeSelector")) {
    if (!selector->IsMap()) selector->Fail("expected a mapping LABEL: value");
    for (const auto& [key, value] : selector->Entries()) {
      spec.node_selector[key] = value.As<std::string>();
    }
  }
  if (auto policy = m.Find("restartPolicy")) spec.restart_policy = ParseRestartPolicy(*policy);
  if (auto limit = m.Find("backoffLimit")) {
    spec.backoff_limit = SmallInteger(*limit, 0, "expected a whole number >= 0");
  }
  if (auto deadline = m.Find("activeDeadlineSeconds")) {
    spec.active_deadline_seconds = Integer(*deadline, 1, "expected a positive integer");
  }
  // Asked about whatever the kind, so that none is refused as unknown before the kind rules.
  const std::optional<Node> replicas = m.Find("replicas");
  const std::optional<Node> train = m.Find("train");
  const std::optional<Node> serve = m.Find("serve");
  if (spec.kind == JobKind::kTrain) {
    if (replicas) replicas->Fail("not used by kind train (set train.servers/workers)");
    spec.train = ParseTrain(m.Require("train", "the servers, workers and flags of kind train"));
  }
  if (spec.kind != JobKind::kTrain && train) train->Fail("only used by kind train");
  if (spec.kind == JobKind::kServe) {
    if (replicas) replicas->Fail("not used by kind serve (set serve.replicas)");
    spec.serve = ParseServe(m.Require("serve", "the replicas and flags of kind serve"));
  }
  if (spec.kind != JobKind::kServe && serve) serve->Fail("only used by kind serve");
  if (spec.kind != JobKind::kCustom) return spec;
  const Node roles = m.Require("replicas", "ROLE: {count, command}");
  if (!roles.IsMap() || roles.Entries().empty()) {
    roles.Fail("expected a mapping ROLE: {count, command}");
  }
  static const std::regex kRole("[a-z][a-z0-9]{0,30}");
  for (const auto& [role, value] : roles.Entries()) {
    if (!std::regex_match(role, kRole)) {
      value.Fail("role names are lowercase letters and digits (ps, worker)");
    }
    spec.replicas.push_back(ParseReplica(role, value));
  }
  return spec;
}

const char* JobKindName(JobKind kind) {
  switch (kind) {
    case JobKind::kTrain:
      return "train";
    case JobKind::kServe:
      return "serve";
    case JobKind::kCustom:
      return "custom";
  }
  return "?";
}

const char* RestartPolicyName(RestartPolicy policy) {
  switch (policy) {
    case RestartPolicy::kNever:
      return "Never";
    case RestartPolicy::kOnFailure:
      return "OnFailure";
    case RestartPolicy::kExitCode:
      return "ExitCode";
  }
  return "?";
}

namespace {

// The byte offset of the first byte that is not part of valid UTF-8, or npos.
size_t InvalidUtf8At(const std::string& text) {
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    const int extra = c < 0x80           ? 0
                      : (c >> 5) == 0x6  ? 1
                      : (c >> 4) == 0xE  ? 2
                      : (c >> 3) == 0x1E ? 3
                                         : -1;
    if (extra < 0 || i + extra >= text.size() + (extra == 0 ? 1 : 0)) return i;
    for (int k = 1; k <= extra; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) >> 6) != 0x2) return i;
    }
    i += extra + 1;
  }
  return std::string::npos;
}

}  // namespace

absl::StatusOr<JobSpec> ParseJobSpec(const std::string& text, const std::string& source) {
  if (const size_t bad = InvalidUtf8At(text); bad != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": not UTF-8 text (byte ", bad, " is not valid UTF-8)"));
  }
  JobSpec spec;
  RETURN_IF_ERROR(
      config::ReadYaml(text, source, [&](const config::Node& root) { spec = ReadJobSpec(root); }));
  return spec;
}

std::string JobSpecToJson(const JobSpec& spec) {
  ordered_json j;
  j["name"] = spec.name;
  j["kind"] = JobKindName(spec.kind);
  if (spec.kind == JobKind::kTrain) {
    ordered_json args = ordered_json::object();
    for (const auto& [flag, value] : spec.train.flags) args[flag] = value;
    j["train"] = {{"servers", spec.train.servers}, {"workers", spec.train.workers}, {"args", args}};
    if (!spec.train.checkpoint_every.empty()) {
      j["train"]["checkpointEvery"] = spec.train.checkpoint_every;
    }
    if (!spec.train.checkpoint_dir.empty()) {
      j["train"]["checkpointDir"] = spec.train.checkpoint_dir;
      j["train"]["keepCheckpoints"] = spec.train.keep_checkpoints;
    }
    if (!spec.train.restore.empty()) j["train"]["restore"] = spec.train.restore;
  } else if (spec.kind == JobKind::kServe) {
    ordered_json args = ordered_json::object();
    for (const auto& [flag, value] : spec.serve.flags) args[flag] = value;
    j["serve"] = {{"replicas", spec.serve.replicas}, {"args", args}};
  } else {
    ordered_json replicas = ordered_json::object();
    for (const auto& r : spec.replicas) {
      ordered_json role;
      role["count"] = r.count;
      role["command"] = r.command;
      if (!r.env.empty()) role["env"] = r.env;
      if (!r.working_dir.empty()) role["workingDir"] = r.working_dir;
      if (r.resources != Resources{}) role["resources"] = ResourcesJson(r.resources);
      if (!r.image.empty()) role["image"] = r.image;
      replicas[r.role] = role;
    }
    j["replicas"] = replicas;
  }
  if (!spec.env.empty()) j["env"] = spec.env;
  if (!spec.working_dir.empty()) j["workingDir"] = spec.working_dir;
  if (spec.resources != Resources{}) j["resources"] = ResourcesJson(spec.resources);
  if (!spec.image.empty()) j["image"] = spec.image;
  if (!spec.node_selector.empty()) j["nodeSelector"] = spec.node_selector;
  j["restartPolicy"] = RestartPolicyName(spec.restart_policy);
  j["backoffLimit"] = spec.backoff_limit;
  if (spec.active_deadline_seconds != 0) {
    j["activeDeadlineSeconds"] = spec.active_deadline_seconds;
  }
  return j.dump(-1, ' ', false, ordered_json::error_handler_t::replace);
}

JobSpec ExpandJob(const JobSpec& spec, const std::string& parasol_binary) {
  if (spec.kind == JobKind::kCustom) return spec;
  JobSpec out = spec;
  std::vector<std::string> flags;
  for (const auto& [flag, value] :
       spec.kind == JobKind::kTrain ? spec.train.flags : spec.serve.flags) {
    flags.push_back("--" + flag);
    flags.push_back(value);
  }
  auto role = [&](const char* name, int count, std::vector<std::string> command) {
    ReplicaSpec r;
    r.role = name;
    r.count = count;
    r.command = {parasol_binary};
    r.command.insert(r.command.end(), command.begin(), command.end());
    r.command.insert(r.command.end(), flags.begin(), flags.end());
    return r;
  };
  if (spec.kind == JobKind::kServe) {
    // REST on the replica's own port (expanded by the backend); gRPC on a free one unless the
    // flags name one (a later --port wins).
    out.replicas = {role("server", spec.serve.replicas,
                         {"serve", "--rest-port", "$(PARASOL_PORT)", "--port", "0"})};
    return out;
  }
  if (spec.train.servers == 0) {
    out.replicas = {role("trainer", 1, {"train"})};
    return out;
  }
  // Servers and workers find each other through PARASOL_CLUSTER; each worker trains on its
  // share of the data (by task index); worker 0 writes the model once all have finished.
  // Workers always resume: at a first start server 0 records no batches for them, so it is a
  // no-op, and a restarted worker (any backend restarts the same command) skips what it did.
  std::vector<std::string> server = {"ps", "server"}, worker = {"ps", "worker", "--resume"};
  if (!spec.train.checkpoint_dir.empty()) {
    // Worker 0 checkpoints (on the schedule, and at the end); a restarted server starts from the
    // newest checkpoint.
    const std::string& dir = spec.train.checkpoint_dir;
    server.insert(server.end(), {"--checkpoint-dir", dir, "--restore-latest"});
    if (!spec.train.checkpoint_every.empty()) {
      worker.insert(worker.end(), {"--checkpoint-every", spec.train.checkpoint_every});
    }
    worker.insert(worker.end(), {"--checkpoint-dir", dir, "--keep-checkpoints",
                                 std::to_string(spec.train.keep_checkpoints)});
  }
  // Without a checkpoint yet (--restore-latest), servers start from `restore`.
  if (!spec.train.restore.empty()) server.insert(server.end(), {"--restore", spec.train.restore});
  server.push_back("--");
  out.replicas = {role("ps", spec.train.servers, server),
                  role("worker", spec.train.workers, worker)};
  return out;
}

std::string ExpandEnvReferences(const std::string& arg,
                                const std::map<std::string, std::string>& env) {
  std::string out;
  for (size_t i = 0; i < arg.size(); ++i) {
    if (arg[i] != '$' || i + 1 == arg.size()) {
      out += arg[i];
    } else if (arg.compare(i + 1, 2, "$(") == 0) {  // "$$(NAME)": the literal "$(NAME)"
      out += "$(";
      i += 2;
    } else if (const size_t close = arg.find(')', i + 2);
               arg[i + 1] == '(' && close != std::string::npos &&
               env.count(arg.substr(i + 2, close - i - 2)) > 0) {
      out += env.at(arg.substr(i + 2, close - i - 2));
      i = close;
    } else {
      out += arg[i];
    }
  }
  return out;
}

bool IsDistributed(const JobSpec& spec) {
  int processes = 0;
  for (const auto& r : spec.replicas) processes += r.count;
  return processes > 1;
}

Resources EffectiveResources(const JobSpec& spec, const ReplicaSpec& role) {
  Resources r = role.resources;
  if (r.cpu == 0) r.cpu = spec.resources.cpu;
  if (r.memory_bytes == 0) r.memory_bytes = spec.resources.memory_bytes;
  if (r.gpu == 0) r.gpu = spec.resources.gpu;
  return r;
}

double ReadCpuQuantity(const config::Node& node) { return ParseCpu(node); }
int64_t ReadMemoryQuantity(const config::Node& node) { return ParseMemory(node); }

Resources TotalResources(const JobSpec& expanded) {
  Resources total;
  for (const auto& role : expanded.replicas) {
    const Resources r = EffectiveResources(expanded, role);
    total.cpu += r.cpu * role.count;
    total.memory_bytes += r.memory_bytes * role.count;
    total.gpu += r.gpu * role.count;
  }
  return total;
}

}  // namespace parasol::control
