// `parasol stream`: online learning from a stream (src/stream). Registered by commands.cc; runs
// until SIGINT/SIGTERM (or the end of standard input), then checkpoints and writes the model.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "cli/train_flags.h"

namespace parasol {

struct StreamFlags {
  TrainFlags train;
  std::string source, labels, join_window = "10m";
  double checkpoint_every = 60;
  size_t window = 10000;
};

// Adds the `stream` sub-command, whose flags land in *flags (which must outlive parsing).
CLI::App* AddStreamCommand(CLI::App& app, StreamFlags& flags);
// Exit code: 0 stopped by a signal or at the end of standard input (model written), 1 a runtime
// failure (too many malformed events, a checkpoint that cannot be written), 2 bad flags.
int RunStream(const StreamFlags& flags);

}  // namespace parasol
