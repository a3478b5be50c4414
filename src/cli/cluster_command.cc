// `parasol cluster`: a whole distributed job on this machine as separate processes on loopback —
// S `parasol ps server` processes, W `parasol ps worker` processes on disjoint shares of the
// data — then the model directory `parasol train` would write. Servers are stopped when the
// workers finish; a failing worker stops the job (exit 1); no process outlives the launcher.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/exit_codes.h"
#include "cli/ps_command.h"
#include "train/distributed.h"
#include "train/input_spec.h"

namespace parasol {
namespace {

// A child process of this binary; killed (SIGKILL) if still running when destroyed, and by the
// kernel if the launcher dies first.
class Child {
 public:
  Child(const std::string& binary, const std::vector<std::string>& args, bool capture_stdout) {
    int out[2] = {-1, -1};
    if (capture_stdout && pipe(out) != 0) return;
    const pid_t parent = getpid();
    pid_ = fork();
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(1);
      if (capture_stdout) {
        dup2(out[1], STDOUT_FILENO);
        close(out[0]);
        close(out[1]);
      }
      std::vector<char*> argv;
      argv.push_back(const_cast<char*>(binary.c_str()));
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execv(binary.c_str(), argv.data());
      _exit(127);
    }
    if (capture_stdout) {
      close(out[1]);
      stdout_ = fdopen(out[0], "r");
    }
  }
  ~Child() {
    if (running()) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (stdout_ != nullptr) fclose(stdout_);
  }
  bool started() const { return pid_ > 0; }
  bool running() const { return pid_ > 0 && !exited_; }
  std::string ReadLine() {
    char buf[512] = {0};
    if (stdout_ == nullptr || fgets(buf, sizeof(buf), stdout_) == nullptr) return "";
    std::string line(buf);
    if (!line.empty() && line.back() == '\n') line.pop_back();
    return line;
  }
  // Sends `signal` and waits; the exit code, or 128 + signal number.
  int Stop(int signal) {
    if (!running()) return code_;
    kill(pid_, signal);
    return Wait();
  }
  int Wait() {
    if (!running()) return code_;
    int status = 0;
    waitpid(pid_, &status, 0);
    return Reap(status);
  }
  int Reap(int status) {
    exited_ = true;
    code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return code_;
  }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  bool exited_ = false;
  int code_ = 0;
  FILE* stdout_ = nullptr;
};

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
  std::vector<std::unique_ptr<Child>> servers;
  std::vector<std::string> addresses;
  for (int s = 0; s < f.servers; ++s) {
    servers.push_back(std::make_unique<Child>(binary, server_args, /*capture_stdout=*/true));
    const std::string line = servers.back()->ReadLine();
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
  std::vector<std::unique_ptr<Child>> workers;
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
    workers.push_back(std::make_unique<Child>(binary, wargs, /*capture_stdout=*/false));
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
