// Cluster membership as one JSON document, the way a launcher or a Kubernetes headless Service
// provides it (env PARASOL_CLUSTER; the same shape as TensorFlow's TF_CONFIG):
//   {"cluster": {"ps": ["host:port", ...], "worker": ["host:port", ...]},
//    "task": {"type": "ps" | "worker", "index": 0}}
// Server i of "ps" owns shard i; workers read "ps" in order. Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace parasol {

struct ClusterSpec {
  std::vector<std::string> servers;  // "ps"
  std::vector<std::string> workers;  // "worker"
  std::string task_type;             // "ps" or "worker"
  int task_index = 0;
};

inline constexpr char kClusterEnv[] = "PARASOL_CLUSTER";

// Errors name the field: `PARASOL_CLUSTER: cluster.ps: expected a non-empty list of "host:port"`.
absl::StatusOr<ClusterSpec> ParseClusterSpec(const std::string& json);

// The spec in PARASOL_CLUSTER, or nullopt when the variable is unset or empty.
absl::StatusOr<std::optional<ClusterSpec>> ClusterSpecFromEnv();

}  // namespace parasol
