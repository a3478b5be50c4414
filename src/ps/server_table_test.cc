#include "ps/server_table.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "ps/checkpoint.h"
#include "ps/count_min.h"
#include "ps/shard_map.h"
#include "ps/shard_writer.h"
#include "storage/checkpoint_dir.h"
#include "storage/model_dir.h"

namespace parasol {
namespace {

std::unique_ptr<ServerTable> MakeTable(const std::string& optimizer,
                                       ModelType type = ModelType::kLr) {
  ServerTableConfig config;
  config.model.type = type;
  config.model.k = 2;
  config.optimizer.name = optimizer;
  config.optimizer.lr = 0.1f;
  auto table = ServerTable::Create(config);
  EXPECT_TRUE(table.ok()) << table.status();
  return *std::move(table);
}

TEST(ShardMapTest, EveryKeyHasOneServerAndRangesBalance) {
  const ShardMap map(3);
  std::vector<int> counts(3, 0);
  for (uint64_t k = 0; k < 30000; ++k) {
    const int s = map.ServerOf(k);  // small keys, as with --hash-bits
    ASSERT_GE(s, 0);
    ASSERT_LT(s, 3);
    ++counts[s];
  }
  for (int c : counts) EXPECT_NEAR(c, 10000, 500);
  // Ranges: server order follows the mixed key.
  EXPECT_EQ(ShardMap(4).ServerOf(0), ShardMap(4).ServerOf(0));
  EXPECT_EQ(ShardMap(1).ServerOf(~uint64_t{0}), 0);
}

TEST(ServerTableTest, PushAppliesTheSameUpdateAsTheLocalOptimizer) {
  for (const char* name : {"sgd", "adagrad", "ftrl", "adam"}) {
    auto table = MakeTable(name, ModelType::kFm);
    const int dim = table->dim();
    ASSERT_EQ(dim, 3);
    // The same row, initialised and updated locally.
    ModelSpec spec;
    spec.type = ModelType::kFm;
    spec.k = 2;
    auto model = *Model::Create(spec);
    OptimizerConfig oc;
    oc.name = name;
    oc.lr = 0.1f;
    auto opt = *CreateOptimizer(oc);
    std::vector<float> row(dim * (1 + opt->state_per_weight()));
    model->InitRow(42, row.data());
    opt->InitState(row.data(), row.data() + dim, dim);
    const std::vector<float> g1 = {0.5f, -0.25f, 0.125f}, g2 = {-1.0f, 0.5f, 0.0f};
    opt->Update(row.data(), row.data() + dim, g1.data(), dim, 1);
    opt->Update(row.data(), row.data() + dim, g2.data(), dim, 2);

    const uint64_t key = 42;
    ASSERT_TRUE(table->Push({&key, 1}, g1).ok());
    ASSERT_TRUE(table->Push({&key, 1}, g2).ok());
    std::vector<float> pulled(dim);
    table->Pull({&key, 1}, absl::MakeSpan(pulled));
    for (int j = 0; j < dim; ++j) EXPECT_EQ(pulled[j], row[j]) << name << " " << j;
  }
}

TEST(ServerTableTest, PullAnswersInitialWeightsWithoutCreatingRows) {
  auto table = MakeTable("sgd", ModelType::kFm);
  const uint64_t keys[2] = {7, 8};
  std::vector<float> out(6);
  table->Pull(keys, absl::MakeSpan(out));
  ModelSpec spec;
  spec.type = ModelType::kFm;
  spec.k = 2;
  std::vector<float> want(3);
  (*Model::Create(spec))->InitRow(8, want.data());
  EXPECT_EQ(std::vector<float>(out.begin() + 3, out.end()), want);
  EXPECT_EQ(table->Stats().rows, 0u);  // memory grows with pushes only
  EXPECT_EQ(table->Stats().pulled_keys, 2u);
  // The row a push creates starts from the same weights.
  const std::vector<float> zero(3, 0.0f);
  ASSERT_TRUE(table->Push({&keys[1], 1}, zero).ok());
  std::vector<float> again(3);
  table->Pull({&keys[1], 1}, absl::MakeSpan(again));
  EXPECT_EQ(again, want);
  EXPECT_EQ(table->Stats().rows, 1u);
}

TEST(ServerTableTest, MalformedPushIsRejectedAndChangesNothing) {
  auto table = MakeTable("sgd");
  const uint64_t keys[2] = {1, 2};
  const std::vector<float> short_grads = {1.0f};
  auto st = table->Push(keys, short_grads);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("2 keys need 2 gradients"), std::string::npos) << st;
  const std::vector<float> nan_grads = {1.0f, std::nanf("")};
  EXPECT_EQ(table->Push(keys, nan_grads).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(table->Stats().pushed_keys, 0u);
  std::vector<float> out(2);
  table->Pull(keys, absl::MakeSpan(out));
  EXPECT_EQ(out, std::vector<float>({0.0f, 0.0f}));
}

TEST(ServerTableTest, ConcurrentSgdPushesAllLand) {
  auto table = MakeTable("sgd");
  constexpr int kThreads = 4, kPushes = 2000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      const uint64_t keys[3] = {10, 11, 12};
      const float grads[3] = {1.0f, 1.0f, 1.0f};
      for (int i = 0; i < kPushes; ++i) ASSERT_TRUE(table->Push(keys, grads).ok());
    });
  }
  for (auto& th : threads) th.join();
  const uint64_t key = 11;
  float w;
  table->Pull({&key, 1}, {&w, 1});
  // SGD with lr 0.1: every one of the 8000 unit gradients moved w by -0.1.
  EXPECT_NEAR(w, -0.1f * kThreads * kPushes, 0.5f);
}

TEST(ServerTableTest, PullsDuringPushesNeverSeeATornRow) {
  ServerTableConfig config;
  config.model.type = ModelType::kFm;
  config.model.k = 63;  // rows of 64 weights, all starting at 0
  config.model.init_scale = 0;
  config.optimizer.name = "sgd";
  config.optimizer.lr = 1.0f;
  auto table = *ServerTable::Create(config);
  const std::vector<uint64_t> keys = {3, 4, 5, 6};
  std::atomic<bool> done{false};
  std::vector<std::thread> writers;
  for (int t = 0; t < 2; ++t) {
    writers.emplace_back([&] {
      const std::vector<float> grads(keys.size() * 64, -1.0f);  // every weight +1 per push
      for (int i = 0; i < 20000; ++i) ASSERT_TRUE(table->Push(keys, grads).ok());
    });
  }
  std::thread reader([&] {
    std::vector<float> out(keys.size() * 64);
    int torn = 0;
    while (!done.load()) {
      table->Pull(keys, absl::MakeSpan(out));
      for (size_t k = 0; k < keys.size(); ++k) {
        for (int j = 1; j < 64; ++j) torn += out[k * 64 + j] != out[k * 64];
      }
    }
    EXPECT_EQ(torn, 0);
  });
  for (auto& w : writers) w.join();
  done = true;
  reader.join();
  std::vector<float> out(64);
  table->Pull({&keys[0], 1}, absl::MakeSpan(out));
  EXPECT_EQ(out[0], 40000.0f);
}

// A clock the tests move by hand.
struct FakeClock {
  double now = 100;
  std::function<double()> fn() {
    return [this] { return now; };
  }
};

std::unique_ptr<ServerTable> MakeTableWith(ServerTableConfig config) {
  config.model.type = ModelType::kLr;
  config.optimizer.name = "sgd";
  config.optimizer.lr = 1.0f;
  auto table = ServerTable::Create(config);
  EXPECT_TRUE(table.ok()) << table.status();
  return *std::move(table);
}

TEST(ServerTableTest, AdmissionCreatesARowOnlyAtTheNthPushedSighting) {
  ServerTableConfig config;
  config.min_count = 3;
  config.sketch_width = 1 << 12;
  auto table = MakeTableWith(config);
  const uint64_t key = 77;
  const float grad = 1.0f;
  ASSERT_TRUE(table->Push({&key, 1}, {&grad, 1}).ok());
  ASSERT_TRUE(table->Push({&key, 1}, {&grad, 1}).ok());
  EXPECT_EQ(table->Stats().rows, 0u);
  EXPECT_EQ(table->Stats().unadmitted_keys, 2u);
  float w = 5;
  table->Pull({&key, 1}, {&w, 1});
  EXPECT_EQ(w, 0.0f);                                    // dropped gradients left no trace
  ASSERT_TRUE(table->Push({&key, 1}, {&grad, 1}).ok());  // third sighting: admitted, applied
  EXPECT_EQ(table->Stats().rows, 1u);
  table->Pull({&key, 1}, {&w, 1});
  EXPECT_EQ(w, -1.0f);
  EXPECT_EQ(table->Stats().pushed_keys, 1u);
}

TEST(ServerTableTest, RowsIdleLongerThanTheTtlAreEvicted) {
  FakeClock clock;
  ServerTableConfig config;
  config.ttl_seconds = 10;
  config.clock = clock.fn();
  auto table = MakeTableWith(config);
  const uint64_t old_keys[2] = {1, 2}, fresh_key = 3;
  const float grads[2] = {1.0f, 1.0f};
  ASSERT_TRUE(table->Push(old_keys, grads).ok());
  clock.now += 8;
  ASSERT_TRUE(table->Push({&fresh_key, 1}, {grads, 1}).ok());
  EXPECT_EQ(table->EvictExpired(), 0u);  // nothing idle for 10 s yet
  clock.now += 5;                        // keys 1, 2 idle 13 s; key 3 idle 5 s
  EXPECT_EQ(table->EvictExpired(), 2u);
  const ServerTableStats s = table->Stats();
  EXPECT_EQ(s.rows, 1u);
  EXPECT_EQ(s.evicted_rows, 2u);
  float w[3];
  const uint64_t all[3] = {1, 2, 3};
  table->Pull(all, w);
  EXPECT_EQ(w[0], 0.0f);  // evicted: back to the initial weight
  EXPECT_EQ(w[2], -1.0f);
}

class CheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("ps_checkpoint_test_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Writes checkpoint `name` of `tables` (shard i = tables[i]) with its manifest.
  CheckpointInfo Write(const std::vector<ServerTable*>& tables, const std::string& name,
                       const std::string& previous, bool manifest = true) {
    CheckpointInfo info;
    info.previous = previous;
    std::filesystem::create_directories(dir_ / name);
    for (size_t i = 0; i < tables.size(); ++i) {
      auto f = WriteTableShard(
          *tables[i], (dir_ / name / ("w-" + std::to_string(i) + ".bin")).string(), name, previous);
      EXPECT_TRUE(f.ok()) << f.status();
      info.shards.push_back(*f);
    }
    if (manifest) {
      ModelManifest m;
      m.spec.type = ModelType::kLr;
      m.optimizer.name = "sgd";
      m.optimizer.lr = 1.0f;
      EXPECT_TRUE(WriteCheckpointManifest((dir_ / name).string(), m, info).ok());
    }
    return info;
  }

  std::filesystem::path dir_;
};

TEST_F(CheckpointTest, DeltasHoldOnlyChangedRowsAndTheChainLoadsTheLatestState) {
  FakeClock clock;
  ServerTableConfig config;
  config.clock = clock.fn();
  auto a = MakeTableWith(config), b = MakeTableWith(config);
  const ShardMap map(2);
  auto push = [&](uint64_t key, float g) {
    ASSERT_TRUE((map.ServerOf(key) == 0 ? a : b)->Push({&key, 1}, {&g, 1}).ok());
  };
  for (uint64_t k = 1; k <= 100; ++k) push(k, 1.0f);
  clock.now += 1;  // (rows updated in the same 10 ms tick as a checkpoint starts go in both)
  const CheckpointInfo c1 = Write({a.get(), b.get()}, "c1", "");
  EXPECT_FALSE(c1.shards[0].delta);
  EXPECT_EQ(c1.shards[0].rows + c1.shards[1].rows, 100u);
  clock.now += 1;
  for (uint64_t k = 1; k <= 10; ++k) push(k, 2.0f);  // 10 rows change
  const CheckpointInfo c2 = Write({a.get(), b.get()}, "c2", "c1");
  EXPECT_TRUE(c2.shards[0].delta);
  EXPECT_TRUE(c2.shards[1].delta);
  EXPECT_EQ(c2.shards[0].rows + c2.shards[1].rows, 10u);

  auto loaded = LoadModelDir((dir_ / "c2").string(), /*with_state=*/true);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->table->size(), 100u);
  EXPECT_EQ(loaded->table->Find(5)[0], -3.0f);   // 1 + 2, from the delta
  EXPECT_EQ(loaded->table->Find(50)[0], -1.0f);  // from c1
}

TEST_F(CheckpointTest, PruningKeepsTheNewestAndWhatTheirDeltasBuildOn) {
  FakeClock clock;
  ServerTableConfig config;
  config.clock = clock.fn();
  auto a = MakeTableWith(config);
  float g = 1.0f;
  auto step = [&](uint64_t key) {
    clock.now += 1;
    ASSERT_TRUE(a->Push({&key, 1}, {&g, 1}).ok());
    clock.now += 1;
  };
  auto name = [](int id) { return CheckpointDirName(id); };
  // 1 whole, 2 delta on 1, 3 torn, 4 whole, 5 delta on 4, 6 delta on 5, 7 torn (in progress).
  const std::string previous[] = {"", "", name(1), name(2), "", name(4), name(5), name(6)};
  for (int id = 1; id <= 7; ++id) {
    step(static_cast<uint64_t>(id));
    const CheckpointInfo c = Write({a.get()}, name(id), previous[id], id != 3 && id != 7);
    EXPECT_EQ(c.shards[0].delta, !previous[id].empty()) << id;
  }
  auto before = LoadModelDir((dir_ / name(6)).string(), /*with_state=*/true);
  ASSERT_TRUE(before.ok()) << before.status();

  auto deleted = PruneCheckpoints(dir_.string(), 2);
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_EQ(*deleted, 3);  // 1, 2 and 3
  for (int id = 1; id <= 7; ++id) {
    EXPECT_EQ(std::filesystem::exists(dir_ / name(id)), id >= 4) << id;
  }
  auto after = LoadModelDir((dir_ / name(6)).string(), /*with_state=*/true);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->table->size(), before->table->size());
  EXPECT_EQ(after->table->Find(6)[0], before->table->Find(6)[0]);
  EXPECT_EQ(after->table->Find(1)[0], before->table->Find(1)[0]);
  // Keeping only the newest still needs 5 and 4 under it.
  EXPECT_EQ(*PruneCheckpoints(dir_.string(), 1), 0);
  EXPECT_TRUE(std::filesystem::exists(dir_ / name(4)));
}

TEST_F(CheckpointTest, ACheckpointWithoutManifestIsNotThePreviousOfADelta) {
  FakeClock clock;
  ServerTableConfig config;
  config.clock = clock.fn();
  auto t = MakeTableWith(config);
  const uint64_t k1 = 1, k2 = 2;
  const float g = 1.0f;
  ASSERT_TRUE(t->Push({&k1, 1}, {&g, 1}).ok());
  Write({t.get()}, "c1", "");
  clock.now += 1;
  ASSERT_TRUE(t->Push({&k2, 1}, {&g, 1}).ok());
  Write({t.get()}, "c2", "c1", /*manifest=*/false);  // torn: a server or the launcher died
  clock.now += 1;
  // The next checkpoint chains to c1, the last whole one: key 2 must be in it.
  const CheckpointInfo c3 = Write({t.get()}, "c3", "c1");
  EXPECT_TRUE(c3.shards[0].delta);
  auto loaded = LoadModelDir((dir_ / "c3").string(), /*with_state=*/true);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ASSERT_NE(loaded->table->Find(2), nullptr);
  EXPECT_EQ(loaded->table->Find(2)[0], -1.0f);
  EXPECT_EQ(loaded->table->size(), 2u);
}

TEST_F(CheckpointTest, EvictionMakesTheNextCheckpointWhole) {
  FakeClock clock;
  ServerTableConfig config;
  config.clock = clock.fn();
  config.ttl_seconds = 5;
  auto t = MakeTableWith(config);
  const uint64_t k1 = 1, k2 = 2;
  const float g = 1.0f;
  ASSERT_TRUE(t->Push({&k1, 1}, {&g, 1}).ok());
  Write({t.get()}, "c1", "");
  clock.now += 4;
  ASSERT_TRUE(t->Push({&k2, 1}, {&g, 1}).ok());
  clock.now += 3;
  ASSERT_EQ(t->EvictExpired(), 1u);  // key 1
  const CheckpointInfo c2 = Write({t.get()}, "c2", "c1");
  EXPECT_FALSE(c2.shards[0].delta);
  auto loaded = LoadModelDir((dir_ / "c2").string(), /*with_state=*/true);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->table->size(), 1u);
  EXPECT_EQ(loaded->table->Find(1), nullptr);
}

TEST_F(CheckpointTest, RestoreOntoThreeShardsKeepsEachKeyOnce) {
  auto t = MakeTableWith({});
  std::vector<uint64_t> keys;
  for (uint64_t k = 1; k <= 300; ++k) keys.push_back(k * 7919);
  ASSERT_TRUE(t->Push(keys, std::vector<float>(keys.size(), 0.5f)).ok());
  Write({t.get()}, "c1", "");
  auto loaded = LoadModelDir((dir_ / "c1").string(), /*with_state=*/true);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  uint64_t rows = 0;
  for (int s = 0; s < 3; ++s) {
    auto shard = MakeTableWith({});
    ASSERT_TRUE(shard->Restore(*loaded, s, 3, "").ok());
    rows += shard->Stats().rows;
    std::vector<float> w(keys.size());
    shard->Pull(keys, absl::MakeSpan(w));
    for (size_t i = 0; i < keys.size(); ++i) {
      if (ShardMap(3).ServerOf(keys[i]) == s) {
        EXPECT_EQ(w[i], -0.5f);
      }
    }
  }
  EXPECT_EQ(rows, 300u);
  // A checkpoint of another model is refused, naming both.
  ServerTableConfig fm;
  fm.model.type = ModelType::kFm;
  fm.optimizer.name = "sgd";
  auto other = *ServerTable::Create(fm);
  const absl::Status st = other->Restore(*loaded, 0, 1, "");
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("lr model"), std::string::npos) << st;
}

TEST(CountMinSketchTest, NeverUndercountsAndSaturates) {
  CountMinSketch sketch(1 << 10);
  for (uint64_t k = 0; k < 5000; ++k) sketch.Add(k);
  for (int i = 0; i < 9; ++i) sketch.Add(123456789);
  EXPECT_GE(sketch.Estimate(123456789), 9u);
  for (uint64_t k = 0; k < 5000; k += 97) EXPECT_GE(sketch.Estimate(k), 1u);
  CountMinSketch small(1);
  for (int i = 0; i < 70000; ++i) small.Add(1);
  EXPECT_EQ(small.Estimate(1), 65535u);
}

}  // namespace
}  // namespace parasol
