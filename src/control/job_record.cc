#include "control/job_record.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"

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

absl::StatusOr<JobRecord> JobRecordFromJson(const std::string& json, const std::string& source) {
  try {
    const auto j = nlohmann::json::parse(json);
    JobRecord record;
    auto spec = ParseJobSpec(j.at("spec").dump(), source + ": spec");
    if (!spec.ok()) return spec.status();
    record.spec = *spec;
    auto state = EnumFromName(j.at("state").get<std::string>(), kJobStates, JobStateName);
    if (!state) return absl::DataLossError(source + ": unknown job state " + j["state"].dump());
    record.state = *state;
    record.reason = j.at("reason").get<std::string>();
    record.created_at = j.at("createdAt").get<double>();
    record.started_at = j.at("startedAt").get<double>();
    record.finished_at = j.at("finishedAt").get<double>();
    record.restarts = j.at("restarts").get<int>();
    record.delete_requested = j.at("deleteRequested").get<bool>();
    for (const auto& rj : j.at("replicas")) {
      ReplicaStatus r;
      r.name = rj.at("name").get<std::string>();
      r.role = rj.at("role").get<std::string>();
      r.index = rj.at("index").get<int>();
      auto rs = EnumFromName(rj.at("state").get<std::string>(), kReplicaStates, ReplicaStateName);
      if (!rs) {
        return absl::DataLossError(
            absl::StrCat(source, ": replica ", r.name, ": unknown state ", rj["state"].dump()));
      }
      r.state = *rs;
      r.port = rj.at("port").get<int>();
      r.pid = rj.at("pid").get<int64_t>();
      r.start_ticks = rj.at("startTicks").get<uint64_t>();
      r.restarts = rj.at("restarts").get<int>();
      if (!rj.at("exitCode").is_null()) r.exit_code = rj["exitCode"].get<int>();
      r.reason = rj.at("reason").get<std::string>();
      r.next_start = rj.at("nextStart").get<double>();
      r.stopping = rj.at("stopping").get<bool>();
      r.stop_deadline = rj.at("stopDeadline").get<double>();
      r.gpus = rj.at("gpus").get<std::vector<int>>();
      r.metrics_offsets = rj.value("metricsOffsets", std::map<std::string, uint64_t>{});
      r.metrics_bad_lines = rj.value("metricsBadLines", 0);
      record.replicas.push_back(r);
    }
    return record;
  } catch (const nlohmann::json::exception& e) {
    return absl::DataLossError(source + ": damaged job record: " + e.what());
  }
}

}  // namespace parasol::control
