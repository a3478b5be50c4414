#include "control/cluster_spec.h"

#include <nlohmann/json.hpp>

namespace parasol::control {

std::string TfConfigJson(const ClusterAddresses& cluster, const std::string& role, int index) {
  nlohmann::ordered_json j;
  j["cluster"] = nlohmann::json(cluster);  // std::map: roles sorted
  j["task"] = {{"type", role}, {"index", index}};
  j["environment"] = "cloud";
  return j.dump();
}

std::string ParasolClusterJson(const std::string& job, const ClusterAddresses& cluster,
                               const std::string& role, int index) {
  nlohmann::ordered_json j;
  j["job"] = job;
  j["cluster"] = nlohmann::json(cluster);
  j["task"] = {{"type", role}, {"index", index}};
  const auto it = cluster.find(role);
  if (it != cluster.end() && index >= 0 && index < static_cast<int>(it->second.size())) {
    j["task"]["address"] = it->second[index];
  }
  return j.dump();
}

namespace {
// The JSON written with index -1, whose only "index":-1 becomes the expression.
std::string WithIndex(std::string json, const std::string& index_expression) {
  const std::string placeholder = "\"index\":-1";
  const size_t at = json.find(placeholder);
  if (at != std::string::npos)
    json.replace(at, placeholder.size(), "\"index\":" + index_expression);
  return json;
}
}  // namespace

std::string TfConfigTemplate(const ClusterAddresses& cluster, const std::string& role,
                             const std::string& index_expression) {
  return WithIndex(TfConfigJson(cluster, role, -1), index_expression);
}

std::string ParasolClusterTemplate(const std::string& job, const ClusterAddresses& cluster,
                                   const std::string& role, const std::string& index_expression) {
  return WithIndex(ParasolClusterJson(job, cluster, role, -1), index_expression);
}

}  // namespace parasol::control
