#include "cli/ps_command.h"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "cli/exit_codes.h"
#include "common/allocator.h"
#include "common/cluster_spec.h"
#include "common/status_macros.h"
#include "common/stop_signals.h"
#include "distributed/checkpoint_schedule.h"
#include "distributed/worker.h"
#include "predict/input_spec.h"
#include "ps/checkpoint.h"
#include "ps/grpc_server.h"
#include "ps/grpc_transport.h"
#include "ps/ps_node_builder.h"
#include "storage/manifest.h"
#include "train/progress.h"
#include "train/training_input.h"

namespace parasol {
namespace {

// Mini-batch size of distributed workers unless --batch-size says otherwise.
constexpr int kDefaultDistributedBatch = 256;

}  // namespace

namespace {

void AddPsServer(CLI::App* ps, PsServerFlags& f) {
  auto* server = ps->add_subcommand("server", "Serve one shard of the model's tables over gRPC");
  f.listen_flag = server->add_option(
      "--listen", f.listen,
      "HOST:PORT to listen on (default 127.0.0.1:9100, or this task's entry in $PARASOL_CLUSTER; "
      "port 0 picks one)");
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
  server->add_option("--min-count", f.min_count,
                     "Feature admission: a key gets a row at its Nth pushed sighting (count-min "
                     "sketch; default 0 = at once)");
  server->add_option("--ttl-seconds", f.ttl_seconds,
                     "Evict rows not updated for this many seconds (default 0 = never)");
  server->add_option("--checkpoint-dir", f.checkpoint_dir,
                     "Directory checkpoint requests write into (default: none, refused)");
  server->add_option("--restore", f.restore,
                     "Start from this checkpoint or model directory (with optimizer state)");
  server->add_option("--shard", f.shard,
                     "This server's index among --num-shards (default 0, or the task index in "
                     "$PARASOL_CLUSTER): which keys of --restore it keeps");
  server->add_option("--num-shards", f.num_shards, "Number of servers (default 1)");
  server->add_flag("--restore-clocks", f.restore_clocks,
                   "Also take the worker clocks of --restore (resuming the same job)");
  server->add_flag("--restore-latest", f.restore_latest,
                   "Start from the newest whole checkpoint under --checkpoint-dir when there "
                   "is one, worker clocks included (a restarted server of a running job); "
                   "--restore then only applies while there is none");
  server->add_option(
      "train-flags", f.train_args,
      "After '--': the job's training flags as its workers get them (--config, --train, "
      "--model, ...); the model and optimizer are then resolved from them, as the workers do, "
      "instead of from --model, --k, --optimizer, ... (the control plane's train jobs)");
  server->add_option("--dense", f.dense,
                     "A dense table NAME:SIZE (SIZE floats over all servers, each holding an "
                     "index range; same optimizer, --init-scale and --seed); repeatable");
}

void AddPsWorker(CLI::App* ps, PsWorkerFlags& w) {
  auto* worker = ps->add_subcommand(
      "worker", "Train on this worker's share of the data against running servers");
  worker->add_option("--servers", w.servers,
                     "Servers' HOST:PORT, comma-separated, in order (default: \"ps\" of "
                     "$PARASOL_CLUSTER)");
  worker->add_option("--worker-index", w.worker_index,
                     "This worker's index (default 0, or the task index in $PARASOL_CLUSTER)");
  worker->add_option("--num-workers", w.num_workers,
                     "Number of workers (default 1, or the \"worker\" count in $PARASOL_CLUSTER)");
  worker->add_flag("--resume", w.resume,
                   "Skip the batches server 0 records this worker as done (a restarted worker)");
  worker->add_option("--retry-seconds", w.retry_seconds,
                     "How long a call waits for an unavailable server, e.g. one being restarted "
                     "(default 60)");
  worker->add_option("--checkpoint-every", w.checkpoint_every,
                     "Worker 0 checkpoints the servers every N seconds ('30s') or N worker "
                     "batches ('500'), and once at the end; "
                     "other workers ignore it");
  worker->add_option("--checkpoint-dir", w.checkpoint_dir,
                     "The servers' --checkpoint-dir (where the manifests and LATEST go); without "
                     "--checkpoint-every worker 0 checkpoints once, at the end");
  worker->add_option("--keep-checkpoints", w.keep_checkpoints,
                     "Keep the newest N whole checkpoints (and what their deltas build on); 0: "
                     "all (default 5)");
  AddTrainOptions(worker, w.train, /*out_required=*/false);  // --out: worker 0 writes the model
}

void AddPsCheckpoint(CLI::App* ps, PsCheckpointFlags& c) {
  auto* checkpoint = ps->add_subcommand(
      "checkpoint",
      "Checkpoint running servers now (each writes its shard into their --checkpoint-dir)");
  checkpoint->add_option("--servers", c.servers, "Servers' HOST:PORT, comma-separated, in order")
      ->required();
  checkpoint->add_option("--dir", c.dir, "The servers' --checkpoint-dir (the manifest goes there)")
      ->required();
  checkpoint
      ->add_option("--model-from", c.model_from,
                   "A model directory or checkpoint of the same model (its manifest's "
                   "model, optimizer and input transforms describe the checkpoint)")
      ->required();
}

}  // namespace

CLI::App* AddPsCommand(CLI::App& app, PsServerFlags& f, PsWorkerFlags& w, PsCheckpointFlags& c) {
  auto* ps = app.add_subcommand("ps", "Parameter-server roles");
  ps->require_subcommand(1);
  AddPsServer(ps, f);
  AddPsWorker(ps, w);
  AddPsCheckpoint(ps, c);
  return ps;
}

int RunPsCheckpoint(const PsCheckpointFlags& f) {
  auto manifest = ReadModelManifest(f.model_from);
  if (!manifest.ok()) return Fail(kExitUsage, manifest.status());
  manifest->training_json = R"({"checkpoint": true})";
  GrpcTransport transport(absl::StrSplit(f.servers, ',', absl::SkipEmpty()),
                          /*retry_seconds=*/5);
  CheckpointCoordinator coordinator(f.dir, *manifest, &transport);
  auto dir = coordinator.Take();
  if (!dir.ok()) return Fail(kExitRuntime, dir.status());
  std::printf("%s\n", dir->c_str());
  return kExitOk;
}

namespace {

// Worker 0's checkpoint schedule from --checkpoint-every/--checkpoint-dir (a directory alone: the
// checkpoint at the end only); null when it does not checkpoint (other workers, or neither).
absl::StatusOr<std::unique_ptr<ScheduledCheckpoints>> WorkerCheckpoints(
    const PsWorkerFlags& f, const WorkerOptions& options, const InputSpec& input,
    const ModelSpec& spec, PsTransport& transport) {
  ASSIGN_OR_RETURN(const CheckpointSchedule schedule,
                   ParseCheckpointSchedule(f.checkpoint_every, "--checkpoint-every"));
  if ((!schedule.enabled() && f.checkpoint_dir.empty()) || options.worker_index != 0) {
    return std::unique_ptr<ScheduledCheckpoints>();
  }
  if (f.checkpoint_dir.empty()) {
    return absl::InvalidArgumentError("--checkpoint-every needs --checkpoint-dir");
  }
  if (f.keep_checkpoints < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--keep-checkpoints must be >= 0, got ", f.keep_checkpoints));
  }
  ModelManifest manifest =
      BuildManifest(spec, options.train.resolved_optimizer(), input, 0, "{\"checkpoint\": true}");
  manifest.dense_optimizer = options.train.resolved_dense_optimizer();
  return std::make_unique<ScheduledCheckpoints>(
      schedule,
      std::make_unique<CheckpointCoordinator>(f.checkpoint_dir, std::move(manifest), &transport,
                                              /*full_every=*/10, f.keep_checkpoints),
      &transport, "worker 0");
}

}  // namespace

int RunPsWorker(const PsWorkerFlags& f) {
  KeepLargeBuffersMapped();
  auto config = ResolveTrainConfig(f.train, /*out_required=*/false);
  if (!config.ok()) return Fail(kExitUsage, config.status());
  WorkerOptions options;
  options.train = *config;
  if (options.train.batch_size == 0) {
    options.train.batch_size = kDefaultDistributedBatch;
  }
  std::vector<std::string> servers = absl::StrSplit(f.servers, ',', absl::SkipEmpty());
  options.worker_index = f.worker_index;
  options.num_workers = f.num_workers;
  options.resume = f.resume;
  const char* report = std::getenv(kMetricsFileEnv);  // set for replicas of a control-plane job
  if (report != nullptr) options.metrics_path = report;
  auto cluster = ClusterSpecFromEnv();
  if (!cluster.ok()) return Fail(kExitUsage, cluster.status());
  if (cluster->has_value() && f.servers.empty()) {
    const ClusterSpec& spec = **cluster;
    if (spec.task_type != "worker") {
      return Fail(kExitUsage, absl::StrCat(kClusterEnv, ": task.type is '", spec.task_type,
                                           "', but this is a worker"));
    }
    servers = spec.servers();
    options.worker_index = spec.task_index;
    options.num_workers = static_cast<int>(spec.workers().size());
  }
  if (servers.empty()) {
    return Fail(kExitUsage, absl::StrCat("no servers: give --servers or set ", kClusterEnv));
  }
  auto prepared = PrepareTraining(options.train);
  if (!prepared.ok()) return Fail(kExitRuntime, prepared.status());
  const auto& [input, spec] = *prepared;
  GrpcTransport transport(servers, f.retry_seconds);
  auto checkpoints = WorkerCheckpoints(f, options, input, spec, transport);
  if (!checkpoints.ok()) return Fail(kExitUsage, checkpoints.status());
  std::function<void()> checkpoint_now;
  if (*checkpoints != nullptr) {
    options.after_clock = [&](int64_t) {
      (*checkpoints)->Tick();
      return absl::OkStatus();
    };
    checkpoint_now = [&] { (*checkpoints)->TakeNow(); };
  }
  const std::string out = options.train.out_dir;
  auto summary = RunWorkerJob(options, input, spec, transport, checkpoint_now, [&](int epoch) {
    if (epoch > 0) {
      std::fprintf(stderr, "worker 0: epoch %d is the best so far; model written to %s\n", epoch,
                   out.c_str());
    } else {
      std::fprintf(stderr, "worker 0: model written to %s\n", out.c_str());
    }
  });
  if (!summary.ok()) return Fail(kExitRuntime, summary.status());
  if (summary->resumed_after > 0) {
    std::fprintf(stderr, "worker %d/%d: resumed after batch %lld\n", options.worker_index,
                 options.num_workers, static_cast<long long>(summary->resumed_after));
  }
  std::fprintf(stderr, "worker %d/%d: %llu examples, last epoch loss %.5f%s\n",
               options.worker_index, options.num_workers,
               static_cast<unsigned long long>(summary->examples), summary->loss,
               summary->valid_auc ? absl::StrFormat(", valid auc %.5f logloss %.5f",
                                                    *summary->valid_auc, *summary->valid_logloss)
                                        .c_str()
                                  : "");
  if (options.worker_index == 0 && summary->best_epoch > 0 && !out.empty()) {
    std::fprintf(stderr, "worker 0: model written to %s (best epoch %d)\n", out.c_str(),
                 summary->best_epoch);
  }
  return kExitOk;
}

namespace {

// The model and optimizer of the job whose training flags are `args` (ps server -- ARGS).
absl::Status ApplyTrainingFlags(const std::vector<std::string>& args, ServerTableConfig* config) {
  CLI::App parser("the training flags of a parameter server");
  TrainFlags train;
  AddTrainOptions(&parser, train, /*out_required=*/false);
  std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 parses from the back
  try {
    parser.parse(reversed);
  } catch (const CLI::ParseError& e) {
    return absl::InvalidArgumentError(absl::StrCat("training flags after '--': ", e.what()));
  }
  auto resolved = ResolveTrainConfig(train, /*out_required=*/false);
  if (!resolved.ok()) return resolved.status();
  // As the workers resolve it, minus their pass over the data for normalize statistics, which
  // the rows' shape does not depend on.
  auto input = InputSpecFromConfig(*resolved);
  if (!input.ok()) return input.status();
  auto spec = ResolveModelSpec(*resolved, *input);
  if (!spec.ok()) return spec.status();
  config->model = *spec;
  config->optimizer = resolved->resolved_optimizer();
  config->dense_optimizer = resolved->resolved_dense_optimizer();
  return absl::OkStatus();
}

// A dense table from a --dense NAME:SIZE flag.
absl::StatusOr<DenseTableSpec> ParseDenseFlag(const std::string& spec, const std::string& sparse) {
  const size_t colon = spec.rfind(':');
  DenseTableSpec out;
  out.name = spec.substr(0, colon == std::string::npos ? 0 : colon);
  if (colon == std::string::npos || !absl::SimpleAtoi(spec.substr(colon + 1), &out.size) ||
      out.name.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--dense '", spec, "': expected NAME:SIZE, e.g. mlp0:65536"));
  }
  if (out.name == sparse) {
    return absl::InvalidArgumentError(
        absl::StrCat("--dense '", spec, "': the sparse table is already called '", out.name, "'"));
  }
  return out;
}

// The server's settings from its flags (and $PARASOL_CLUSTER); *listen gets its address.
absl::StatusOr<PsNodeOptions> PsNodeOptionsFromFlags(const PsServerFlags& flags,
                                                     std::string* listen) {
  PsServerFlags f = flags;
  ASSIGN_OR_RETURN(auto cluster, ClusterSpecFromEnv());
  if (cluster.has_value()) {
    const ClusterSpec& spec = *cluster;
    if (spec.task_type != "ps") {
      return absl::InvalidArgumentError(absl::StrCat(
          kClusterEnv, ": task.type is '", spec.task_type, "', but this is a parameter server"));
    }
    if (f.listen_flag == nullptr || f.listen_flag->count() == 0) {
      f.listen = spec.servers()[spec.task_index];
    }
    f.shard = spec.task_index;
    f.num_shards = static_cast<int>(spec.servers().size());
  }
  *listen = f.listen;
  PsNodeOptions options;
  ServerTableConfig& config = options.table;
  config.model.num_fields = f.fields;
  config.model.init_scale = f.init_scale;
  config.optimizer.ftrl_beta = f.ftrl_beta;
  config.optimizer.adam_beta1 = f.adam_beta1;
  config.optimizer.adam_beta2 = f.adam_beta2;
  config.optimizer.epsilon = f.epsilon;
  config.name = f.table;
  config.min_count = f.min_count;
  config.ttl_seconds = f.ttl_seconds;
  ASSIGN_OR_RETURN(config.model.type, ParseModelType(f.model));
  config.model.k = f.k;
  config.model.seed = f.seed;
  config.optimizer.name = f.optimizer;
  config.optimizer.lr = f.lr;
  config.optimizer.l1 = f.l1;
  config.optimizer.l2 = f.l2;
  if (!f.train_args.empty()) RETURN_IF_ERROR(ApplyTrainingFlags(f.train_args, &config));
  for (const std::string& spec : f.dense) {
    ASSIGN_OR_RETURN(DenseTableSpec dense, ParseDenseFlag(spec, config.name));
    options.dense.push_back(std::move(dense));
  }
  options.checkpoint_root = f.checkpoint_dir;
  options.restore = f.restore;
  options.shard = f.shard;
  options.num_shards = f.num_shards;
  options.restore_clocks = f.restore_clocks;
  options.restore_latest = f.restore_latest;
  return options;
}

// What the server did, printed when it stops.
void PrintStopLines(const PsGrpcServer& server, int signal) {
  const std::string& address = server.address();
  for (const auto& table : server.node()->tables()) {
    const ServerTableStats s = table->Stats();
    std::fprintf(stderr,
                 "ps server %s stopping (%s): table %s, %llu rows, %llu bytes, %llu evicted, "
                 "%llu keys pulled, %llu pushed, %llu not admitted\n",
                 address.c_str(), signal == SIGINT ? "SIGINT" : "SIGTERM", s.name.c_str(),
                 static_cast<unsigned long long>(s.rows), static_cast<unsigned long long>(s.bytes),
                 static_cast<unsigned long long>(s.evicted_rows),
                 static_cast<unsigned long long>(s.pulled_keys),
                 static_cast<unsigned long long>(s.pushed_keys),
                 static_cast<unsigned long long>(s.unadmitted_keys));
  }
  for (const auto& table : server.node()->dense_tables()) {
    const DenseTableStats d = table->Stats();
    std::fprintf(stderr,
                 "ps server %s: dense table %s, [%llu, %llu) of %llu, %llu bytes, %llu floats "
                 "pulled, %llu pushed\n",
                 address.c_str(), d.name.c_str(), static_cast<unsigned long long>(d.range.begin),
                 static_cast<unsigned long long>(d.range.end),
                 static_cast<unsigned long long>(d.size), static_cast<unsigned long long>(d.bytes),
                 static_cast<unsigned long long>(d.pulled),
                 static_cast<unsigned long long>(d.pushed));
  }
}

}  // namespace

int RunPsServer(const PsServerFlags& flags) {
  KeepLargeBuffersMapped();
  std::string listen;
  auto options = PsNodeOptionsFromFlags(flags, &listen);
  if (!options.ok()) return Fail(kExitUsage, options.status());
  auto node = BuildPsNode(*options);
  if (!node.ok()) {
    const bool usage = node.status().code() == absl::StatusCode::kInvalidArgument;
    return Fail(usage ? kExitUsage : kExitRuntime, node.status());
  }
  stop_signals::Install();  // SIGINT/SIGTERM stop the server, whichever thread gets them
  auto server = PsGrpcServer::Start(listen, node->get());
  if (!server.ok()) return Fail(kExitRuntime, server.status());
  std::printf("listening on %s\n", (*server)->address().c_str());
  std::fflush(stdout);
  (*node)->StartEviction();
  const int signal = stop_signals::Wait();
  (*server)->Shutdown();
  PrintStopLines(**server, signal);
  // Exit without destroying the gRPC server: gRPC 1.51's grpc_shutdown() in ~Server joins its
  // executor, which can sit for up to ~10 s in a closure left by a client that disconnected just
  // before (worker 0 writing the model and exiting), and the job's supervisor then kills the
  // server after its grace period. Nothing is left to save: checkpoints and the model are
  // written while the server runs.
  std::fflush(nullptr);
  std::_Exit(kExitOk);
}

}  // namespace parasol
