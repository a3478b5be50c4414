// A whole distributed job on this machine (`parasol cluster`): S `parasol ps server` processes and
// W `parasol ps worker` processes on loopback until the workers finish and worker 0 has written
// the model directory `parasol train` would write. It is the control plane's `kind: train` job
// (control/job_spec.h), run by the same JobSupervisor over a LocalBackend held in this process:
// a killed worker is restarted and resumes its share, a killed server is restarted from the
// newest checkpoint (worker 0 checkpoints on the schedule), a worker that fails stops the job,
// and no process outlives the call. What happens is logged as "cluster: ..." lines; the
// replicas write to this process's stdout and stderr. Not thread-safe: one job per call.
#pragma once

#include <csignal>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "control/job_record.h"
#include "control/job_spec.h"

namespace parasol {

struct LocalClusterOptions {
  std::string out_dir;  // where worker 0 writes the model
  int servers = 1;
  int workers = 1;
  std::string checkpoint_every;  // "30s", "500" (worker batches) or "" (only at the end)
  std::string checkpoint_root;   // empty: no checkpoints (restarted servers start afresh)
  int keep_checkpoints = 5;
  std::string restore;   // servers start from this checkpoint or model directory (no LATEST yet)
  int max_restarts = 3;  // restarts of killed replicas over the whole job (its backoffLimit)
  std::string binary;    // the parasol binary the replicas run; empty: this process's
  // Training flags every server and worker gets, as --KEY VALUE (not --out: see out_dir).
  std::vector<std::pair<std::string, std::string>> train_flags;
  // When set and it turns non-zero (the caller's signal handler stores the signal number), the
  // job is stopped as the supervisor stops any: SIGTERM to every replica, SIGKILL after 5 s.
  const volatile std::sig_atomic_t* stop_signal = nullptr;
};

// The kind-train job the options describe, named "cluster", working in `working_dir`: restart
// policy ExitCode (killed replicas, 128-255, are restarted; a worker's own failure is final)
// within backoffLimit = max_restarts.
control::JobSpec LocalClusterJob(const LocalClusterOptions& options,
                                 const std::string& working_dir);

// Writes the "cluster: ..." lines for what changed in a LocalClusterJob's record since the last
// call: the replicas' pids once it runs, each restart (servers with the checkpoint they come
// back from), each replica started again. Thread-compatible.
class LocalClusterLog {
 public:
  explicit LocalClusterLog(std::string checkpoint_root, std::string restore)
      : checkpoint_root_(std::move(checkpoint_root)), restore_(std::move(restore)) {}

  void Report(const control::JobRecord& job);

  // Why a job that did not succeed failed, as `parasol cluster` says it ("worker 1 failed
  // (exit 1); job stopped").
  static std::string FailureOf(const control::JobRecord& job);

 private:
  void Started(const control::JobRecord& job);
  void Exited(const control::JobRecord& job, const control::ReplicaStatus& r);

  const std::string checkpoint_root_;
  const std::string restore_;
  bool started_ = false;
  int restarts_ = 0;
  std::vector<control::ReplicaStatus> last_;
};

// Runs the job; returns its wall seconds, or the failure that stopped it (a model its workers
// refuse, such as the averaged perceptron, fails them and so the job; Cancelled after
// `stop_signal`). Returns only once none of its processes runs.
absl::StatusOr<double> RunLocalCluster(const LocalClusterOptions& options);

}  // namespace parasol
