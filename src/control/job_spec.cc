#include "control/job_spec.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace parasol::control {
namespace {

using ordered_json = nlohmann::ordered_json;

// Thrown inside the parser only; ParseJobSpec turns it into a Status.
struct SpecError {
  std::string field;
  std::string message;
  YAML::Mark mark;
};

[[noreturn]] void Bad(const YAML::Node& node, const std::string& field, const std::string& what) {
  throw SpecError{field, what, node.Mark()};
}

std::string Join(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

void CheckKeys(const YAML::Node& map, const std::string& path, std::set<std::string> allowed) {
  if (!map.IsMap()) Bad(map, path.empty() ? "spec" : path, "expected a mapping");
  for (const auto& kv : map) {
    const std::string key = kv.first.as<std::string>();
    if (allowed.count(key) == 0) {
      Bad(kv.first, Join(path, key),
          "unknown field (allowed: " + absl::StrJoin(allowed, ", ") + ")");
    }
  }
}

std::string Scalar(const YAML::Node& node, const std::string& field) {
  if (!node.IsScalar()) Bad(node, field, "expected a string");
  return node.Scalar();
}

int64_t Integer(const YAML::Node& node, const std::string& field, int64_t min, const char* what) {
  int64_t v = 0;
  if (!node.IsScalar() || !YAML::convert<int64_t>::decode(node, v) || v < min) {
    Bad(node, field, what);
  }
  return v;
}

double ParseCpu(const YAML::Node& node, const std::string& field) {
  const char* what = "expected a number of cores (2, 0.5 or \"500m\")";
  if (!node.IsScalar()) Bad(node, field, what);
  std::string s = node.Scalar();
  double scale = 1;
  if (!s.empty() && s.back() == 'm') {
    s.pop_back();
    scale = 1e-3;
  }
  try {
    size_t used = 0;
    const double v = std::stod(s, &used);
    if (used != s.size() || !(v >= 0) || !std::isfinite(v)) Bad(node, field, what);
    return v * scale;
  } catch (const std::logic_error&) {
    Bad(node, field, what);
  }
}

int64_t ParseMemory(const YAML::Node& node, const std::string& field) {
  const char* what = "expected bytes or a quantity such as 512Mi, 2Gi or 1G";
  if (!node.IsScalar()) Bad(node, field, what);
  static const std::regex kQuantity("([0-9]+)(Ki|Mi|Gi|Ti|K|M|G|T)?");
  std::smatch m;
  const std::string s = node.Scalar();
  if (!std::regex_match(s, m, kQuantity) || m[1].length() > 15) Bad(node, field, what);
  static const std::map<std::string, int64_t> kScale = {
      {"", 1},           {"K", 1000},          {"M", 1000000},
      {"G", 1000000000}, {"T", 1000000000000}, {"Ki", 1LL << 10},
      {"Mi", 1LL << 20}, {"Gi", 1LL << 30},    {"Ti", 1LL << 40}};
  const int64_t v = std::stoll(m[1].str());
  const int64_t scale = kScale.at(m[2].str());
  if (v > (int64_t{1} << 62) / scale) Bad(node, field, what);
  return v * scale;
}

Resources ParseResources(const YAML::Node& node, const std::string& path) {
  CheckKeys(node, path, {"cpu", "memory", "gpu"});
  Resources r;
  if (node["cpu"]) r.cpu = ParseCpu(node["cpu"], path + ".cpu");
  if (node["memory"]) r.memory_bytes = ParseMemory(node["memory"], path + ".memory");
  if (node["gpu"]) {
    r.gpu =
        static_cast<int>(Integer(node["gpu"], path + ".gpu", 0, "expected a whole number >= 0"));
  }
  return r;
}

std::map<std::string, std::string> ParseEnv(const YAML::Node& node, const std::string& path) {
  static const std::regex kName("[A-Za-z_][A-Za-z0-9_]*");
  if (!node.IsMap()) Bad(node, path, "expected a mapping NAME: value");
  std::map<std::string, std::string> env;
  for (const auto& kv : node) {
    const std::string name = kv.first.as<std::string>();
    if (!std::regex_match(name, kName)) {
      Bad(kv.first, Join(path, name), "not a valid environment variable name");
    }
    env[name] = Scalar(kv.second, Join(path, name));
  }
  return env;
}

std::vector<std::string> ParseCommand(const YAML::Node& node, const std::string& field) {
  const char* what = "expected a non-empty list of strings, e.g. [\"sh\", \"-c\", \"...\"]";
  if (!node.IsSequence() || node.size() == 0) Bad(node, field, what);
  std::vector<std::string> argv;
  for (size_t i = 0; i < node.size(); ++i) {
    argv.push_back(Scalar(node[i], absl::StrCat(field, "[", i, "]")));
  }
  if (argv[0].empty()) Bad(node, field + "[0]", "the program must not be empty");
  return argv;
}

std::string ParseDir(const YAML::Node& node, const std::string& field) {
  std::string dir = Scalar(node, field);
  if (dir.empty()) Bad(node, field, "expected a directory");
  if (dir.find('\0') != std::string::npos) Bad(node, field, "contains a NUL byte");
  return dir;
}

std::string ParseImage(const YAML::Node& node, const std::string& field) {
  static const std::regex kImage("[A-Za-z0-9][A-Za-z0-9._/:@+-]{0,254}");
  const std::string image = Scalar(node, field);
  if (!std::regex_match(image, kImage))
    Bad(node, field, "expected an image reference, e.g. python:3.11");
  return image;
}

ReplicaSpec ParseReplica(const std::string& role, const YAML::Node& node, const std::string& path) {
  CheckKeys(node, path, {"count", "command", "env", "workingDir", "resources", "image"});
  ReplicaSpec r;
  r.role = role;
  if (node["count"]) {
    r.count =
        static_cast<int>(Integer(node["count"], path + ".count", 1, "expected a positive integer"));
    if (r.count > 1000) Bad(node["count"], path + ".count", "at most 1000 replicas per role");
  }
  if (!node["command"]) Bad(node, path + ".command", "required: the program and its arguments");
  r.command = ParseCommand(node["command"], path + ".command");
  if (node["env"]) r.env = ParseEnv(node["env"], path + ".env");
  if (node["workingDir"]) r.working_dir = ParseDir(node["workingDir"], path + ".workingDir");
  if (node["resources"]) r.resources = ParseResources(node["resources"], path + ".resources");
  if (node["image"]) r.image = ParseImage(node["image"], path + ".image");
  return r;
}

// The `args` mapping of a built-in kind (FLAG: value, passed as --FLAG value); `refused`: flags
// the control plane sets itself, with the reason.
std::vector<std::pair<std::string, std::string>> ParseArgs(
    const YAML::Node& node, const std::string& field,
    const std::vector<std::pair<std::vector<std::string>, std::string>>& refused) {
  static const std::regex kFlag("[a-z][a-z0-9-]*");
  const YAML::Node& args = node["args"];
  if (!args.IsMap()) Bad(args, field, "expected a mapping FLAG: value");
  std::vector<std::pair<std::string, std::string>> flags;
  for (const auto& kv : args) {
    const std::string flag = kv.first.as<std::string>();
    const std::string name = field + "." + flag;
    if (!std::regex_match(flag, kFlag)) Bad(kv.first, name, "not a flag name (--" + flag + ")");
    for (const auto& [flags_refused, why] : refused) {
      for (const auto& r : flags_refused) {
        if (flag == r) Bad(kv.first, name, why);
      }
    }
    flags.emplace_back(flag, Scalar(kv.second, name));
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

TrainSpec ParseTrain(const YAML::Node& node) {
  CheckKeys(node, "train",
            {"servers", "workers", "args", "checkpointEvery", "checkpointDir", "keepCheckpoints",
             "restore"});
  TrainSpec t;
  if (node["servers"]) {
    t.servers = static_cast<int>(
        Integer(node["servers"], "train.servers", 0, "expected a whole number >= 0"));
  }
  if (node["workers"]) {
    t.workers = static_cast<int>(
        Integer(node["workers"], "train.workers", 1, "expected a positive integer"));
  }
  if (t.servers > 256 || t.workers > 256) Bad(node, "train", "at most 256 servers and workers");
  if (t.servers == 0 && t.workers > 1) {
    Bad(node["workers"], "train.workers", "more than one worker needs train.servers >= 1");
  }
  if (!node["args"])
    Bad(node, "train.args", "required: the training flags, e.g. {train: x.svm, out: model}");
  // `parasol cluster` launcher options: the control plane itself places, restarts and stops
  // the servers and workers of a distributed job.
  t.flags = ParseArgs(node, "train.args",
                      {{{"servers"}, "set train.servers instead"},
                       {{"workers"}, "set train.workers instead"},
                       {{"checkpoint-every", "checkpoint-dir", "restore", "max-restarts",
                         "worker-index", "num-workers", "resume", "retry-seconds"},
                        "not a training flag (a parameter-server launcher option; restarts follow "
                        "restartPolicy and backoffLimit; checkpoints: train.checkpointEvery; "
                        "a start: train.restore)"}});
  if (node["checkpointEvery"]) {
    t.checkpoint_every = Scalar(node["checkpointEvery"], "train.checkpointEvery");
    if (!IsCheckpointEvery(t.checkpoint_every)) {
      Bad(node["checkpointEvery"], "train.checkpointEvery",
          "expected seconds (\"30s\") or worker batches (\"500\")");
    }
    if (t.servers == 0) {
      Bad(node["checkpointEvery"], "train.checkpointEvery",
          "checkpoints are of parameter servers: needs train.servers >= 1");
    }
  }
  if (node["checkpointDir"]) {
    t.checkpoint_dir = Scalar(node["checkpointDir"], "train.checkpointDir");
  } else if (!t.checkpoint_every.empty()) {
    const auto out = std::find_if(t.flags.begin(), t.flags.end(),
                                  [](const auto& f) { return f.first == "out"; });
    if (out == t.flags.end()) {
      Bad(node, "train.checkpointDir", "required with checkpointEvery when args has no out");
    }
    t.checkpoint_dir = out->second + "/checkpoints";
  }
  if (node["keepCheckpoints"]) {
    t.keep_checkpoints = static_cast<int>(Integer(node["keepCheckpoints"], "train.keepCheckpoints",
                                                  0, "expected a whole number >= 0 (0: all)"));
  }
  if (t.servers == 0 && !t.checkpoint_dir.empty()) {
    Bad(node["checkpointDir"], "train.checkpointDir",
        "checkpoints are of parameter servers: needs train.servers >= 1");
  }
  if (node["restore"]) {
    t.restore = Scalar(node["restore"], "train.restore");
    if (t.restore.empty()) {
      Bad(node["restore"], "train.restore", "expected a checkpoint or model directory");
    }
    if (t.servers == 0) {
      Bad(node["restore"], "train.restore",
          "restores parameter servers: needs train.servers >= 1 (parasol train has no restore)");
    }
  }
  return t;
}

ServeSpec ParseServe(const YAML::Node& node) {
  CheckKeys(node, "serve", {"replicas", "args"});
  ServeSpec s;
  if (node["replicas"]) {
    s.replicas = static_cast<int>(
        Integer(node["replicas"], "serve.replicas", 1, "expected a positive integer"));
  }
  if (s.replicas > 64) Bad(node["replicas"], "serve.replicas", "at most 64");
  if (!node["args"]) {
    Bad(node, "serve.args", "required: the model server's flags, e.g. {model-base: models/churn}");
  }
  s.flags = ParseArgs(node, "serve.args",
                      {{{"rest-port"},
                        "set by the control plane: each replica serves REST on its own port "
                        "(PARASOL_PORT, shown by describe)"}});
  bool has_model = false;
  for (const auto& [flag, value] : s.flags) {
    has_model |= flag == "model-base" || flag == "model-config";
  }
  if (!has_model) Bad(node["args"], "serve.args", "needs model-base or model-config");
  return s;
}

JobSpec ParseRoot(const YAML::Node& root) {
  if (!root.IsMap()) Bad(root, "spec", "expected a mapping with name, kind and replicas");
  CheckKeys(root, "",
            {"name", "kind", "replicas", "env", "workingDir", "resources", "restartPolicy",
             "backoffLimit", "activeDeadlineSeconds", "train", "serve", "image", "nodeSelector"});
  JobSpec spec;
  static const std::regex kName("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");
  if (!root["name"]) Bad(root, "name", "required");
  spec.name = Scalar(root["name"], "name");
  if (!std::regex_match(spec.name, kName)) {
    Bad(root["name"], "name",
        "expected lowercase letters, digits and '-', starting and ending with a letter or digit, "
        "at most 63 characters");
  }
  if (!root["kind"]) Bad(root, "kind", "required: train, serve or custom");
  const std::string kind = Scalar(root["kind"], "kind");
  if (kind == "custom") {
    spec.kind = JobKind::kCustom;
  } else if (kind == "train") {
    spec.kind = JobKind::kTrain;
  } else if (kind == "serve") {
    spec.kind = JobKind::kServe;
    spec.restart_policy = RestartPolicy::kOnFailure;  // a server runs until stopped
  } else {
    Bad(root["kind"], "kind", "expected train, serve or custom, not '" + kind + "'");
  }
  if (root["env"]) spec.env = ParseEnv(root["env"], "env");
  if (root["workingDir"]) spec.working_dir = ParseDir(root["workingDir"], "workingDir");
  if (root["resources"]) spec.resources = ParseResources(root["resources"], "resources");
  if (root["image"]) spec.image = ParseImage(root["image"], "image");
  if (root["nodeSelector"]) {
    const YAML::Node& selector = root["nodeSelector"];
    if (!selector.IsMap()) Bad(selector, "nodeSelector", "expected a mapping LABEL: value");
    for (const auto& kv : selector) {
      const std::string key = kv.first.as<std::string>();
      spec.node_selector[key] = Scalar(kv.second, "nodeSelector." + key);
    }
  }
  if (root["restartPolicy"]) {
    const std::string p = Scalar(root["restartPolicy"], "restartPolicy");
    if (p == "Never") {
      spec.restart_policy = RestartPolicy::kNever;
    } else if (p == "OnFailure") {
      spec.restart_policy = RestartPolicy::kOnFailure;
    } else if (p == "ExitCode") {
      spec.restart_policy = RestartPolicy::kExitCode;
    } else {
      Bad(root["restartPolicy"], "restartPolicy",
          "expected Never, OnFailure or ExitCode, not '" + p + "'");
    }
  }
  if (root["backoffLimit"]) {
    spec.backoff_limit = static_cast<int>(
        Integer(root["backoffLimit"], "backoffLimit", 0, "expected a whole number >= 0"));
  }
  if (root["activeDeadlineSeconds"]) {
    spec.active_deadline_seconds = Integer(root["activeDeadlineSeconds"], "activeDeadlineSeconds",
                                           1, "expected a positive integer");
  }
  if (spec.kind == JobKind::kTrain) {
    if (root["replicas"]) {
      Bad(root["replicas"], "replicas", "not used by kind train (set train.servers/workers)");
    }
    if (!root["train"]) Bad(root, "train", "required for kind train");
    spec.train = ParseTrain(root["train"]);
    return spec;
  }
  if (root["train"]) Bad(root["train"], "train", "only used by kind train");
  if (spec.kind == JobKind::kServe) {
    if (root["replicas"]) {
      Bad(root["replicas"], "replicas", "not used by kind serve (set serve.replicas)");
    }
    if (!root["serve"]) Bad(root, "serve", "required for kind serve");
    spec.serve = ParseServe(root["serve"]);
    return spec;
  }
  if (root["serve"]) Bad(root["serve"], "serve", "only used by kind serve");
  if (!root["replicas"]) Bad(root, "replicas", "required: ROLE: {count, command}");
  const YAML::Node& replicas = root["replicas"];
  if (!replicas.IsMap() || replicas.size() == 0) {
    Bad(replicas, "replicas", "expected a mapping ROLE: {count, command}");
  }
  static const std::regex kRole("[a-z][a-z0-9]{0,30}");
  for (const auto& kv : replicas) {
    const std::string role = kv.first.as<std::string>();
    if (!std::regex_match(role, kRole)) {
      Bad(kv.first, "replicas." + role, "role names are lowercase letters and digits (ps, worker)");
    }
    spec.replicas.push_back(ParseReplica(role, kv.second, "replicas." + role));
  }
  return spec;
}

ordered_json ResourcesJson(const Resources& r) {
  ordered_json j = ordered_json::object();
  if (r.cpu != 0) j["cpu"] = r.cpu;
  if (r.memory_bytes != 0) j["memory"] = r.memory_bytes;
  if (r.gpu != 0) j["gpu"] = r.gpu;
  return j;
}

}  // namespace

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
  auto where = [&](const YAML::Mark& mark) {
    if (mark.is_null()) return source;
    return absl::StrCat(source, ":", mark.line + 1, ":", mark.column + 1);
  };
  try {
    return ParseRoot(YAML::Load(text));
  } catch (const SpecError& e) {
    return absl::InvalidArgumentError(absl::StrCat(where(e.mark), ": ", e.field, ": ", e.message));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(where(e.mark), ": not valid YAML or JSON: ", e.msg));
  }
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

}  // namespace parasol::control
