#include "common/cluster_spec.h"

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/config_reader.h"
#include "common/status_macros.h"

namespace parasol {
namespace {

using nlohmann::json;

const std::vector<std::string>& Role(const ClusterAddresses& cluster, const std::string& role) {
  static const std::vector<std::string>* const kNone = new std::vector<std::string>();
  const auto it = cluster.find(role);
  return it == cluster.end() ? *kNone : it->second;
}

// A role's list of "host:port" (`required`: non-empty).
std::vector<std::string> ReadAddresses(const config::Node& list, bool required) {
  if (!list.IsSequence() || (required && list.Items().empty())) {
    list.Fail("expected a non-empty list of \"host:port\"");
  }
  std::vector<std::string> out;
  for (const config::Node& item : list.Items()) {
    if (!item.IsScalar()) item.Fail("expected a \"host:port\" string");
    const std::string address = item.As<std::string>();
    const size_t colon = address.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == address.size()) {
      item.Fail(absl::StrCat("'", address, "' is not host:port"));
    }
    out.push_back(address);
  }
  return out;
}

ClusterSpec ReadClusterSpec(const config::Node& root) {
  if (!root.IsMap()) root.Fail("expected a JSON object");
  const config::Map m = root.AsMap();
  m.Allow({"environment"});  // TF_CONFIG's, not read
  ClusterSpec spec;
  m.Read("job", &spec.job);
  const config::Node cluster = m.Require("cluster", "an object ROLE: [\"host:port\", ...]");
  if (!cluster.IsMap()) cluster.Fail("expected an object ROLE: [\"host:port\", ...]");
  // Roles are the job's own names. "ps" first and "worker" second, so that the same document
  // gives the same first error as before other roles were read.
  const auto roles = cluster.Entries();
  auto role_node = [&](const std::string& role) -> std::optional<config::Node> {
    for (const auto& [name, node] : roles) {
      if (name == role) return node;
    }
    return std::nullopt;
  };
  const std::optional<config::Node> ps = role_node("ps");
  if (!ps) cluster.AsMap().Require("ps", "a list of \"host:port\"");
  spec.cluster["ps"] = ReadAddresses(*ps, /*required=*/true);
  if (auto workers = role_node("worker")) spec.cluster["worker"] = ReadAddresses(*workers, false);
  for (const auto& [role, node] : roles) {
    if (role != "ps" && role != "worker") spec.cluster[role] = ReadAddresses(node, false);
  }
  const config::Map task = m.Require("task", "an object {type, index}").AsMap();
  task.Allow({"address"});  // PARASOL_CLUSTER's: cluster[type][index]
  const config::Node type = task.Require("type", "\"ps\" or \"worker\"");
  spec.task_type = type.As<std::string>();
  if (spec.task_type != "ps" && spec.task_type != "worker") {
    type.Fail(absl::StrCat("'", spec.task_type, "' is not \"ps\" or \"worker\""));
  }
  const config::Node index = task.Require("index", "an integer");
  spec.task_index = index.As<int>();
  const size_t count = Role(spec.cluster, spec.task_type).size();
  if (spec.task_index < 0 || static_cast<size_t>(spec.task_index) >= count) {
    index.Fail(absl::StrCat(spec.task_index, " is not in [0, ", count, ") (the number of ",
                            spec.task_type, " entries)"));
  }
  return spec;
}

// The JSON written with index -1, whose only "index":-1 becomes the expression.
std::string WithIndex(std::string json, const std::string& index_expression) {
  const std::string placeholder = "\"index\":-1";
  const size_t at = json.find(placeholder);
  if (at != std::string::npos)
    json.replace(at, placeholder.size(), "\"index\":" + index_expression);
  return json;
}

}  // namespace

const std::vector<std::string>& ClusterSpec::servers() const { return Role(cluster, "ps"); }
const std::vector<std::string>& ClusterSpec::workers() const { return Role(cluster, "worker"); }

absl::StatusOr<ClusterSpec> ParseClusterSpec(const std::string& text) {
  const json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    return absl::InvalidArgumentError(absl::StrCat(kClusterEnv, ": not JSON"));
  }
  ClusterSpec spec;
  RETURN_IF_ERROR(config::ReadJson(
      doc, kClusterEnv, [&](const config::Node& root) { spec = ReadClusterSpec(root); }));
  return spec;
}

absl::StatusOr<std::optional<ClusterSpec>> ClusterSpecFromEnv() {
  const char* text = std::getenv(kClusterEnv);
  if (text == nullptr || *text == '\0') return std::optional<ClusterSpec>();
  auto spec = ParseClusterSpec(text);
  if (!spec.ok()) return spec.status();
  return std::optional<ClusterSpec>(*std::move(spec));
}

std::string TfConfigJson(const ClusterSpec& spec) {
  nlohmann::ordered_json j;
  j["cluster"] = nlohmann::json(spec.cluster);  // std::map: roles sorted
  j["task"] = {{"type", spec.task_type}, {"index", spec.task_index}};
  j["environment"] = "cloud";
  return j.dump();
}

std::string ParasolClusterJson(const ClusterSpec& spec) {
  nlohmann::ordered_json j;
  j["job"] = spec.job;
  j["cluster"] = nlohmann::json(spec.cluster);
  j["task"] = {{"type", spec.task_type}, {"index", spec.task_index}};
  const std::vector<std::string>& addresses = Role(spec.cluster, spec.task_type);
  if (spec.task_index >= 0 && spec.task_index < static_cast<int>(addresses.size())) {
    j["task"]["address"] = addresses[spec.task_index];
  }
  return j.dump();
}

std::string TfConfigJson(const ClusterAddresses& cluster, const std::string& role, int index) {
  return TfConfigJson(ClusterSpec{"", cluster, role, index});
}

std::string ParasolClusterJson(const std::string& job, const ClusterAddresses& cluster,
                               const std::string& role, int index) {
  return ParasolClusterJson(ClusterSpec{job, cluster, role, index});
}

std::string TfConfigTemplate(const ClusterAddresses& cluster, const std::string& role,
                             const std::string& index_expression) {
  return WithIndex(TfConfigJson(cluster, role, -1), index_expression);
}

std::string ParasolClusterTemplate(const std::string& job, const ClusterAddresses& cluster,
                                   const std::string& role, const std::string& index_expression) {
  return WithIndex(ParasolClusterJson(job, cluster, role, -1), index_expression);
}

}  // namespace parasol
