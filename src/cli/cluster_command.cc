// `parasol cluster`: a whole distributed job on this machine as separate processes on loopback —
// S `parasol ps server` processes, W `parasol ps worker` processes on disjoint shares of the
// data — then the model directory `parasol train` would write. Servers are stopped when the
// workers finish; a failing worker stops the job (exit 1); no process outlives the launcher.
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/exit_codes.h"
#include "cli/ps_command.h"
#include "common/subprocess.h"
#include "distributed/checkpoint_schedule.h"
#include "distributed/worker.h"
#include "predict/input_spec.h"
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

}  // namespace

void AddClusterCommand(CLI::App& app, ClusterFlags& f) {
  auto* cmd = app.add_subcommand(
      "cluster", "Run a distributed training job here: server and worker processes on loopback");
  cmd->add_option("--servers", f.servers, "Parameter-server processes (default 1)");
  cmd->add_option("--workers", f.workers, "Worker processes (default 1)");
  cmd->add_option("--checkpoint-every", f.checkpoint_every,
                  "Checkpoint the servers every N seconds ('30s') or N worker batches ('500'); "
                  "also once at the end");
  cmd->add_option("--checkpoint-dir", f.checkpoint_dir,
                  "Where checkpoints go (default OUT/checkpoints)");
  cmd->add_option("--keep-checkpoints", f.keep_checkpoints,
                  "Keep the newest N checkpoints (and the older ones their deltas build on); "
                  "older ones are deleted (default 5; 0 keeps all)");
  cmd->add_option("--restore", f.restore,
                  "Start the servers from this checkpoint or model directory (any server count)");
  cmd->add_option("--max-restarts", f.max_restarts,
                  "Restarts per killed server (from the latest checkpoint) or worker (resuming "
                  "its share) before the job fails (default 3)");
  AddTrainOptions(cmd, f.train, /*out_required=*/true);
}

namespace {

// Options of `parasol cluster` that are not passed on to workers (the launcher writes --out).
bool IsLauncherOption(const std::string& arg) {
  for (const char* name : {"--servers", "--workers", "--checkpoint-every", "--checkpoint-dir",
                           "--restore", "--max-restarts", "--keep-checkpoints", "--out"}) {
    if (arg == name) return true;
  }
  return false;
}

}  // namespace

int RunCluster(const ClusterFlags& f, const std::string& argv0,
               const std::vector<std::string>& args) {
  if (f.servers < 1 || f.workers < 1)
    return Fail(kExitUsage, "--servers and --workers must be >= 1");
  auto resolved = ResolveTrainConfig(f.train, /*out_required=*/true);
  if (!resolved.ok()) return Fail(kExitUsage, resolved.status());
  TrainConfig config = *resolved;
  if (config.model.type == ModelType::kPerceptron) {
    return Fail(kExitUsage,
                "the averaged perceptron trains on one machine only (use parasol train)");
  }
  auto schedule = ParseCheckpointSchedule(f.checkpoint_every, "--checkpoint-every");
  if (!schedule.ok()) return Fail(kExitUsage, schedule.status());
  if (f.keep_checkpoints < 0) {
    return Fail(kExitUsage,
                absl::StrCat("--keep-checkpoints must be >= 0, got ", f.keep_checkpoints));
  }
  const std::string checkpoint_root =
      !f.checkpoint_dir.empty() ? f.checkpoint_dir
      : schedule->enabled()     ? (std::filesystem::path(config.out_dir) / "checkpoints").string()
                                : "";
  const auto start = std::chrono::steady_clock::now();
  // The servers need the resolved model (FFM's field count) and optimizer.
  auto prepared = PrepareTraining(config);
  if (!prepared.ok()) return Fail(kExitRuntime, prepared.status());
  const InputSpec* input = &prepared->input;
  const ModelSpec* spec = &prepared->spec;
  const OptimizerConfig opt = config.resolved_optimizer();
  const std::string binary = "/proc/self/exe";
  const std::vector<std::string> server_args = {"ps",           "server",
                                                "--model",      ModelTypeName(spec->type),
                                                "--k",          absl::StrCat(spec->k),
                                                "--fields",     absl::StrCat(spec->num_fields),
                                                "--seed",       absl::StrCat(spec->seed),
                                                "--init-scale", absl::StrCat(spec->init_scale),
                                                "--optimizer",  opt.name,
                                                "--lr",         absl::StrCat(opt.lr),
                                                "--l1",         absl::StrCat(opt.l1),
                                                "--l2",         absl::StrCat(opt.l2),
                                                "--ftrl-beta",  absl::StrCat(opt.ftrl_beta),
                                                "--adam-beta1", absl::StrCat(opt.adam_beta1),
                                                "--adam-beta2", absl::StrCat(opt.adam_beta2),
                                                "--epsilon",    absl::StrCat(opt.epsilon),
                                                "--num-shards", absl::StrCat(f.servers)};
  std::vector<std::unique_ptr<Subprocess>> servers(f.servers);
  std::vector<std::string> addresses(f.servers, "127.0.0.1:0");
  std::vector<int> server_restarts(f.servers, 0), worker_restarts(f.workers, 0);
  // Starts server s on addresses[s] from `restore` (none: empty); false if it did not come up.
  auto start_server = [&](int s, const std::string& restore, bool restore_clocks) {
    std::vector<std::string> a = server_args;
    a.insert(a.end(), {"--shard", absl::StrCat(s), "--listen", addresses[s]});
    if (!checkpoint_root.empty()) a.insert(a.end(), {"--checkpoint-dir", checkpoint_root});
    if (!restore.empty()) a.insert(a.end(), {"--restore", restore});
    if (restore_clocks) a.push_back("--restore-clocks");
    servers[s] = StartChild(binary, a, /*capture_stdout=*/true);
    const std::string line = servers[s] ? servers[s]->ReadLine() : "";
    if (line.rfind("listening on ", 0) != 0) return false;
    addresses[s] = line.substr(13);
    return true;
  };
  for (int s = 0; s < f.servers; ++s) {
    if (!start_server(s, f.restore, /*restore_clocks=*/false)) {
      return Fail(kExitRuntime, absl::StrCat("parameter server ", s, " did not start"));
    }
    std::fprintf(stderr, "cluster: server %d pid %d on %s\n", s,
                 static_cast<int>(servers[s]->pid()), addresses[s].c_str());
  }
  std::fprintf(stderr, "cluster: %d servers (%s), %d workers\n", f.servers,
               absl::StrJoin(addresses, ", ").c_str(), f.workers);
  // Workers get the cluster's own training arguments, minus the launcher's options.
  std::vector<std::string> passed;
  for (size_t i = 0; i < args.size(); ++i) {
    if (IsLauncherOption(args[i])) {
      ++i;
      continue;
    }
    const std::string name = args[i].substr(0, args[i].find('='));
    if (args[i].find('=') != std::string::npos && IsLauncherOption(name)) continue;
    passed.push_back(args[i]);
  }
  std::vector<std::unique_ptr<Subprocess>> workers(f.workers);
  // False when the worker process could not be started.
  auto start_worker = [&](int w, bool resume) {
    std::vector<std::string> a = {"ps",
                                  "worker",
                                  "--servers",
                                  absl::StrJoin(addresses, ","),
                                  "--worker-index",
                                  absl::StrCat(w),
                                  "--num-workers",
                                  absl::StrCat(f.workers)};
    if (resume) a.push_back("--resume");
    a.insert(a.end(), passed.begin(), passed.end());
    workers[w] = StartChild(binary, a, /*capture_stdout=*/false);
    if (workers[w] == nullptr) return false;
    std::fprintf(stderr, "cluster: worker %d pid %d%s\n", w, static_cast<int>(workers[w]->pid()),
                 resume ? " (resuming)" : "");
    return true;
  };
  // The launcher checkpoints through its own short-retry connection to the servers. It is
  // closed before the servers stop: a channel to a dead server makes gRPC's shutdown linger.
  std::unique_ptr<GrpcTransport> control;
  std::unique_ptr<ScheduledCheckpoints> checkpoints;
  auto stop_all = [&] {
    checkpoints.reset();
    control.reset();
    for (auto& worker : workers) {
      if (worker) worker->Stop(SIGTERM);
    }
    for (auto& server : servers) {
      if (server) server->Stop(SIGTERM);
    }
  };
  for (int w = 0; w < f.workers; ++w) {
    if (!start_worker(w, /*resume=*/false)) {
      stop_all();
      return Fail(kExitRuntime, absl::StrCat("worker ", w, " did not start"));
    }
  }

  control = std::make_unique<GrpcTransport>(addresses, /*retry_seconds=*/1);
  if (!checkpoint_root.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(checkpoint_root, ec);
    if (ec) {
      stop_all();
      return Fail(kExitRuntime,
                  absl::StrCat("cannot create ", checkpoint_root, ": ", ec.message()));
    }
    checkpoints = std::make_unique<ScheduledCheckpoints>(
        *schedule,
        std::make_unique<CheckpointCoordinator>(
            checkpoint_root, BuildManifest(*spec, opt, *input, 0, "{\"checkpoint\": true}"),
            control.get(), /*full_every=*/10, f.keep_checkpoints),
        control.get(), "cluster");
  }
  // Wait for every worker. A worker killed by a signal is restarted and resumes its share; a
  // killed server is restarted from the latest checkpoint. Anything else stops the job.
  int remaining = f.workers;
  while (remaining > 0) {
    int status = 0;
    const pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid < 0) break;
    if (pid == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      if (checkpoints) checkpoints->Tick();
      continue;
    }
    for (int w = 0; w < f.workers; ++w) {
      if (workers[w]->pid() != pid) continue;
      const int code = workers[w]->Reap(status);
      if (code == 0) {
        --remaining;
      } else if (code >= 128 && worker_restarts[w] < f.max_restarts) {
        ++worker_restarts[w];
        std::fprintf(stderr, "cluster: worker %d killed (signal %d); restart %d of %d\n", w,
                     code - 128, worker_restarts[w], f.max_restarts);
        if (!start_worker(w, /*resume=*/true)) {
          stop_all();
          return Fail(kExitRuntime, absl::StrCat("worker ", w, " did not restart"));
        }
      } else {
        stop_all();
        return Fail(kExitRuntime,
                    absl::StrCat("worker ", w, " failed (exit ", code, "); job stopped"));
      }
    }
    for (int s = 0; s < f.servers; ++s) {
      if (servers[s]->pid() != pid) continue;
      const int code = servers[s]->Reap(status);
      if (server_restarts[s] >= f.max_restarts) {
        stop_all();
        return Fail(kExitRuntime,
                    absl::StrCat("parameter server ", s, " died (exit ", code, ") after ",
                                 server_restarts[s], " restarts; job stopped"));
      }
      ++server_restarts[s];
      // Its rows revert to the latest whole checkpoint (or to the initial weights without one):
      // the updates its shard received since then are lost.
      auto latest = checkpoint_root.empty() ? absl::NotFoundError("no checkpoints")
                                            : LatestCheckpoint(checkpoint_root);
      const std::string from = latest.ok() ? *latest : f.restore;
      std::fprintf(stderr, "cluster: server %d died (exit %d); restart %d of %d from %s\n", s, code,
                   server_restarts[s], f.max_restarts,
                   from.empty() ? "its initial weights" : from.c_str());
      if (!start_server(s, from, /*restore_clocks=*/latest.ok() && s == 0)) {
        stop_all();
        return Fail(kExitRuntime, absl::StrCat("parameter server ", s, " did not restart"));
      }
    }
  }
  if (checkpoints) checkpoints->TakeNow();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  absl::Status written;
  {  // closed before the servers stop, as `control` is
    GrpcTransport transport(addresses);
    written = WriteModelFromServers(config, *input, *spec, transport, seconds);
  }
  stop_all();
  if (!written.ok()) return Fail(kExitRuntime, written);
  std::fprintf(stderr, "cluster: job finished in %.2fs; model written to %s\n", seconds,
               config.out_dir.c_str());
  return kExitOk;
}

}  // namespace parasol
