// Cluster membership of a distributed job, the one type shared by its writer (the control
// plane, which hands it to each replica) and its readers (parameter servers and workers). Two
// JSON forms, both exactly as written here:
//   TF_CONFIG (exactly TensorFlow's format, for TensorFlow-style tools):
//     {"cluster":{"ps":[...],"worker":[...]},"task":{"type":"worker","index":0},"environment":"cloud"}
//   PARASOL_CLUSTER (what Parasol's servers and workers read):
//     {"job":NAME,"cluster":{...},"task":{"type":ROLE,"index":I,"address":"host:port"}}
// Roles are written in lexicographic order with addresses by replica index, no spaces. Server i of
// "ps" owns shard i; workers read "ps" in order. Pure functions (ClusterSpecFromEnv reads the
// environment); thread-safe.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace parasol {

inline constexpr char kClusterEnv[] = "PARASOL_CLUSTER";

// role -> addresses ("host:port"), ordered by replica index.
using ClusterAddresses = std::map<std::string, std::vector<std::string>>;

struct ClusterSpec {
  std::string job;           // PARASOL_CLUSTER's "job"; not part of TF_CONFIG (empty there)
  ClusterAddresses cluster;  // every role of the job
  std::string task_type;     // this replica's role
  int task_index = 0;        // this replica's index within its role

  // cluster["ps"] and cluster["worker"], empty when the role is absent.
  const std::vector<std::string>& servers() const;
  const std::vector<std::string>& workers() const;

  bool operator==(const ClusterSpec&) const = default;
};

// Reads PARASOL_CLUSTER (or TF_CONFIG: "environment" is ignored, "job" is optional) for a
// parameter server or a worker: "cluster.ps" must be a non-empty list, every role a list of
// "host:port", task.type "ps" or "worker" and task.index within its role; task.address, when
// present, is not read (it is cluster[type][index]). Errors name the field:
// `PARASOL_CLUSTER: cluster.ps: expected a non-empty list of "host:port"`.
absl::StatusOr<ClusterSpec> ParseClusterSpec(const std::string& json);

// The spec in PARASOL_CLUSTER, or nullopt when the variable is unset or empty.
absl::StatusOr<std::optional<ClusterSpec>> ClusterSpecFromEnv();

// The two forms of `spec` (see the top of this file). ParasolClusterJson writes task.address when
// cluster[task_type] has an entry at task_index.
std::string TfConfigJson(const ClusterSpec& spec);
std::string ParasolClusterJson(const ClusterSpec& spec);

// The same, for the replica `index` of `role` in `cluster` (the control plane's form).
std::string TfConfigJson(const ClusterAddresses& cluster, const std::string& role, int index);
std::string ParasolClusterJson(const std::string& job, const ClusterAddresses& cluster,
                               const std::string& role, int index);

// TfConfigJson / ParasolClusterJson with the task index left to `index_expression`, written
// into the JSON as is (e.g. "$(PARASOL_REPLICA_INDEX)" for Kubernetes to expand); no "address".
std::string TfConfigTemplate(const ClusterAddresses& cluster, const std::string& role,
                             const std::string& index_expression);
std::string ParasolClusterTemplate(const std::string& job, const ClusterAddresses& cluster,
                                   const std::string& role, const std::string& index_expression);

}  // namespace parasol
