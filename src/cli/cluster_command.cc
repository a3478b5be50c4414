// `parasol cluster`: flags for a whole distributed job on this machine; the job itself is
// distributed/local_cluster.h. A failing job exits 1.

#include <cstdio>
#include <filesystem>
#include <string>
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

// The training flags workers get: the cluster's own arguments minus the launcher's options.
std::vector<std::string> WorkerArgs(const std::vector<std::string>& args) {
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
  return passed;
}

}  // namespace

int RunCluster(const ClusterFlags& f, const std::string& argv0,
               const std::vector<std::string>& args) {
  if (f.servers < 1 || f.workers < 1)
    return Fail(kExitUsage, "--servers and --workers must be >= 1");
  LocalClusterOptions options;
  auto resolved = ResolveTrainConfig(f.train, /*out_required=*/true);
  if (!resolved.ok()) return Fail(kExitUsage, resolved.status());
  options.config = *resolved;
  if (options.config.model.type == ModelType::kPerceptron) {
    return Fail(kExitUsage,
                "the averaged perceptron trains on one machine only (use parasol train)");
  }
  auto schedule = ParseCheckpointSchedule(f.checkpoint_every, "--checkpoint-every");
  if (!schedule.ok()) return Fail(kExitUsage, schedule.status());
  if (f.keep_checkpoints < 0) {
    return Fail(kExitUsage,
                absl::StrCat("--keep-checkpoints must be >= 0, got ", f.keep_checkpoints));
  }
  options.schedule = *schedule;
  options.checkpoint_root =
      !f.checkpoint_dir.empty() ? f.checkpoint_dir
      : schedule->enabled()
          ? (std::filesystem::path(options.config.out_dir) / "checkpoints").string()
          : "";
  options.servers = f.servers;
  options.workers = f.workers;
  options.keep_checkpoints = f.keep_checkpoints;
  options.restore = f.restore;
  options.max_restarts = f.max_restarts;
  options.worker_args = WorkerArgs(args);
  const auto seconds = RunLocalCluster(options);
  if (!seconds.ok()) return Fail(kExitRuntime, seconds.status());
  std::fprintf(stderr, "cluster: job finished in %.2fs; model written to %s\n", *seconds,
               options.config.out_dir.c_str());
  return kExitOk;
}

}  // namespace parasol
