// The cluster spec handed to each replica of a distributed job: every role's addresses in index
// order, as TF_CONFIG (exactly TensorFlow's format) and as PARASOL_CLUSTER. Backends supply the
// addresses (loopback ports locally, Service DNS names on Kubernetes). Thread-safe (pure).
#pragma once

#include <map>
#include <string>
#include <vector>

namespace parasol::control {

// role -> addresses ("host:port"), ordered by replica index.
using ClusterAddresses = std::map<std::string, std::vector<std::string>>;

// {"cluster":{"ps":[...],"worker":[...]},"task":{"type":"worker","index":0},"environment":"cloud"}
// with roles in lexicographic order, no spaces.
std::string TfConfigJson(const ClusterAddresses& cluster, const std::string& role, int index);

// {"job":NAME,"cluster":{...},"task":{"type":ROLE,"index":I,"address":"host:port"}}
std::string ParasolClusterJson(const std::string& job, const ClusterAddresses& cluster,
                               const std::string& role, int index);

// TfConfigJson / ParasolClusterJson with the task index left to `index_expression`, written
// into the JSON as is (e.g. "$(PARASOL_REPLICA_INDEX)" for Kubernetes to expand); no "address".
std::string TfConfigTemplate(const ClusterAddresses& cluster, const std::string& role,
                             const std::string& index_expression);
std::string ParasolClusterTemplate(const std::string& job, const ClusterAddresses& cluster,
                                   const std::string& role, const std::string& index_expression);

}  // namespace parasol::control
