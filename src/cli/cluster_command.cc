// `parasol cluster`: a whole distributed job on this machine as separate processes on loopback —
// S `parasol ps server` processes, W `parasol ps worker` processes on disjoint shares of the
// data — then the model directory `parasol train` would write. Servers are stopped when the
// workers finish; a failing worker stops the job (exit 1); no process outlives the launcher.
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/exit_codes.h"
#include "cli/ps_command.h"
#include "common/subprocess.h"
#include "train/distributed.h"
#include "train/input_spec.h"

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
  AddTrainOptions(cmd, f.train, /*out_required=*/true);
}

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
  const auto start = std::chrono::steady_clock::now();
  // The servers need the resolved model (FFM's field count) and optimizer.
  auto input = PrepareTrainingInput(config);
  if (!input.ok()) return Fail(kExitRuntime, input.status());
  auto spec = ResolveModelSpec(config, *input);
  if (!spec.ok()) return Fail(kExitRuntime, spec.status());
  const OptimizerConfig opt = config.resolved_optimizer();
  const std::string binary = "/proc/self/exe";
  const std::vector<std::string> server_args = {"ps",           "server",
                                                "--listen",     "127.0.0.1:0",
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
                                                "--epsilon",    absl::StrCat(opt.epsilon)};
  std::vector<std::unique_ptr<Subprocess>> servers;
  std::vector<std::string> addresses;
  for (int s = 0; s < f.servers; ++s) {
    servers.push_back(StartChild(binary, server_args, /*capture_stdout=*/true));
    const std::string line = servers.back() ? servers.back()->ReadLine() : "";
    if (line.rfind("listening on ", 0) != 0) {
      return Fail(kExitRuntime, absl::StrCat("parameter server ", s, " did not start"));
    }
    addresses.push_back(line.substr(13));
  }
  std::fprintf(stderr, "cluster: %d servers (%s), %d workers\n", f.servers,
               absl::StrJoin(addresses, ", ").c_str(), f.workers);
  // Workers get the cluster's own training arguments, minus --servers/--workers.
  std::vector<std::string> passed;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--servers" || args[i] == "--workers") {
      ++i;
      continue;
    }
    if (args[i].rfind("--servers=", 0) == 0 || args[i].rfind("--workers=", 0) == 0) continue;
    passed.push_back(args[i]);
  }
  std::vector<std::unique_ptr<Subprocess>> workers;
  for (int w = 0; w < f.workers; ++w) {
    std::vector<std::string> wargs = {"ps",
                                      "worker",
                                      "--servers",
                                      absl::StrJoin(addresses, ","),
                                      "--worker-index",
                                      absl::StrCat(w),
                                      "--num-workers",
                                      absl::StrCat(f.workers)};
    wargs.insert(wargs.end(), passed.begin(), passed.end());
    workers.push_back(StartChild(binary, wargs, /*capture_stdout=*/false));
    if (workers.back() == nullptr) {
      return Fail(kExitRuntime, absl::StrCat("worker ", w, " did not start"));
    }
  }
  // Wait for every worker; the first failure stops the job.
  int remaining = f.workers;
  while (remaining > 0) {
    int status = 0;
    const pid_t pid = waitpid(-1, &status, 0);
    if (pid < 0) break;
    for (int w = 0; w < f.workers; ++w) {
      if (workers[w]->pid() != pid) continue;
      --remaining;
      const int code = workers[w]->Reap(status);
      if (code != 0) {
        for (auto& other : workers) other->Stop(SIGTERM);
        for (auto& server : servers) server->Stop(SIGTERM);
        return Fail(kExitRuntime,
                    absl::StrCat("worker ", w, " failed (exit ", code, "); job stopped"));
      }
    }
    for (int s = 0; s < f.servers; ++s) {
      if (servers[s]->pid() == pid) {
        servers[s]->Reap(status);
        for (auto& worker : workers) worker->Stop(SIGTERM);
        return Fail(kExitRuntime, absl::StrCat("parameter server ", s, " died; job stopped"));
      }
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const absl::Status written = WriteModelFromServers(config, *input, *spec, addresses, seconds);
  for (auto& server : servers) server->Stop(SIGTERM);
  if (!written.ok()) return Fail(kExitRuntime, written);
  std::fprintf(stderr, "cluster: job finished in %.2fs; model written to %s\n", seconds,
               config.out_dir.c_str());
  return kExitOk;
}

}  // namespace parasol
