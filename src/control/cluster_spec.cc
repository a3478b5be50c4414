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

}  // namespace parasol::control
