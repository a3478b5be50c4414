#include "distributed/local_cluster.h"

#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "common/subprocess.h"
#include "distributed/worker.h"
#include "ps/checkpoint.h"
#include "ps/grpc_transport.h"
#include "train/training_input.h"

namespace parasol {
namespace {

// A child process of this binary; killed (SIGKILL) if still running when destroyed, and by the
// kernel if the launcher dies first. Null when it could not be started.
std::unique_ptr<Subprocess> StartChild(const std::string& binary,
                                       const std::vector<std::string>& args, bool capture_stdout) {
  SpawnOptions options;
  options.argv = {binary};
  options.argv.insert(options.argv.end(), args.begin(), args.end());
  options.capture_stdout = capture_stdout;
  options.die_with_parent = true;
  auto child = Subprocess::Spawn(options);
  return child.ok() ? std::move(*child) : nullptr;
}

// The server flags that give every server the job's model and optimizer.
std::vector<std::string> ServerArgs(const ModelSpec& spec, const OptimizerConfig& opt,
                                    int servers) {
  return {"ps",           "server",
          "--model",      ModelTypeName(spec.type),
          "--k",          absl::StrCat(spec.k),
          "--fields",     absl::StrCat(spec.num_fields),
          "--seed",       absl::StrCat(spec.seed),
          "--init-scale", absl::StrCat(spec.init_scale),
          "--optimizer",  opt.name,
          "--lr",         absl::StrCat(opt.lr),
          "--l1",         absl::StrCat(opt.l1),
          "--l2",         absl::StrCat(opt.l2),
          "--ftrl-beta",  absl::StrCat(opt.ftrl_beta),
          "--adam-beta1", absl::StrCat(opt.adam_beta1),
          "--adam-beta2", absl::StrCat(opt.adam_beta2),
          "--epsilon",    absl::StrCat(opt.epsilon),
          "--num-shards", absl::StrCat(servers)};
}

class LocalCluster {
 public:
  LocalCluster(const LocalClusterOptions& options, const PreparedTraining& prepared)
      : o_(options),
        prepared_(prepared),
        server_args_(
            ServerArgs(prepared.spec, options.config.resolved_optimizer(), options.servers)),
        servers_(options.servers),
        workers_(options.workers),
        addresses_(options.servers, "127.0.0.1:0"),
        server_restarts_(options.servers, 0),
        worker_restarts_(options.workers, 0) {}
  ~LocalCluster() { StopAll(); }

  absl::Status Start();
  // Until every worker finished; restarts killed processes, takes checkpoints when due.
  absl::Status Supervise();
  // The last checkpoint, then the model from the servers' rows.
  absl::Status Finish(double seconds);

 private:
  absl::Status StartServer(int s, const std::string& restore, bool restore_clocks);
  absl::Status StartWorker(int w, bool resume);
  // A child that exited: a worker that succeeded counts in *remaining; a killed one is restarted.
  absl::Status OnWorkerExit(int w, int status, int* remaining);
  absl::Status OnServerExit(int s, int status);
  void StopAll();

  const LocalClusterOptions& o_;
  const PreparedTraining& prepared_;
  const std::vector<std::string> server_args_;
  std::vector<std::unique_ptr<Subprocess>> servers_, workers_;
  std::vector<std::string> addresses_;
  std::vector<int> server_restarts_, worker_restarts_;
  // The launcher checkpoints through its own short-retry connection to the servers. It is
  // closed before the servers stop: a channel to a dead server makes gRPC's shutdown linger.
  std::unique_ptr<GrpcTransport> control_;
  std::unique_ptr<ScheduledCheckpoints> checkpoints_;
};

absl::Status LocalCluster::StartServer(int s, const std::string& restore, bool restore_clocks) {
  std::vector<std::string> a = server_args_;
  a.insert(a.end(), {"--shard", absl::StrCat(s), "--listen", addresses_[s]});
  if (!o_.checkpoint_root.empty()) a.insert(a.end(), {"--checkpoint-dir", o_.checkpoint_root});
  if (!restore.empty()) a.insert(a.end(), {"--restore", restore});
  if (restore_clocks) a.push_back("--restore-clocks");
  servers_[s] = StartChild(o_.binary, a, /*capture_stdout=*/true);
  const std::string line = servers_[s] ? servers_[s]->ReadLine() : "";
  if (line.rfind("listening on ", 0) != 0) {
    return absl::UnavailableError(absl::StrCat("parameter server ", s, " did not start"));
  }
  addresses_[s] = line.substr(13);
  return absl::OkStatus();
}

absl::Status LocalCluster::StartWorker(int w, bool resume) {
  std::vector<std::string> a = {"ps",
                                "worker",
                                "--servers",
                                absl::StrJoin(addresses_, ","),
                                "--worker-index",
                                absl::StrCat(w),
                                "--num-workers",
                                absl::StrCat(o_.workers)};
  if (resume) a.push_back("--resume");
  a.insert(a.end(), o_.worker_args.begin(), o_.worker_args.end());
  workers_[w] = StartChild(o_.binary, a, /*capture_stdout=*/false);
  if (workers_[w] == nullptr) {
    return absl::UnavailableError(absl::StrCat("worker ", w, " did not start"));
  }
  log::Info("cluster: worker {} pid {}{}", w, workers_[w]->pid(), resume ? " (resuming)" : "");
  return absl::OkStatus();
}

absl::Status LocalCluster::Start() {
  for (int s = 0; s < o_.servers; ++s) {
    RETURN_IF_ERROR(StartServer(s, o_.restore, /*restore_clocks=*/false));
    log::Info("cluster: server {} pid {} on {}", s, servers_[s]->pid(), addresses_[s]);
  }
  log::Info("cluster: {} servers ({}), {} workers", o_.servers, absl::StrJoin(addresses_, ", "),
            o_.workers);
  for (int w = 0; w < o_.workers; ++w) RETURN_IF_ERROR(StartWorker(w, /*resume=*/false));
  control_ = std::make_unique<GrpcTransport>(addresses_, /*retry_seconds=*/1);
  if (o_.checkpoint_root.empty()) return absl::OkStatus();
  std::error_code ec;
  std::filesystem::create_directories(o_.checkpoint_root, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot create ", o_.checkpoint_root, ": ", ec.message()));
  }
  checkpoints_ = std::make_unique<ScheduledCheckpoints>(
      o_.schedule,
      std::make_unique<CheckpointCoordinator>(
          o_.checkpoint_root,
          BuildManifest(prepared_.spec, o_.config.resolved_optimizer(), prepared_.input, 0,
                        "{\"checkpoint\": true}"),
          control_.get(), /*full_every=*/10, o_.keep_checkpoints),
      control_.get(), "cluster");
  return absl::OkStatus();
}

absl::Status LocalCluster::OnWorkerExit(int w, int status, int* remaining) {
  const int code = workers_[w]->Reap(status);
  if (code == 0) {
    --*remaining;
    return absl::OkStatus();
  }
  if (code < 128 || worker_restarts_[w] >= o_.max_restarts) {
    return absl::AbortedError(absl::StrCat("worker ", w, " failed (exit ", code, "); job stopped"));
  }
  ++worker_restarts_[w];
  log::Info("cluster: worker {} killed (signal {}); restart {} of {}", w, code - 128,
            worker_restarts_[w], o_.max_restarts);
  if (!StartWorker(w, /*resume=*/true).ok()) {
    return absl::UnavailableError(absl::StrCat("worker ", w, " did not restart"));
  }
  return absl::OkStatus();
}

absl::Status LocalCluster::OnServerExit(int s, int status) {
  const int code = servers_[s]->Reap(status);
  if (server_restarts_[s] >= o_.max_restarts) {
    return absl::AbortedError(absl::StrCat("parameter server ", s, " died (exit ", code, ") after ",
                                           server_restarts_[s], " restarts; job stopped"));
  }
  ++server_restarts_[s];
  // Its rows revert to the latest whole checkpoint (or to the initial weights without one): the
  // updates its shard received since then are lost.
  auto latest = o_.checkpoint_root.empty() ? absl::NotFoundError("no checkpoints")
                                           : LatestCheckpoint(o_.checkpoint_root);
  const std::string from = latest.ok() ? *latest : o_.restore;
  log::Info("cluster: server {} died (exit {}); restart {} of {} from {}", s, code,
            server_restarts_[s], o_.max_restarts, from.empty() ? "its initial weights" : from);
  if (!StartServer(s, from, /*restore_clocks=*/latest.ok() && s == 0).ok()) {
    return absl::UnavailableError(absl::StrCat("parameter server ", s, " did not restart"));
  }
  return absl::OkStatus();
}

absl::Status LocalCluster::Supervise() {
  int remaining = o_.workers;
  while (remaining > 0) {
    int status = 0;
    const pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid < 0) break;
    if (pid == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      if (checkpoints_) checkpoints_->Tick();
      continue;
    }
    for (int w = 0; w < o_.workers; ++w) {
      if (workers_[w]->pid() == pid) RETURN_IF_ERROR(OnWorkerExit(w, status, &remaining));
    }
    for (int s = 0; s < o_.servers; ++s) {
      if (servers_[s]->pid() == pid) RETURN_IF_ERROR(OnServerExit(s, status));
    }
  }
  return absl::OkStatus();
}

absl::Status LocalCluster::Finish(double seconds) {
  if (checkpoints_) checkpoints_->TakeNow();
  checkpoints_.reset();
  control_.reset();
  // Closed before the servers stop, as `control_` is.
  GrpcTransport transport(addresses_);
  return WriteModelFromServers(o_.config, prepared_.input, prepared_.spec, transport, seconds);
}

void LocalCluster::StopAll() {
  checkpoints_.reset();
  control_.reset();
  for (auto& worker : workers_) {
    if (worker) worker->Stop(SIGTERM);
  }
  for (auto& server : servers_) {
    if (server) server->Stop(SIGTERM);
  }
}

}  // namespace

absl::StatusOr<double> RunLocalCluster(const LocalClusterOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  // The servers need the resolved model (FFM's field count) and optimizer.
  ASSIGN_OR_RETURN(const PreparedTraining prepared, PrepareTraining(options.config));
  LocalCluster cluster(options, prepared);
  RETURN_IF_ERROR(cluster.Start());
  RETURN_IF_ERROR(cluster.Supervise());
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  RETURN_IF_ERROR(cluster.Finish(seconds));
  return seconds;
}

}  // namespace parasol
