// `parasol control`: runs the control service (REST API + SQLite + local backend, see
// src/control/README.md) until SIGINT/SIGTERM. `parasol replica-exec` is the internal shim the
// local backend runs each replica under. Registered by commands.cc.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace parasol {

struct ControlFlags {
  std::string listen = "127.0.0.1:7900";
  std::string state_dir;
  double cpus = 0;        // 0: this machine's cores
  int64_t memory_mb = 0;  // 0: this machine's memory
  int gpus = 0;
  // --auth: SigV4-signed requests, tenants, quotas and the audit log (control/auth/README.md).
  bool auth = false;
  std::string region = "local";
  std::string master_key;  // default ~/.parasol/control-master.key
  // --backend k8s: where and how jobs run on Kubernetes.
  std::string backend = "local", kubeconfig, context, kube_namespace, image;
};

// Adds the `control` sub-command, whose flags land in *flags (which must outlive parsing).
CLI::App* AddControlCommand(CLI::App& app, ControlFlags& flags);
int RunControl(const ControlFlags& flags);

// `parasol replica-exec --exit-file FILE -- COMMAND...`: argv after the word replica-exec.
int RunReplicaExec(const std::vector<std::string>& args);

}  // namespace parasol
