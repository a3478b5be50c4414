// The local backend: each replica is a real process on this machine, in its own session and
// process group, under a `parasol replica-exec` shim that records its exit code. Replicas survive
// a restart of the control service and are re-attached by (pid, start time). CPU, memory and GPUs
// are reserved per job; a job that does not fit waits as Pending. Thread-compatible (the service
// serializes calls).
//
// Layout under STATE_DIR/jobs/NAME/: logs/REPLICA.log (stdout+stderr of every attempt, kept
// after the job ends), exit/REPLICA.exit (the last attempt's exit code), metrics/REPLICA.jsonl
// (metric lines the replica reports), work/ (the default working directory).
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>

#include "common/subprocess.h"
#include "control/job_backend.h"

namespace parasol::control {

struct LocalBackendOptions {
  std::string state_dir;
  std::string parasol_binary;     // runs the shim and kind-train jobs
  double cpu_capacity = 0;        // cores that jobs may reserve; 0: this machine's
  int64_t memory_capacity = 0;    // bytes; 0: this machine's
  int gpus = 0;                   // devices 0..gpus-1 handed out via CUDA_VISIBLE_DEVICES
  double stop_grace_seconds = 5;  // SIGTERM to SIGKILL
};

class LocalBackend : public JobBackend {
 public:
  explicit LocalBackend(LocalBackendOptions options);
  ~LocalBackend() override;

  absl::Status Admit(const JobSpec& spec) override;
  bool Reconcile(JobRecord& job, double now) override;
  void RequestStop(JobRecord& job, const std::string& reason, double now) override;
  void Recover(JobRecord& job, double now) override;
  std::vector<MetricPoint> CollectMetrics(JobRecord& job, double now) override;
  absl::StatusOr<std::string> ReadLog(const JobRecord& job, const std::string& replica,
                                      uint64_t offset, size_t max_bytes) override;
  absl::Status Remove(const JobRecord& job) override;

  std::string JobDir(const std::string& job) const;
  std::string LogPath(const std::string& job, const std::string& replica) const;
  // Where a replica appends metric lines ($PARASOL_METRICS_FILE; see metrics_log.h).
  std::string MetricsPath(const std::string& job, const std::string& replica) const;

 private:
  struct Reservation {
    double cpu = 0;
    int64_t memory = 0;
    std::vector<int> gpus;
  };

  // Reserves what `job` needs; false (and job.reason says why) when it does not fit now.
  bool Reserve(JobRecord& job, const JobSpec& expanded);
  void Release(const std::string& job);
  absl::Status StartJob(JobRecord& job, const JobSpec& expanded, double now);
  absl::Status StartReplica(JobRecord& job, const JobSpec& expanded, ReplicaStatus& replica);
  // The replica's exit code if its process has ended: >= 0, or -1 when unknown; nullopt while
  // it runs.
  std::optional<int> PollReplica(const JobRecord& job, ReplicaStatus& replica);
  void HandleExit(JobRecord& job, ReplicaStatus& replica, int code, double now);
  void StopReplica(ReplicaStatus& replica, double now);
  // The directory a replica of `role` starts in.
  std::string WorkingDir(const JobRecord& job, const JobSpec& expanded,
                         const ReplicaSpec& role) const;

  LocalBackendOptions options_;
  // Replicas started by this process, by pid; re-attached ones are watched through /proc.
  std::map<int64_t, std::unique_ptr<Subprocess>> children_;
  std::map<std::string, Reservation> reserved_;
};

// A loopback TCP port that was free a moment ago (bound to port 0, then released).
absl::StatusOr<int> PickFreePort();

// Whether process `pid` is alive (not a zombie) and started at `start_ticks` (/proc/PID/stat).
bool ProcessAlive(int64_t pid, uint64_t start_ticks);
// The start time of `pid` in clock ticks since boot; 0 when it does not exist.
uint64_t ProcessStartTicks(int64_t pid);

}  // namespace parasol::control
