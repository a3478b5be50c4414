// `parasol ps server`: one parameter-server process (see src/ps/README.md).
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "cli/train_flags.h"

namespace parasol {

struct PsServerFlags {
  std::string listen = "127.0.0.1:9100";
  std::string model = "lr", optimizer = "adagrad", table = "weights";
  float lr = 0, l1 = 0, l2 = 0, init_scale = 0.01f;
  float ftrl_beta = 1.0f, adam_beta1 = 0.9f, adam_beta2 = 0.999f, epsilon = 1e-8f;
  int k = 8, fields = 1;
  uint64_t seed = 1;
};

struct PsWorkerFlags {
  TrainFlags train;
  std::string servers;  // comma-separated HOST:PORT
  int worker_index = 0, num_workers = 1;
};

struct ClusterFlags {
  TrainFlags train;
  int servers = 1, workers = 1;
};

// `ps` with its `server` and `worker` sub-commands; returns the `ps` command.
CLI::App* AddPsCommand(CLI::App& app, PsServerFlags& server, PsWorkerFlags& worker);
// Serves until SIGINT or SIGTERM; exit code.
int RunPsServer(const PsServerFlags& flags);
int RunPsWorker(const PsWorkerFlags& flags);

void AddClusterCommand(CLI::App& app, ClusterFlags& flags);
// `argv0`: this binary; `args`: the cluster command's own arguments, passed on to workers.
int RunCluster(const ClusterFlags& flags, const std::string& argv0,
               const std::vector<std::string>& args);

}  // namespace parasol
