#include "control/job_record.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/config_reader.h"

namespace parasol::control {
namespace {

using ordered_json = nlohmann::ordered_json;

template <typename Enum, size_t N>
std::optional<Enum> EnumFromName(const std::string& name, const Enum (&values)[N],
                                 const char* (*to_name)(Enum)) {
  for (Enum v : values) {
    if (name == to_name(v)) return v;
  }
  return std::nullopt;
}

constexpr JobState kJobStates[] = {JobState::kPending, JobState::kRunning, JobState::kSucceeded,
                                   JobState::kFailed, JobState::kStopped};
constexpr ReplicaState kReplicaStates[] = {ReplicaState::kPending, ReplicaState::kRunning,
                                           ReplicaState::kSucceeded, ReplicaState::kFailed,
                                           ReplicaState::kStopped};

}  // namespace

const char* JobStateName(JobState state) {
  switch (state) {
    case JobState::kPending:
      return "Pending";
    case JobState::kRunning:
      return "Running";
    case JobState::kSucceeded:
      return "Succeeded";
    case JobState::kFailed:
      return "Failed";
    case JobState::kStopped:
      return "Stopped";
  }
  return "?";
}

const char* ReplicaStateName(ReplicaState state) {
  switch (state) {
    case ReplicaState::kPending:
      return "Pending";
    case ReplicaState::kRunning:
      return "Running";
    case ReplicaState::kSucceeded:
      return "Succeeded";
    case ReplicaState::kFailed:
      return "Failed";
    case ReplicaState::kStopped:
      return "Stopped";
  }
  return "?";
}

bool IsFinal(JobState state) {
  return state == JobState::kSucceeded || state == JobState::kFailed || state == JobState::kStopped;
}

bool JobRecord::HasLiveReplicas() const {
  for (const auto& r : replicas) {
    if (r.state == ReplicaState::kRunning) return true;
  }
  return false;
}

ReplicaStatus* JobRecord::FindReplica(const std::string& replica) {
  for (auto& r : replicas) {
    if (r.name == replica) return &r;
  }
  return nullptr;
}

std::string JobRecordToJson(const JobRecord& record) {
  ordered_json j;
  j["name"] = record.spec.name;
  j["kind"] = JobKindName(record.spec.kind);
  j["tenant"] = record.tenant;
  j["state"] = JobStateName(record.state);
  j["reason"] = record.reason;
  j["createdAt"] = record.created_at;
  j["startedAt"] = record.started_at;
  j["finishedAt"] = record.finished_at;
  j["restarts"] = record.restarts;
  j["deleteRequested"] = record.delete_requested;
  j["spec"] = ordered_json::parse(JobSpecToJson(record.spec));
  ordered_json replicas = ordered_json::array();
  for (const auto& r : record.replicas) {
    ordered_json rj;
    rj["name"] = r.name;
    rj["role"] = r.role;
    rj["index"] = r.index;
    rj["state"] = ReplicaStateName(r.state);
    rj["port"] = r.port;
    rj["pid"] = r.pid;
    rj["startTicks"] = r.start_ticks;
    rj["restarts"] = r.restarts;
    rj["exitCode"] = r.exit_code ? ordered_json(*r.exit_code) : ordered_json(nullptr);
    rj["reason"] = r.reason;
    rj["nextStart"] = r.next_start;
    rj["stopping"] = r.stopping;
    rj["stopDeadline"] = r.stop_deadline;
    rj["gpus"] = r.gpus;
    rj["metricsOffsets"] = r.metrics_offsets;
    rj["metricsBadLines"] = r.metrics_bad_lines;
    replicas.push_back(rj);
  }
  j["replicas"] = replicas;
  // Specs are checked to be UTF-8; replacing stays safe should anything else slip through.
  return j.dump(-1, ' ', false, ordered_json::error_handler_t::replace);
}

namespace {

// "Running" as a state of `values`, named by `to_name`.
template <typename Enum, size_t N>
Enum ReadEnum(const config::Node& node, const Enum (&values)[N], const char* (*to_name)(Enum)) {
  const std::string name = node.As<std::string>();
  const std::optional<Enum> value = EnumFromName(name, values, to_name);
  if (!value) node.Fail("unknown state '" + name + "'");
  return *value;
}

ReplicaStatus ReadReplica(const config::Node& node) {
  const config::Map m = node.AsMap();
  ReplicaStatus r;
  r.name = m.Get<std::string>("name");
  r.role = m.Get<std::string>("role");
  r.index = m.Get<int>("index");
  r.state = ReadEnum(m.Get("state"), kReplicaStates, ReplicaStateName);
  r.port = m.Get<int>("port");
  r.pid = m.Get<int64_t>("pid");
  r.start_ticks = m.Get<uint64_t>("startTicks");
  r.restarts = m.Get<int>("restarts");
  if (auto code = m.Find("exitCode")) r.exit_code = code->As<int>();  // null: still running
  r.reason = m.Get<std::string>("reason");
  r.next_start = m.Get<double>("nextStart");
  r.stopping = m.Get<bool>("stopping");
  r.stop_deadline = m.Get<double>("stopDeadline");
  for (const config::Node& gpu : m.Get("gpus").Items()) r.gpus.push_back(gpu.As<int>());
  // Written since metric series were added; older records have none.
  if (auto offsets = m.Find("metricsOffsets")) {
    for (const auto& [path, offset] : offsets->Entries()) {
      r.metrics_offsets[path] = offset.As<uint64_t>();
    }
  }
  m.Read("metricsBadLines", &r.metrics_bad_lines);
  return r;
}

}  // namespace

absl::StatusOr<JobRecord> JobRecordFromJson(const std::string& json, const std::string& source) {
  const std::string origin = source + ": damaged job record";
  const auto j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return absl::DataLossError(origin + ": not JSON");
  JobRecord record;
  const absl::Status st = config::ReadJson(j, origin, [&](const config::Node& root) {
    const config::Map m = root.AsMap();
    record.spec = ReadJobSpec(m.Get("spec"));
    m.Read("tenant", &record.tenant);  // written since tenants were added
    m.Allow({"name", "kind"});         // the spec's, repeated at the top for readers of the API
    record.state = ReadEnum(m.Get("state"), kJobStates, JobStateName);
    record.reason = m.Get<std::string>("reason");
    record.created_at = m.Get<double>("createdAt");
    record.started_at = m.Get<double>("startedAt");
    record.finished_at = m.Get<double>("finishedAt");
    record.restarts = m.Get<int>("restarts");
    record.delete_requested = m.Get<bool>("deleteRequested");
    for (const config::Node& r : m.Get("replicas").Items()) {
      record.replicas.push_back(ReadReplica(r));
    }
  });
  if (!st.ok()) return absl::DataLossError(st.message());
  return record;
}

}  // namespace parasol::control
