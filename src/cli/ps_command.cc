#include "cli/ps_command.h"

#include <csignal>
#include <cstdio>

#include "ps/grpc_server.h"

namespace parasol {

CLI::App* AddPsCommand(CLI::App& app, PsServerFlags& f) {
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
  return ps;
}

int RunPsServer(const PsServerFlags& f) {
  ServerTableConfig config;
  config.name = f.table;
  auto type = ParseModelType(f.model);
  if (!type.ok()) {
    std::fprintf(stderr, "parasol: error: %s\n", std::string(type.status().message()).c_str());
    return 2;
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
    std::fprintf(stderr, "parasol: error: %s\n", std::string(table.status().message()).c_str());
    return 2;
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
    std::fprintf(stderr, "parasol: error: %s\n", std::string(server.status().message()).c_str());
    return 1;
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
  return 0;
}

}  // namespace parasol
