#include "cli/stream_command.h"

#include <signal.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/exit_codes.h"
#include "common/stop_signals.h"
#include "stream/source.h"
#include "stream/streamer.h"
#include "train/progress.h"

namespace parasol {
namespace {

// "10m", "30s", "500ms", "2h", or plain seconds → seconds; false when malformed or not > 0.
bool ParseDuration(const std::string& text, double* seconds) {
  struct Unit {
    const char* suffix;
    double scale;
  };
  for (const Unit u : {Unit{"ms", 0.001}, Unit{"s", 1}, Unit{"m", 60}, Unit{"h", 3600}}) {
    const std::string suffix = u.suffix;
    if (text.size() > suffix.size() &&
        text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0) {
      double v;
      if (!absl::SimpleAtod(text.substr(0, text.size() - suffix.size()), &v) || !(v > 0)) {
        return false;
      }
      *seconds = v * u.scale;
      return true;
    }
  }
  return absl::SimpleAtod(text, seconds) && *seconds > 0;
}

}  // namespace

CLI::App* AddStreamCommand(CLI::App& app, StreamFlags& f) {
  auto* cmd = app.add_subcommand(
      "stream",
      "Learn continuously from a stream (Redis Streams, a folder of arriving files, stdin) with "
      "progressive validation and checkpoints; SIGTERM checkpoints, writes --out as a model "
      "directory and exits 0");
  AddTrainOptions(cmd, f.train, /*out_required=*/true);
  // What only makes sense for a file read in epochs.
  for (const char* name :
       {"--train", "--valid", "--cache", "--epochs", "--early-stopping", "--consistency"}) {
    cmd->remove_option(cmd->get_option(name));
  }
  cmd->add_option("--source", f.source,
                  "redis://HOST:PORT/STREAM[?group=G] (consumer group, default parasol; entries "
                  "carry the example in field 'line'), dir:PATH (files in name order, each once "
                  "NAME.done exists) or - (standard input)")
      ->required();
  cmd->add_option("--labels", f.labels,
                  "Label stream redis://HOST:PORT/STREAM (entries carry 'id' and 'label'); source "
                  "entries then carry 'id' and 'line' (features only) and are joined by id");
  cmd->add_option("--join-window", f.join_window,
                  "With --labels: how long an impression waits for its label before it is "
                  "learned as a negative (10m, 30s, 500ms; default 10m)");
  cmd->add_option("--checkpoint-every", f.checkpoint_every,
                  "Seconds between checkpoints (model + stream positions; Redis entries are "
                  "acknowledged after each; default 60)");
  cmd->add_option("--window", f.window,
                  "Examples in the sliding window of progressive AUC/logloss (default 10000)");
  return cmd;
}

int RunStream(const StreamFlags& f) {
  StreamFlags flags = f;
  flags.train.config.train_path = "(stream)";  // the training flags' check wants a file
  auto config = ResolveTrainConfig(flags.train, /*out_required=*/true);
  if (!config.ok()) return Fail(kExitUsage, config.status());
  stream::StreamOptions options;
  options.train = *config;
  options.train.train_path.clear();
  options.source = f.source;
  options.labels = f.labels;
  if (!ParseDuration(f.join_window, &options.join_window_s)) {
    return Fail(kExitUsage, absl::StrCat("--join-window: '", f.join_window,
                                         "' is not a duration (10m, 30s, 500ms, 2h)"));
  }
  if (!(f.checkpoint_every > 0)) {
    return Fail(kExitUsage, "--checkpoint-every must be > 0 seconds");
  }
  options.checkpoint_every_s = f.checkpoint_every;
  for (const std::string* spec : {&f.source, &f.labels}) {
    if (spec->empty()) continue;
    if (absl::Status s = stream::CheckSourceSpec(*spec); !s.ok()) return Fail(kExitUsage, s);
  }
  if (!f.labels.empty() && f.labels.rfind("redis://", 0) != 0) {
    return Fail(kExitUsage, "--labels must be a Redis stream (redis://HOST:PORT/STREAM)");
  }
  options.window = f.window;
  if (const char* report = std::getenv(kMetricsFileEnv)) options.report_path = report;

  // A stop signal lands on whichever thread; the watcher turns it into the flag the loop reads.
  stop_signals::Install();
  std::atomic<bool> stop{false};
  std::thread watcher([&stop] {
    stop_signals::Wait();
    stop.store(true);
  });
  auto counts = stream::RunStream(options, stop);
  stop_signals::Raise(SIGTERM);  // wakes the watcher when the stream ended by itself
  watcher.join();
  if (!counts.ok()) return Fail(kExitRuntime, counts.status());
  std::string line = absl::StrFormat(
      "stream: learned %d examples from %d events (%d checkpoints), %d re-read after a restart "
      "(learned twice)",
      counts->examples, counts->events, counts->checkpoints, counts->replayed);
  if (counts->after_checkpoint > 0) {
    line += absl::StrFormat("; the previous run learned %d examples after its last checkpoint",
                            counts->after_checkpoint);
  }
  if (std::isfinite(counts->auc)) {
    line += absl::StrFormat(", progressive auc %.5f logloss %.5f", counts->auc, counts->logloss);
  }
  if (!f.labels.empty()) {
    line += absl::StrFormat(
        "; join: %d joined, %d negatives, %d late, %d orphan labels, %d evicted", counts->joined,
        counts->negatives, counts->late, counts->orphan_labels, counts->evicted);
  }
  if (counts->bad_events > 0) {
    line += absl::StrCat("; skipped ", counts->bad_events, " malformed events (");
    bool first = true;
    for (const auto& [kind, n] : counts->bad_by_kind) {
      absl::StrAppend(&line, first ? "" : ", ", kind, ": ", n);
      first = false;
    }
    line += ")";
  }
  std::fprintf(stderr, "%s\nmodel written to %s\n", line.c_str(), options.train.out_dir.c_str());
  return kExitOk;
}

}  // namespace parasol
