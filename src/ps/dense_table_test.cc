// Dense tables: index ranges over servers, the shared optimizer code, the worker's split calls,
// and checkpoints written by real gRPC servers restored onto a different number of servers.
#include "ps/dense_table.h"

#include <unistd.h>

#include <filesystem>
#include <future>
#include <thread>

#include "gtest/gtest.h"
#include "ps/checkpoint.h"
#include "ps/grpc_server.h"
#include "ps/grpc_transport.h"
#include "ps/kv_worker.h"
#include "ps/transport.h"
#include "storage/checkpoint_dir.h"
#include "storage/model_dir.h"

namespace parasol {
namespace {

DenseTableConfig Config(uint64_t size, const std::string& optimizer = "adagrad") {
  DenseTableConfig c;
  c.name = "mlp";
  c.size = size;
  c.init_scale = 0.1f;
  c.seed = 7;
  c.optimizer.name = optimizer;
  c.optimizer.lr = 0.5f;
  return c;
}

// n servers' shares of one dense table, and a worker over them in this process.
struct LocalCluster {
  LocalCluster(int n, const DenseTableConfig& config) {
    std::vector<PsNode*> raw;
    for (int s = 0; s < n; ++s) {
      ServerTableConfig sc;
      std::vector<std::unique_ptr<ServerTable>> sparse;
      sparse.push_back(*ServerTable::Create(sc));
      std::vector<std::unique_ptr<DenseTable>> dense;
      dense.push_back(*DenseTable::Create(config, s, n));
      tables.push_back(dense.back().get());
      nodes.push_back(std::make_unique<PsNode>(std::move(sparse), std::move(dense)));
      raw.push_back(nodes.back().get());
    }
    transport = std::make_unique<InProcessTransport>(raw);
    worker = std::make_unique<KvWorker>(transport.get(), "weights", 1);
  }
  std::vector<std::unique_ptr<PsNode>> nodes;
  std::vector<DenseTable*> tables;
  std::unique_ptr<InProcessTransport> transport;
  std::unique_ptr<KvWorker> worker;
};

TEST(DenseRangeTest, RangesAreContiguousDisjointAndCoverTheTable) {
  for (uint64_t size : {1, 2, 10, 4097}) {
    for (int n : {1, 2, 3, 7}) {
      uint64_t next = 0;
      for (int s = 0; s < n; ++s) {
        const IndexRange r = DenseRange(size, s, n);
        EXPECT_EQ(r.begin, next) << size << " " << n << " " << s;
        EXPECT_LE(r.size(), size / n + 1);
        next = r.end;
      }
      EXPECT_EQ(next, size);
    }
  }
}

TEST(DenseTableTest, PushAppliesTheSameOptimizerAsTheTrainer) {
  const DenseTableConfig config = Config(10000);
  auto table = *DenseTable::Create(config, 0, 1);
  std::vector<float> w(config.size);
  ASSERT_TRUE(table->Pull(0, absl::MakeSpan(w)).ok());
  EXPECT_NE(w[0], w[1]);  // random initial weights
  auto optimizer = *CreateOptimizer(config.optimizer);
  std::vector<float> state(config.size * optimizer->state_per_weight());
  optimizer->InitState(w.data(), state.data(), static_cast<int>(w.size()));
  std::vector<float> grads(config.size);
  for (int step = 1; step <= 3; ++step) {
    for (size_t i = 0; i < grads.size(); ++i) grads[i] = 0.01f * static_cast<float>(i % 13) - 0.05f;
    ASSERT_TRUE(table->Push(0, grads).ok());
    optimizer->Update(w.data(), state.data(), grads.data(), static_cast<int>(w.size()), step);
  }
  std::vector<float> got(config.size);
  ASSERT_TRUE(table->Pull(0, absl::MakeSpan(got)).ok());
  EXPECT_EQ(got, w);
}

TEST(DenseTableTest, OutOfRangeAndNonFiniteRequestsChangeNothing) {
  auto table = *DenseTable::Create(Config(10), 1, 2);  // holds [5, 10)
  EXPECT_EQ(table->range().begin, 5u);
  std::vector<float> before(5), after(5), out(3);
  ASSERT_TRUE(table->Pull(5, absl::MakeSpan(before)).ok());
  EXPECT_EQ(table->Pull(3, absl::MakeSpan(out)).code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(table->Pull(8, absl::MakeSpan(out)).code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(table->Push(9, std::vector<float>{1, 1}).code(), absl::StatusCode::kOutOfRange);
  const absl::Status nan = table->Push(5, std::vector<float>{1, NAN});
  EXPECT_EQ(nan.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(nan.message().find("index 6"), std::string::npos) << nan;
  ASSERT_TRUE(table->Pull(5, absl::MakeSpan(after)).ok());
  EXPECT_EQ(after, before);
  EXPECT_FALSE(DenseTable::Create(Config(0), 0, 1).ok());
  EXPECT_FALSE(DenseTable::Create(Config(10), 2, 2).ok());
}

TEST(DenseTableTest, ConcurrentPushesAreAllApplied) {
  DenseTableConfig config = Config(20000, "sgd");
  config.init_scale = 0;
  config.optimizer.lr = 1;
  auto table = *DenseTable::Create(config, 0, 1);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      const std::vector<float> grads(config.size, 1.0f);
      for (int i = 0; i < 50; ++i) ASSERT_TRUE(table->Push(0, grads).ok());
    });
  }
  for (auto& t : threads) t.join();
  std::vector<float> w(config.size);
  ASSERT_TRUE(table->Pull(0, absl::MakeSpan(w)).ok());
  for (float x : w) ASSERT_FLOAT_EQ(x, -200.0f);  // SGD, lr 1: minus the sum of the gradients
  EXPECT_EQ(table->Stats().pushed, 200u * config.size);
}

TEST(DenseTableTest, WorkerSplitsByRangeAndAnyServerCountGivesTheSameTable) {
  const DenseTableConfig config = Config(1001);
  LocalCluster one(1, config), three(3, config);
  std::vector<float> grads(config.size);
  for (size_t i = 0; i < grads.size(); ++i) grads[i] = 0.001f * static_cast<float>(i);
  for (LocalCluster* c : {&one, &three}) {
    const int before = c->transport->requests();
    ASSERT_TRUE(c->worker->Wait(c->worker->PushDense("mlp", grads)).ok());
    EXPECT_EQ(c->transport->requests() - before, static_cast<int>(c->tables.size()));
  }
  std::vector<float> a, b;
  ASSERT_TRUE(one.worker->Wait(one.worker->PullDense("mlp", config.size, &a)).ok());
  ASSERT_TRUE(three.worker->Wait(three.worker->PullDense("mlp", config.size, &b)).ok());
  ASSERT_EQ(a.size(), config.size);
  EXPECT_EQ(a, b);
  std::vector<float> unknown;
  EXPECT_EQ(one.worker->Wait(one.worker->PullDense("nope", 10, &unknown)).code(),
            absl::StatusCode::kNotFound);
}

std::unique_ptr<PsGrpcServer> StartServer(int shard, int num_shards, const std::string& root) {
  ServerTableConfig sparse;
  sparse.optimizer.name = "adagrad";
  std::vector<std::unique_ptr<ServerTable>> tables;
  tables.push_back(*ServerTable::Create(sparse));
  std::vector<std::unique_ptr<DenseTable>> dense;
  dense.push_back(*DenseTable::Create(Config(777), shard, num_shards));
  auto server = PsGrpcServer::Start("127.0.0.1:0", std::move(tables), root, std::move(dense));
  EXPECT_TRUE(server.ok()) << server.status();
  return *std::move(server);
}

TEST(DenseTableGrpcTest, CheckpointOfTwoServersRestoresOntoThree) {
  namespace fs = std::filesystem;
  const std::string root =
      ::testing::TempDir() + "/dense_ckpt_" + std::to_string(getpid()) + "/ckpt";
  fs::remove_all(fs::path(root).parent_path());
  std::vector<std::unique_ptr<PsGrpcServer>> servers;
  servers.push_back(StartServer(0, 2, root));
  servers.push_back(StartServer(1, 2, root));
  std::vector<float> written;
  std::string dir;
  {
    GrpcTransport transport({servers[0]->address(), servers[1]->address()}, 5);
    KvWorker worker(&transport, "weights", 1);
    std::vector<float> grads(777, 0.25f);
    ASSERT_TRUE(worker.Wait(worker.PushDense("mlp", grads)).ok());
    ASSERT_TRUE(worker.Wait(worker.PullDense("mlp", 777, &written)).ok());
    // A malformed request: a range another server holds.
    std::vector<float> out;
    std::promise<absl::Status> done;
    transport.DensePull(0, "mlp", 700, 10, &out, [&](absl::Status s) { done.set_value(s); });
    EXPECT_EQ(done.get_future().get().code(), absl::StatusCode::kOutOfRange);

    ModelManifest manifest;
    manifest.optimizer.name = "adagrad";
    CheckpointCoordinator coordinator(root, manifest, &transport);
    auto taken = coordinator.Take();
    ASSERT_TRUE(taken.ok()) << taken.status();
    dir = *taken;
  }
  auto info = ReadCheckpointInfo(dir);
  ASSERT_TRUE(info.ok()) << info.status();
  ASSERT_EQ(info->dense.size(), 1u);
  EXPECT_EQ(info->dense[0].name, "mlp");
  EXPECT_EQ(info->dense[0].shards.size(), 2u);
  // The sparse table still loads as a model from the same directory.
  EXPECT_TRUE(LoadModelDir(dir, /*with_state=*/true).ok());

  std::vector<float> weights, state;
  ASSERT_TRUE(LoadDenseTable(dir, info->dense[0], &weights, &state).ok());
  EXPECT_EQ(weights, written);
  std::vector<std::unique_ptr<PsNode>> three;
  std::vector<PsNode*> three_raw;
  for (int s = 0; s < 3; ++s) {
    std::vector<std::unique_ptr<DenseTable>> dense;
    dense.push_back(*DenseTable::Create(Config(777), s, 3));
    ASSERT_TRUE(dense.back()->Restore(weights, state).ok());
    std::vector<std::unique_ptr<ServerTable>> sparse;
    sparse.push_back(*ServerTable::Create(ServerTableConfig{}));
    three.push_back(std::make_unique<PsNode>(std::move(sparse), std::move(dense)));
    three_raw.push_back(three.back().get());
  }
  InProcessTransport restored(three_raw);
  KvWorker worker(&restored, "weights", 1);
  std::vector<float> got;
  ASSERT_TRUE(worker.Wait(worker.PullDense("mlp", 777, &got)).ok());
  EXPECT_EQ(got, written);
  // The optimizer state came back too: one more identical push gives identical weights.
  const std::vector<float> more(777, -0.5f);
  {
    GrpcTransport transport({servers[0]->address(), servers[1]->address()}, 5);
    KvWorker original(&transport, "weights", 1);
    ASSERT_TRUE(original.Wait(original.PushDense("mlp", more)).ok());
    ASSERT_TRUE(original.Wait(original.PullDense("mlp", 777, &written)).ok());
  }
  ASSERT_TRUE(worker.Wait(worker.PushDense("mlp", more)).ok());
  ASSERT_TRUE(worker.Wait(worker.PullDense("mlp", 777, &got)).ok());
  EXPECT_EQ(got, written);
  fs::remove_all(fs::path(root).parent_path());
}

}  // namespace
}  // namespace parasol
