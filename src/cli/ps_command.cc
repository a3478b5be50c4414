#include "cli/ps_command.h"

#include <csignal>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "cli/exit_codes.h"
#include "ps/grpc_server.h"
#include "train/distributed.h"
#include "train/input_spec.h"

namespace parasol {
namespace {

// Mini-batch size of distributed workers unless --batch-size says otherwise.
constexpr int kDefaultDistributedBatch = 256;

}  // namespace

CLI::App* AddPsCommand(CLI::App& app, PsServerFlags& f, PsWorkerFlags& w) {
  auto* ps = app.add_subcommand("ps", "Parameter-server roles");
  ps->require_subcommand(1);
  auto* server = ps->add_subcommand("server", "Serve one shard of the model's tables over gRPC");
  server->add_option("--listen", f.listen,
                     "HOST:PORT to listen on (default 127.0.0.1:9100; port 0 picks one)");
  server->add_option("--table", f.table, "Table name (default weights)");
  server->add_option("--model", f.model,
                     "lr | fm | ffm | perceptron: row width and initial weights (default lr)");
  server->add_option("--k", f.k, "Factor dimension for fm/ffm (default 8)");
  server->add_option("--optimizer", f.optimizer,
                     "sgd | adagrad | ftrl | adam: the update applied to pushed gradients");
  server->add_option("--lr", f.lr, "Learning rate (default per optimizer)");
  server->add_option("--l1", f.l1, "L1 regularisation");
  server->add_option("--l2", f.l2, "L2 regularisation");
  server->add_option("--seed", f.seed, "Seed for initial weights (default 1)");
  server->add_option("--fields", f.fields, "FFM: number of fields (default 1)");
  server->add_option("--init-scale", f.init_scale, "Initial factor scale (default 0.01)");
  server->add_option("--ftrl-beta", f.ftrl_beta, "FTRL beta (default 1)");
  server->add_option("--adam-beta1", f.adam_beta1, "Adam beta1 (default 0.9)");
  server->add_option("--adam-beta2", f.adam_beta2, "Adam beta2 (default 0.999)");
  server->add_option("--epsilon", f.epsilon, "AdaGrad/Adam epsilon (default 1e-8)");

  auto* worker = ps->add_subcommand(
      "worker", "Train on this worker's share of the data against running servers");
  worker->add_option("--servers", w.servers, "Servers' HOST:PORT, comma-separated, in order")
      ->required();
  worker->add_option("--worker-index", w.worker_index, "This worker's index (default 0)");
  worker->add_option("--num-workers", w.num_workers, "Number of workers (default 1)");
  AddTrainOptions(worker, w.train, /*out_required=*/false);
  return ps;
}

int RunPsWorker(const PsWorkerFlags& f) {
  auto config = ResolveTrainConfig(f.train, /*out_required=*/false);
  if (!config.ok()) return Fail(kExitUsage, config.status());
  WorkerOptions options;
  options.train = *config;
  if (options.train.batch_size == 1 && !f.train.batch->count()) {
    options.train.batch_size = kDefaultDistributedBatch;
  }
  options.servers = absl::StrSplit(f.servers, ',', absl::SkipEmpty());
  options.worker_index = f.worker_index;
  options.num_workers = f.num_workers;
  auto summary = RunWorker(options);
  if (!summary.ok()) return Fail(kExitRuntime, summary.status());
  std::fprintf(stderr, "worker %d/%d: %llu examples, last epoch loss %.5f\n", f.worker_index,
               f.num_workers, static_cast<unsigned long long>(summary->examples), summary->loss);
  return kExitOk;
}

int RunPsServer(const PsServerFlags& f) {
  ServerTableConfig config;
  config.model.num_fields = f.fields;
  config.model.init_scale = f.init_scale;
  config.optimizer.ftrl_beta = f.ftrl_beta;
  config.optimizer.adam_beta1 = f.adam_beta1;
  config.optimizer.adam_beta2 = f.adam_beta2;
  config.optimizer.epsilon = f.epsilon;
  config.name = f.table;
  auto type = ParseModelType(f.model);
  if (!type.ok()) {
    return Fail(kExitUsage, type.status());
  }
  config.model.type = *type;
  config.model.k = f.k;
  config.model.seed = f.seed;
  config.optimizer.name = f.optimizer;
  config.optimizer.lr = f.lr;
  config.optimizer.l1 = f.l1;
  config.optimizer.l2 = f.l2;
  auto table = ServerTable::Create(config);
  if (!table.ok()) {
    return Fail(kExitUsage, table.status());
  }
  // Block the stop signals before gRPC starts its threads, then wait for one here.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  std::vector<std::unique_ptr<ServerTable>> tables;
  tables.push_back(*std::move(table));
  auto server = PsGrpcServer::Start(f.listen, std::move(tables));
  if (!server.ok()) {
    return Fail(kExitRuntime, server.status());
  }
  std::printf("listening on %s\n", (*server)->address().c_str());
  std::fflush(stdout);
  int signal = 0;
  sigwait(&stop, &signal);
  const ServerTableStats s = (*server)->table(f.table)->Stats();
  (*server)->Shutdown();
  std::fprintf(stderr,
               "ps server %s stopping (%s): table %s, %llu rows, %llu bytes, %llu keys pulled, "
               "%llu pushed\n",
               (*server)->address().c_str(), signal == SIGINT ? "SIGINT" : "SIGTERM",
               s.name.c_str(), static_cast<unsigned long long>(s.rows),
               static_cast<unsigned long long>(s.bytes),
               static_cast<unsigned long long>(s.pulled_keys),
               static_cast<unsigned long long>(s.pushed_keys));
  return kExitOk;
}

}  // namespace parasol
