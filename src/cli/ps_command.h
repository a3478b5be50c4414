// `parasol ps server`: one parameter-server process (see src/ps/README.md).
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace parasol {

struct PsServerFlags {
  std::string listen = "127.0.0.1:9100";
  std::string config_path, model = "lr", optimizer = "adagrad", table = "weights";
  float lr = 0, l1 = 0, l2 = 0;
  int k = 8;
  uint64_t seed = 1;
};

// Adds `ps` with its `server` sub-command to `app`; returns the `ps` command.
CLI::App* AddPsCommand(CLI::App& app, PsServerFlags& flags);
// Serves until SIGINT or SIGTERM; exit code.
int RunPsServer(const PsServerFlags& flags);

}  // namespace parasol
