// `parasol job submit|list|describe|logs|metrics|stop|delete|render|apply`: the control service's
// command-line client (src/control/control_client.h). Tables for people, --json for scripts.
// Registered by commands.cc; single-threaded.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "control/control_client.h"
#include "control/k8s_api.h"

namespace parasol {

struct JobFlags {
  std::string endpoint;  // --endpoint, else $PARASOL_ENDPOINT, else the default
  std::string file;      // submit -f
  std::string name;      // describe/logs/stop/delete NAME
  std::string replica;   // logs --replica
  bool watch = false, json = false, follow = false;
  // render, apply
  std::string backend = "k8s", kube_namespace, image, output = "yaml", kubeconfig, context;
};

// Where the Kubernetes API is: --kubeconfig, else $KUBECONFIG, else the pod's service account
// (inside a cluster), else ~/.kube/config; `context` "" is the current one.
absl::StatusOr<control::K8sConnection> KubernetesConnection(const std::string& kubeconfig,
                                                            const std::string& context);

// A client of the control service at `endpoint_flag` (else $PARASOL_ENDPOINT, else the default),
// signing with PARASOL_ACCESS_KEY_ID/PARASOL_SECRET_ACCESS_KEY when set, else the [default]
// section of ~/.parasol/credentials when it exists (PARASOL_REGION overrides the region).
absl::StatusOr<std::unique_ptr<control::ControlClient>> ConnectControl(
    const std::string& endpoint_flag);

// Prints `rows` as columns padded to their widest cell, each line starting with `indent`.
void PrintTable(const std::vector<std::vector<std::string>>& rows, const std::string& indent);

// Adds `job` and its sub-commands; returns the `job` command (RunJob needs it).
CLI::App* AddJobCommand(CLI::App& app, JobFlags& flags);
int RunJob(const CLI::App& job_command, const JobFlags& flags);

}  // namespace parasol
