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
  // Memory bounds: admission after this many pushed sightings; eviction after this idle time.
  uint32_t min_count = 0;
  double ttl_seconds = 0;
  // Checkpoints: where Checkpoint requests write; a checkpoint (or model directory) to start
  // from, keeping the keys of shard `shard` of `num_shards`; and whether to take its worker
  // clocks too (the launcher restarting a killed server of a running job).
  std::string checkpoint_dir, restore;
  int shard = 0, num_shards = 1;
  bool restore_clocks = false;
  bool restore_latest = false;  // start from LATEST under checkpoint_dir when there is one
  // The job's training flags (after "--"), as its workers get them: when given, they decide the
  // model and optimizer (config file, FFM fields from the schema) instead of --model, --k, ...
  std::vector<std::string> train_args;
  // Dense tables, "NAME:SIZE" each: this server holds its index range of each (same optimizer).
  std::vector<std::string> dense;
  CLI::Option* listen_flag = nullptr;
};

struct PsWorkerFlags {
  TrainFlags train;
  std::string servers;  // comma-separated HOST:PORT
  int worker_index = 0, num_workers = 1;
  bool resume = false;        // skip the batches server 0 says this worker already finished
  double retry_seconds = 60;  // how long calls wait for an unavailable server
  // Worker 0 checkpoints the servers (a job without a launcher): "30s", "500" (worker batches).
  std::string checkpoint_every;
  std::string checkpoint_dir;  // the servers' --checkpoint-dir
  int keep_checkpoints = 5;
};

struct PsCheckpointFlags {
  std::string servers;     // comma-separated HOST:PORT
  std::string dir;         // checkpoint root (the servers' --checkpoint-dir)
  std::string model_from;  // a model directory or checkpoint describing the servers' model
};

struct ClusterFlags {
  TrainFlags train;
  int servers = 1, workers = 1;
  std::string checkpoint_every;  // "30s" (seconds) or "500" (worker batches); empty: none
  std::string checkpoint_dir;    // default OUT/checkpoints
  int keep_checkpoints = 5;      // newest whole ones kept (with their delta bases); 0: all
  std::string restore;           // start the servers from this checkpoint
  int max_restarts = 3;          // per process, for killed servers and workers
};

// `ps` with its `server`, `worker` and `checkpoint` sub-commands; returns the `ps` command.
CLI::App* AddPsCommand(CLI::App& app, PsServerFlags& server, PsWorkerFlags& worker,
                       PsCheckpointFlags& checkpoint);
// Serves until SIGINT or SIGTERM; exit code.
int RunPsServer(const PsServerFlags& flags);
int RunPsWorker(const PsWorkerFlags& flags);
int RunPsCheckpoint(const PsCheckpointFlags& flags);

void AddClusterCommand(CLI::App& app, ClusterFlags& flags);
// `argv0`: this binary; `args`: the cluster command's own arguments, passed on to workers.
int RunCluster(const ClusterFlags& flags, const std::string& argv0,
               const std::vector<std::string>& args);

}  // namespace parasol
