#include "cli/serve_command.h"

#include <csignal>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "cli/exit_codes.h"
#include "common/stop_signals.h"
#include "serve/grpc_service.h"
#include "serve/http_server.h"
#include "serve/model_repository.h"
#include "serve/rest_api.h"

namespace parasol {

CLI::App* AddServeCommand(CLI::App& app, ServeFlags& f) {
  auto* cmd = app.add_subcommand(
      "serve",
      "Serve models over REST (TF Serving /v1 and KServe V2 /v2 APIs, /metrics) and gRPC "
      "(proto/serving.proto); versions are integer sub-folders of the model base, polled for "
      "changes; parameter-server delta checkpoints copied into VERSION/deltas/SEQ/ are applied "
      "to the live version in place");
  cmd->add_option("--model-base", f.model_base,
                  "Folder whose integer sub-folders are versions of one model (each a model "
                  "directory written by 'parasol train --out', or a whole checkpoint)");
  cmd->add_option("--model-name", f.model_name,
                  "Name of the --model-base model (default: the folder's name)");
  cmd->add_option("--model-config", f.model_config,
                  "YAML/JSON file listing models, version policies, labels and traffic weights "
                  "(re-read when it changes; see src/serve/README.md)");
  cmd->add_option("--rest-port", f.rest_port, "REST port (default 8501; 0 picks a free one)");
  cmd->add_option("--port", f.grpc_port,
                  "gRPC port: proto/serving.proto and TF Serving's PredictionService/ModelService "
                  "(default 8500; 0 picks a free one)");
  cmd->add_option("--host", f.host, "Address to listen on (default 127.0.0.1, loopback only)");
  cmd->add_option("--poll-seconds", f.poll_seconds,
                  "How often model folders and the config file are checked (default 1)");
  cmd->add_option("--max-body-bytes", f.max_body_bytes,
                  "Largest request body (REST; larger get 413) or gRPC message (default 16777216)");
  cmd->add_option("--max-batch-size", f.max_batch_size,
                  "Dynamic batching: score up to this many rows of concurrent predict requests "
                  "together (default 0: off)");
  cmd->add_option("--batch-timeout-micros", f.batch_timeout_micros,
                  "Dynamic batching: longest wait for a batch to fill (default 1000)");
  cmd->add_option("--num-batch-threads", f.num_batch_threads,
                  "Dynamic batching: threads scoring batches (default 1)");
  cmd->add_option("--quantize", f.quantize,
                  "Precision of the served tables' rows: fp16 (half the memory of fp32) or int8 "
                  "(one byte per weight plus a per-row scale and offset); lookups answer the "
                  "decoded floats, predictions use them; dense layers stay fp32 (default fp32)");
  cmd->add_option("--rest-threads", f.rest_threads,
                  "Connections served at once (default 16; a keep-alive connection holds one)");
  return cmd;
}

int RunServe(const ServeFlags& f) {
  if (f.model_config.empty() == f.model_base.empty()) {
    return Fail(kExitUsage, "give exactly one of --model-base and --model-config");
  }
  if (!f.model_config.empty() && !f.model_name.empty()) {
    return Fail(kExitUsage, "--model-name goes with --model-base; name models in the config");
  }
  if (f.max_batch_size < 0 || f.batch_timeout_micros < 0 || f.num_batch_threads < 1) {
    return Fail(kExitUsage,
                "--max-batch-size and --batch-timeout-micros must be >= 0, "
                "--num-batch-threads >= 1");
  }
  if (!(f.poll_seconds > 0) || f.rest_threads < 1 || f.rest_port < 0 || f.rest_port > 65535 ||
      f.grpc_port < 0 || f.grpc_port > 65535 || f.max_body_bytes == 0 ||
      f.max_body_bytes > (size_t{1} << 30)) {
    return Fail(kExitUsage,
                "--poll-seconds must be > 0, --rest-threads >= 1, --rest-port and --port in "
                "[0, 65535] and --max-body-bytes in [1, 2^30]");
  }
  auto precision = ParseRowPrecision(f.quantize);
  if (!precision.ok()) {
    return Fail(kExitUsage, absl::StrCat("--quantize: ", precision.status().message()));
  }
  RepositoryOptions options;
  options.servable.precision = *precision;
  options.config_path = f.model_config;
  options.model_base = f.model_base;
  options.model_name = f.model_name;
  options.poll_seconds = f.poll_seconds;
  ModelRepository repository(options);
  // The first poll loads what is there before the port opens; a model with no loadable version
  // yet is served as not ready (503) and picked up by later polls.
  if (auto st = repository.PollOnce(); !st.ok()) return Fail(kExitUsage, st);

  // SIGINT/SIGTERM end the server whichever thread receives them; a client that hangs up
  // mid-answer does not (SIGPIPE ignored).
  stop_signals::Install();

  std::unique_ptr<Batcher> batcher;
  if (f.max_batch_size > 0) {
    batcher = std::make_unique<Batcher>(
        BatchingOptions{f.max_batch_size, f.batch_timeout_micros, f.num_batch_threads});
  }
  RestApi api(&repository, f.max_body_bytes, batcher.get());
  HttpServer server(&api, HttpServerOptions{f.host, f.rest_port, f.rest_threads});
  auto port = server.Start();
  if (!port.ok()) return Fail(kExitRuntime, port.status());
  const std::string grpc_address = absl::StrCat(
      f.host.find(':') != std::string::npos ? "[" + f.host + "]" : f.host, ":", f.grpc_port);
  auto grpc = ServeGrpcServer::Start(grpc_address, &repository, static_cast<int>(f.max_body_bytes),
                                     batcher.get());
  if (!grpc.ok()) return Fail(kExitRuntime, grpc.status());
  repository.Start();
  std::printf("REST listening on %s:%d\ngRPC listening on %s\n", f.host.c_str(), *port,
              (*grpc)->address().c_str());
  std::fflush(stdout);
  const int signal = stop_signals::Wait();
  std::fprintf(stderr, "parasol serve: stopping (%s)\n", signal == SIGINT ? "SIGINT" : "SIGTERM");
  server.Stop();
  (*grpc)->Shutdown();
  repository.Stop();
  return kExitOk;
}

}  // namespace parasol
