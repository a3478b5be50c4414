// A whole distributed job on this machine (`parasol cluster`): S `parasol ps server` processes and
// W `parasol ps worker` processes on loopback, supervised until the workers finish, then the model
// directory `parasol train` would write. A worker killed by a signal is restarted and resumes its
// share; a killed server is restarted from the newest checkpoint; a worker that fails stops the
// job; no process outlives the call. Checkpoints follow `schedule`. Events are logged
// ("cluster: ..."). Not thread-safe: one job per call, and it reaps this process's children.
//
// Not yet: this is a second process supervisor beside the control plane's JobSupervisor with its
// local backend, which `parasol cluster` is to run on (issue 10, §3).
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "distributed/checkpoint_schedule.h"
#include "train/train_config.h"

namespace parasol {

struct LocalClusterOptions {
  TrainConfig config;  // resolved; out_dir is where the model goes
  int servers = 1;
  int workers = 1;
  CheckpointSchedule schedule;
  std::string checkpoint_root;  // empty: no checkpoints (restarted servers start from scratch)
  int keep_checkpoints = 5;
  std::string restore;                    // servers start from this checkpoint or model directory
  int max_restarts = 3;                   // per process
  std::string binary = "/proc/self/exe";  // the parasol binary the children run
  std::vector<std::string> worker_args;   // training flags every worker gets
};

// Runs the job; returns its wall seconds, or the failure that stopped it (a model its workers
// refuse, such as the averaged perceptron, fails them and so the job).
absl::StatusOr<double> RunLocalCluster(const LocalClusterOptions& options);

}  // namespace parasol
