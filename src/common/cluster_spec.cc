#include "common/cluster_spec.h"

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <utility>

#include "absl/strings/str_cat.h"

namespace parasol {
namespace {

using nlohmann::json;

absl::Status Bad(const std::string& field, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat(kClusterEnv, ": ", field, ": ", what));
}

// cluster[role] as a list of "host:port"; `required`: present and non-empty.
absl::StatusOr<std::vector<std::string>> Addresses(const json& cluster, const std::string& role,
                                                   bool required) {
  std::vector<std::string> out;
  const std::string field = absl::StrCat("cluster.", role);
  if (!cluster.contains(role)) {
    if (required) return Bad(field, "missing (a list of \"host:port\")");
    return out;
  }
  const json& list = cluster[role];
  if (!list.is_array() || (required && list.empty())) {
    return Bad(field, "expected a non-empty list of \"host:port\"");
  }
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string item = absl::StrCat(field, "[", i, "]");
    if (!list[i].is_string()) return Bad(item, "expected a \"host:port\" string");
    const std::string address = list[i].get<std::string>();
    const size_t colon = address.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == address.size()) {
      return Bad(item, absl::StrCat("'", address, "' is not host:port"));
    }
    out.push_back(address);
  }
  return out;
}

const std::vector<std::string>& Role(const ClusterAddresses& cluster, const std::string& role) {
  static const std::vector<std::string>* const kNone = new std::vector<std::string>();
  const auto it = cluster.find(role);
  return it == cluster.end() ? *kNone : it->second;
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
  if (doc.is_discarded() || !doc.is_object()) return Bad("(document)", "not a JSON object");
  if (!doc.contains("cluster") || !doc["cluster"].is_object()) {
    return Bad("cluster", "missing or not an object");
  }
  ClusterSpec spec;
  if (doc.contains("job")) {
    if (!doc["job"].is_string()) return Bad("job", "expected a string");
    spec.job = doc["job"].get<std::string>();
  }
  const json& cluster = doc["cluster"];
  // "ps" first and "worker" second, as before roles other than these were read, so the same
  // document gives the same first error.
  for (const char* role : {"ps", "worker"}) {
    auto addresses = Addresses(cluster, role, /*required=*/std::string(role) == "ps");
    if (!addresses.ok()) return addresses.status();
    if (cluster.contains(role)) spec.cluster[role] = *std::move(addresses);
  }
  for (const auto& [role, unused] : cluster.items()) {
    if (role == "ps" || role == "worker") continue;
    auto addresses = Addresses(cluster, role, /*required=*/false);
    if (!addresses.ok()) return addresses.status();
    spec.cluster[role] = *std::move(addresses);
  }
  if (!doc.contains("task") || !doc["task"].is_object()) {
    return Bad("task", "missing or not an object");
  }
  const json& task = doc["task"];
  if (!task.contains("type") || !task["type"].is_string()) {
    return Bad("task.type", "expected \"ps\" or \"worker\"");
  }
  spec.task_type = task["type"].get<std::string>();
  if (spec.task_type != "ps" && spec.task_type != "worker") {
    return Bad("task.type", absl::StrCat("'", spec.task_type, "' is not \"ps\" or \"worker\""));
  }
  if (!task.contains("index") || !task["index"].is_number_integer()) {
    return Bad("task.index", "expected an integer");
  }
  spec.task_index = task["index"].get<int>();
  const size_t count = Role(spec.cluster, spec.task_type).size();
  if (spec.task_index < 0 || static_cast<size_t>(spec.task_index) >= count) {
    return Bad("task.index", absl::StrCat(spec.task_index, " is not in [0, ", count,
                                          ") (the number of ", spec.task_type, " entries)"));
  }
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
