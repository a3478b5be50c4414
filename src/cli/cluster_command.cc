// `parasol cluster`: flags for a whole distributed job on this machine; the job itself is
// distributed/local_cluster.h. A failing job exits 1.

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cli/exit_codes.h"
#include "cli/ps_command.h"
#include "distributed/checkpoint_schedule.h"
#include "distributed/local_cluster.h"

namespace parasol {

void AddClusterCommand(CLI::App& app, ClusterFlags& f) {
  auto* cmd = app.add_subcommand(
      "cluster", "Run a distributed training job here: server and worker processes on loopback");
  cmd->add_option("--servers", f.servers, "Parameter-server processes (default 1)");
  cmd->add_option("--workers", f.workers, "Worker processes (default 1)");
  cmd->add_option("--checkpoint-every", f.checkpoint_every,
                  "Checkpoint the servers every N seconds ('30s') or N worker batches ('500'); "
                  "also once at the end");
  cmd->add_option("--checkpoint-dir", f.checkpoint_dir,
                  "Where checkpoints go (default OUT/checkpoints); one that already has "
                  "checkpoints resumes that job");
  cmd->add_option("--keep-checkpoints", f.keep_checkpoints,
                  "Keep the newest N checkpoints (and the older ones their deltas build on); "
                  "older ones are deleted (default 5; 0 keeps all)");
  cmd->add_option("--restore", f.restore,
                  "Start the servers from this checkpoint or model directory (any server count); "
                  "a checkpoint directory that already has checkpoints wins (the job resumes)");
  cmd->add_option("--max-restarts", f.max_restarts,
                  "Restarts of killed servers (from the latest checkpoint) and workers (resuming "
                  "their share), over the whole job, before it fails (default 3)");
  AddTrainOptions(cmd, f.train, /*out_required=*/true);
}

namespace {

// Options of `parasol cluster` that are not training flags (--out is passed on separately:
// LocalClusterOptions::out_dir).
bool IsLauncherOption(const std::string& arg) {
  for (const char* name : {"--servers", "--workers", "--checkpoint-every", "--checkpoint-dir",
                           "--restore", "--max-restarts", "--keep-checkpoints", "--out"}) {
    if (arg == name) return true;
  }
  return false;
}

// The training flags servers and workers get, as (name, value): the cluster's own arguments
// (every training option takes a value) minus the launcher's options.
std::vector<std::pair<std::string, std::string>> ForwardedTrainFlags(
    const std::vector<std::string>& args) {
  std::vector<std::pair<std::string, std::string>> passed;
  for (size_t i = 0; i < args.size(); ++i) {
    const size_t eq = args[i].find('=');
    const std::string name = args[i].substr(0, eq);
    const bool inline_value = eq != std::string::npos;
    const std::string value = inline_value          ? args[i].substr(eq + 1)
                              : i + 1 < args.size() ? args[i + 1]
                                                    : "";
    if (!inline_value) ++i;
    if (IsLauncherOption(name) || name.rfind("--", 0) != 0) continue;
    passed.emplace_back(name.substr(2), value);
  }
  return passed;
}

// Set by SIGINT and SIGTERM while a job runs: RunLocalCluster then stops its replicas (which run
// in their own sessions, so a terminal's Ctrl-C reaches only this process).
volatile std::sig_atomic_t stop_signal = 0;

extern "C" void OnStopSignal(int signal) { stop_signal = signal; }

}  // namespace

int RunCluster(const ClusterFlags& f, const std::string& argv0,
               const std::vector<std::string>& args) {
  if (f.servers < 1 || f.workers < 1)
    return Fail(kExitUsage, "--servers and --workers must be >= 1");
  auto config = ResolveTrainConfig(f.train, /*out_required=*/true);
  if (!config.ok()) return Fail(kExitUsage, config.status());
  if (config->model.type == ModelType::kPerceptron) {
    return Fail(kExitUsage,
                "the averaged perceptron trains on one machine only (use parasol train)");
  }
  auto schedule = ParseCheckpointSchedule(f.checkpoint_every, "--checkpoint-every");
  if (!schedule.ok()) return Fail(kExitUsage, schedule.status());
  if (f.keep_checkpoints < 0) {
    return Fail(kExitUsage,
                absl::StrCat("--keep-checkpoints must be >= 0, got ", f.keep_checkpoints));
  }
  if (f.max_restarts < 0) {
    return Fail(kExitUsage, absl::StrCat("--max-restarts must be >= 0, got ", f.max_restarts));
  }
  LocalClusterOptions options;
  options.out_dir = config->out_dir;
  options.checkpoint_every = f.checkpoint_every;
  options.checkpoint_root = !f.checkpoint_dir.empty() ? f.checkpoint_dir
                            : schedule->enabled()
                                ? (std::filesystem::path(config->out_dir) / "checkpoints").string()
                                : "";
  options.servers = f.servers;
  options.workers = f.workers;
  options.keep_checkpoints = f.keep_checkpoints;
  options.restore = f.restore;
  options.max_restarts = f.max_restarts;
  options.train_flags = ForwardedTrainFlags(args);
  options.stop_signal = &stop_signal;
  std::signal(SIGINT, OnStopSignal);
  std::signal(SIGTERM, OnStopSignal);
  const auto seconds = RunLocalCluster(options);
  if (!seconds.ok()) return Fail(kExitRuntime, seconds.status());
  std::fprintf(stderr, "cluster: job finished in %.2fs; model written to %s\n", *seconds,
               options.out_dir.c_str());
  return kExitOk;
}

}  // namespace parasol
