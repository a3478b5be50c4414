// The local backend: each replica is a real process on this machine, in its own session and
// process group, under a `parasol replica-exec` shim that records its exit code. Replicas survive
// a restart of the control service and are re-attached by (pid, start time). CPU, memory and GPUs
// are reserved per job; a job that does not fit waits as Pending. Reports exits; the job
// supervisor decides what they mean. Thread-compatible (the service serializes calls).
//
// Two uses: the control service (replicas outlive it, logs in files) and `parasol cluster`
// (LocalBackendOptions: replicas die with it and write to its terminal).
//
// Layout under STATE_DIR/jobs/NAME/: logs/REPLICA.log (stdout+stderr of every attempt, kept
// after the job ends), exit/REPLICA.exit (the last attempt's exit code), metrics/REPLICA.jsonl
// (metric lines the replica reports), work/ (the default working directory).
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/subprocess.h"
#include "control/job_backend.h"

namespace parasol::control {

struct LocalBackendOptions {
  std::string state_dir;
  std::string parasol_binary;   // runs the shim and kind-train jobs
  double cpu_capacity = 0;      // cores that jobs may reserve; 0: this machine's
  int64_t memory_capacity = 0;  // bytes; 0: this machine's
  int gpus = 0;                 // devices 0..gpus-1 handed out via CUDA_VISIBLE_DEVICES
  // False: replicas write their stdout and stderr to this process's stderr instead of
  // logs/REPLICA.log (a supervisor in a terminal, `parasol cluster`); ReadLog then finds nothing.
  bool log_to_files = true;
  // False: the kernel kills every replica (SIGKILL) when this process dies, so none outlives an
  // in-process supervisor (`parasol cluster`); Recover then has nothing to re-attach.
  bool replicas_outlive_process = true;
};

// A loopback TCP port held for a replica while its job runs: a socket bound to it with
// SO_REUSEADDR and SO_REUSEPORT that never listens. While it is held no bind to port 0 and no
// outgoing connection on this machine is given the port (so parallel jobs and tests never race
// for it), yet the replica can bind and listen on it as long as its listener sets SO_REUSEADDR
// or SO_REUSEPORT, as gRPC, cpp-httplib and the servers of Python, Go, Node and Java do.
// Move-only; the port is free again when the object is destroyed.
class HeldPort {
 public:
  // A free port (the kernel's choice), or `port` itself (Unavailable when it is taken).
  static absl::StatusOr<HeldPort> Hold(int port = 0);
  HeldPort(HeldPort&& other) noexcept;
  HeldPort& operator=(HeldPort&& other) noexcept;
  ~HeldPort();
  int port() const { return port_; }

 private:
  HeldPort(int fd, int port) : fd_(fd), port_(port) {}
  int fd_ = -1;
  int port_ = 0;
};

class LocalBackend : public JobBackend {
 public:
  explicit LocalBackend(LocalBackendOptions options);
  ~LocalBackend() override;

  absl::Status Admit(const JobSpec& spec) override;
  // Reserves the job's resources and a held loopback port per replica, and creates its
  // directories.
  absl::StatusOr<bool> Place(JobRecord& job, std::string* waiting) override;
  // Spawns the replica's command under the shim, in its own session, with its environment.
  absl::Status StartReplica(const JobRecord& job, ReplicaStatus& replica) override;
  // SIGTERM (SIGKILL with `force`) to each replica's process group.
  std::vector<std::string> StopReplicas(const JobRecord& job,
                                        const std::vector<std::string>& replicas,
                                        bool force) override;
  // Exits of started processes (waitpid) and re-attached ones (/proc, then the exit file); what
  // an exited replica left in its process group is killed.
  absl::StatusOr<std::vector<ReplicaEvent>> Poll(JobRecord& job, double now) override;
  void Release(const JobRecord& job) override;
  std::vector<ReplicaEvent> Recover(JobRecord& job) override;
  CollectedMetrics CollectMetrics(JobRecord& job, double now) override;
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
    std::vector<HeldPort> ports;
  };

  // Reserves what the job needs; false (and *waiting says why) when it does not fit now.
  bool Reserve(const std::string& job, const JobSpec& expanded, std::string* waiting);
  // The replica's exit code if its process has ended: >= 0, or -1 when unknown; nullopt while
  // it runs.
  std::optional<int> PollReplica(const JobRecord& job, const ReplicaStatus& replica);
  // The directory a replica of `role` starts in.
  std::string WorkingDir(const JobRecord& job, const JobSpec& expanded,
                         const ReplicaSpec& role) const;

  LocalBackendOptions options_;
  // Replicas started by this process, by pid; re-attached ones are watched through /proc.
  std::map<int64_t, std::unique_ptr<Subprocess>> children_;
  std::map<std::string, Reservation> reserved_;
};

// Whether process `pid` is alive (not a zombie) and started at `start_ticks` (/proc/PID/stat).
bool ProcessAlive(int64_t pid, uint64_t start_ticks);
// The start time of `pid` in clock ticks since boot; 0 when it does not exist.
uint64_t ProcessStartTicks(int64_t pid);

}  // namespace parasol::control
