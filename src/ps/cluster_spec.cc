#include "ps/cluster_spec.h"

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"

namespace parasol {
namespace {

using nlohmann::json;

absl::Status Bad(const std::string& field, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat(kClusterEnv, ": ", field, ": ", what));
}

absl::StatusOr<std::vector<std::string>> Addresses(const json& cluster, const char* role,
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

}  // namespace

absl::StatusOr<ClusterSpec> ParseClusterSpec(const std::string& text) {
  const json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return Bad("(document)", "not a JSON object");
  if (!doc.contains("cluster") || !doc["cluster"].is_object()) {
    return Bad("cluster", "missing or not an object");
  }
  ClusterSpec spec;
  auto servers = Addresses(doc["cluster"], "ps", /*required=*/true);
  if (!servers.ok()) return servers.status();
  spec.servers = *std::move(servers);
  auto workers = Addresses(doc["cluster"], "worker", /*required=*/false);
  if (!workers.ok()) return workers.status();
  spec.workers = *std::move(workers);
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
  const size_t count = spec.task_type == "ps" ? spec.servers.size() : spec.workers.size();
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

}  // namespace parasol
