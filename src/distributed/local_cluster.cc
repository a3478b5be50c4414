#include "distributed/local_cluster.h"

#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "control/job_supervisor.h"
#include "control/local_backend.h"
#include "ps/checkpoint.h"

namespace parasol {
namespace {

namespace fs = std::filesystem;
using control::JobRecord;
using control::ReplicaState;
using control::ReplicaStatus;

std::string Address(const ReplicaStatus& r) { return absl::StrCat("127.0.0.1:", r.port); }

// The exit code a record holds, -1 when unknown.
int ExitCode(const ReplicaStatus& r) { return r.exit_code.value_or(-1); }

double SecondsNow() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// The backend's state directory (exit files; the replicas' metric lines), removed at the end.
class ScratchDir {
 public:
  static absl::StatusOr<ScratchDir> Create() {
    std::string pattern = (fs::temp_directory_path() / "parasol-cluster-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      return absl::UnavailableError(absl::StrCat("cannot create ", pattern));
    }
    return ScratchDir(pattern);
  }
  ScratchDir(ScratchDir&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }
  ~ScratchDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  explicit ScratchDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

}  // namespace

control::JobSpec LocalClusterJob(const LocalClusterOptions& options,
                                 const std::string& working_dir) {
  control::JobSpec spec;
  spec.name = "cluster";
  spec.kind = control::JobKind::kTrain;
  spec.working_dir = working_dir;
  spec.restart_policy = control::RestartPolicy::kExitCode;
  spec.backoff_limit = options.max_restarts;
  spec.train.servers = options.servers;
  spec.train.workers = options.workers;
  spec.train.flags = options.train_flags;
  spec.train.flags.emplace_back("out", options.out_dir);
  spec.train.checkpoint_every = options.checkpoint_every;
  spec.train.checkpoint_dir = options.checkpoint_root;
  spec.train.keep_checkpoints = options.keep_checkpoints;
  spec.train.restore = options.restore;
  return spec;
}

void LocalClusterLog::Started(const JobRecord& job) {
  std::vector<std::string> addresses;
  for (const auto& r : job.replicas) {
    if (r.role != "ps") continue;
    addresses.push_back(Address(r));
    if (r.state == ReplicaState::kRunning) {
      log::Info("cluster: server {} pid {} on {}", r.index, r.pid, Address(r));
    }
  }
  log::Info("cluster: {} servers ({}), {} workers", addresses.size(),
            absl::StrJoin(addresses, ", "), job.replicas.size() - addresses.size());
  for (const auto& r : job.replicas) {
    if (r.role == "worker" && r.state == ReplicaState::kRunning) {
      log::Info("cluster: worker {} pid {}", r.index, r.pid);
    }
  }
}

void LocalClusterLog::Exited(const JobRecord& job, const ReplicaStatus& r) {
  ++restarts_;
  const int code = ExitCode(r);
  if (r.role == "worker") {
    log::Info("cluster: worker {} killed (signal {}); restart {} of {}", r.index, code - 128,
              restarts_, job.spec.backoff_limit);
    return;
  }
  // Its rows revert to the latest whole checkpoint (or to where the job started without one):
  // the updates its shard received since then are lost.
  auto latest = checkpoint_root_.empty() ? absl::NotFoundError("no checkpoints")
                                         : LatestCheckpoint(checkpoint_root_);
  const std::string from = latest.ok() ? *latest : restore_;
  log::Info("cluster: server {} died (exit {}); restart {} of {} from {}", r.index, code, restarts_,
            job.spec.backoff_limit, from.empty() ? "its initial weights" : from);
}

void LocalClusterLog::Report(const JobRecord& job) {
  if (job.state == control::JobState::kPending) return;
  if (!started_) {
    started_ = true;
    last_ = job.replicas;
    Started(job);
    return;
  }
  for (size_t i = 0; i < job.replicas.size() && i < last_.size(); ++i) {
    const ReplicaStatus& r = job.replicas[i];
    const ReplicaStatus& before = last_[i];
    if (r.restarts > before.restarts) Exited(job, r);
    if (r.state == ReplicaState::kRunning && before.state == ReplicaState::kPending) {
      if (r.role == "worker") {
        log::Info("cluster: worker {} pid {} (resuming)", r.index, r.pid);
      } else {
        log::Info("cluster: server {} pid {} on {}", r.index, r.pid, Address(r));
      }
    }
  }
  last_ = job.replicas;
}

std::string LocalClusterLog::FailureOf(const JobRecord& job) {
  for (const auto& r : job.replicas) {
    if (r.state != ReplicaState::kFailed) continue;
    const std::string exit = r.exit_code ? absl::StrCat("exit ", *r.exit_code)
                                         : absl::StrCat("did not start: ", r.reason);
    if (r.role == "worker")
      return absl::StrCat("worker ", r.index, " failed (", exit, "); job stopped");
    return absl::StrCat("parameter server ", r.index, " died (", exit, ") after ", r.restarts,
                        " restarts; job stopped");
  }
  return absl::StrCat(job.reason, "; job stopped");
}

absl::StatusOr<double> RunLocalCluster(const LocalClusterOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  std::error_code ec;
  const std::string cwd = fs::current_path(ec).string();
  if (ec) return absl::UnavailableError("cannot read the working directory: " + ec.message());
  if (!options.checkpoint_root.empty()) {
    fs::create_directories(options.checkpoint_root, ec);
    if (ec) {
      return absl::UnavailableError(
          absl::StrCat("cannot create ", options.checkpoint_root, ": ", ec.message()));
    }
    if (auto latest = LatestCheckpoint(options.checkpoint_root); latest.ok()) {
      log::Info("cluster: {} has checkpoints: the servers start from {}, the workers resume",
                options.checkpoint_root, *latest);
    }
  }
  ASSIGN_OR_RETURN(ScratchDir state, ScratchDir::Create());
  control::LocalBackendOptions backend_options;
  backend_options.state_dir = state.path();
  backend_options.parasol_binary =
      options.binary.empty() ? fs::read_symlink("/proc/self/exe", ec).string() : options.binary;
  if (backend_options.parasol_binary.empty()) {
    return absl::UnavailableError("cannot find this program (/proc/self/exe): " + ec.message());
  }
  backend_options.log_to_files = false;
  backend_options.replicas_outlive_process = false;
  control::LocalBackend backend(backend_options);
  control::JobSupervisor supervisor(backend);
  JobRecord job;
  job.spec = LocalClusterJob(options, cwd);
  RETURN_IF_ERROR(backend.Admit(job.spec));
  LocalClusterLog events(options.checkpoint_root, options.restore);
  // Until the job has ended and none of its replicas runs any more.
  int stopped_by = 0;
  while (true) {
    if (options.stop_signal != nullptr && *options.stop_signal != 0 && stopped_by == 0) {
      stopped_by = *options.stop_signal;
      log::Info("cluster: stopping the job (signal {})", stopped_by);
      supervisor.Stop(job, absl::StrCat("signal ", stopped_by), SecondsNow());
    }
    supervisor.Step(job, SecondsNow());
    events.Report(job);
    if (control::IsFinal(job.state) && !job.HasLiveReplicas()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (stopped_by != 0 && job.state == control::JobState::kStopped) {
    return absl::CancelledError(absl::StrCat("stopped by signal ", stopped_by, "; job stopped"));
  }
  if (job.state != control::JobState::kSucceeded) {
    return absl::AbortedError(LocalClusterLog::FailureOf(job));
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace parasol
