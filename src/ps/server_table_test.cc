#include "ps/server_table.h"

#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "ps/shard_map.h"

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

TEST(ServerTableTest, PullCreatesRowsWithTheModelsInitialWeights) {
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
  EXPECT_EQ(table->Stats().rows, 2u);
  EXPECT_EQ(table->Stats().pulled_keys, 2u);
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

}  // namespace
}  // namespace parasol
