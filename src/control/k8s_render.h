// The Kubernetes form of a job: one headless Service (pod DNS for the cluster spec), an indexed
// Job per completing role (worker, chief; or every role when there are none) and a StatefulSet
// per other role (parameter servers), with TF_CONFIG / PARASOL_CLUSTER built from Service DNS
// names, resource requests, GPU limits (nvidia.com/gpu) and node selectors. Rendering only:
// k8s_api.h applies these. Thread-safe (pure functions).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "control/job_spec.h"

namespace parasol::control {

struct K8sRenderOptions {
  std::string kube_namespace = "default";
  // Image for replicas whose spec names none; kind train defaults to kParasolImage.
  std::string image;
  int port = 2222;  // every replica's port; addresses are POD.JOB.NAMESPACE.svc:PORT
};

inline constexpr char kParasolImage[] = "parasol:0.1.0";

// The manifests in apply order (Service first). InvalidArgument naming the field when the spec
// cannot run on Kubernetes (no image, relative workingDir, names too long for pod DNS names).
absl::StatusOr<std::vector<nlohmann::ordered_json>> RenderKubernetes(
    const JobSpec& spec, const K8sRenderOptions& options);

// Multi-document YAML ("---" between manifests), strings quoted where YAML would read them as
// something else.
std::string ManifestsToYaml(const std::vector<nlohmann::ordered_json>& manifests);
// {"apiVersion": "v1", "kind": "List", "items": [...]}.
std::string ManifestsToJson(const std::vector<nlohmann::ordered_json>& manifests);

}  // namespace parasol::control
