// `parasol serve`: the model server (src/serve). Registered by commands.cc; serves until
// SIGINT or SIGTERM.
#pragma once

#include <CLI/CLI.hpp>
#include <cstddef>
#include <cstdint>
#include <string>

namespace parasol {

struct ServeFlags {
  std::string model_base, model_name, model_config, host = "127.0.0.1";
  int rest_port = 8501;
  int grpc_port = 8500;
  int rest_threads = 16;
  double poll_seconds = 1;
  size_t max_body_bytes = 16 << 20;
  int max_batch_size = 0;  // 0: no dynamic batching
  int64_t batch_timeout_micros = 1000;
  int num_batch_threads = 1;
  std::string quantize = "fp32";  // precision of the served rows: fp32, fp16, int8
};

// Adds the `serve` sub-command, whose flags land in *flags (which must outlive parsing).
CLI::App* AddServeCommand(CLI::App& app, ServeFlags& flags);
// Runs it until SIGINT/SIGTERM. Exit code: 0 stopped by a signal, 1 cannot listen, 2 bad flags
// or model config.
int RunServe(const ServeFlags& flags);

}  // namespace parasol
