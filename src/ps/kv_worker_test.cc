#include "ps/kv_worker.h"

#include <numeric>

#include "gtest/gtest.h"

namespace parasol {
namespace {

struct Cluster {
  explicit Cluster(int servers) {
    for (int s = 0; s < servers; ++s) {
      ServerTableConfig config;
      config.model.type = ModelType::kLr;
      config.optimizer.name = "sgd";
      config.optimizer.lr = 1.0f;
      std::vector<std::unique_ptr<ServerTable>> one;
      one.push_back(*ServerTable::Create(config));
      tables.push_back(one.back().get());
      nodes.push_back(std::make_unique<PsNode>(std::move(one), DenseTables{}));
      raw.push_back(nodes.back().get());
    }
    transport = std::make_unique<InProcessTransport>(raw);
  }
  using DenseTables = std::vector<std::unique_ptr<DenseTable>>;
  std::vector<std::unique_ptr<PsNode>> nodes;
  std::vector<ServerTable*> tables;
  std::vector<PsNode*> raw;
  std::unique_ptr<InProcessTransport> transport;
};

TEST(KvWorkerTest, PushThenPullRoundTripsAcrossServers) {
  Cluster cluster(3);
  KvWorker worker(cluster.transport.get(), "weights", 1);
  std::vector<uint64_t> keys(300);
  std::iota(keys.begin(), keys.end(), 1000);
  std::vector<float> grads(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) grads[i] = static_cast<float>(i);
  ASSERT_TRUE(worker.Wait(worker.Push(keys, grads)).ok());
  std::vector<float> values;
  ASSERT_TRUE(worker.Wait(worker.Pull(keys, &values)).ok());
  ASSERT_EQ(values.size(), keys.size());
  for (size_t i = 0; i < keys.size(); ++i) EXPECT_EQ(values[i], -grads[i]);  // SGD, lr 1
  // The keys really are spread over all three servers.
  for (const auto& t : cluster.tables) EXPECT_GT(t->Stats().rows, 50u);
}

TEST(KvWorkerTest, OneRequestPerServerAndDuplicatesAggregated) {
  Cluster cluster(2);
  KvWorker worker(cluster.transport.get(), "weights", 1);
  const std::vector<uint64_t> keys = {5, 9, 5, 5, 9, 12};
  const std::vector<float> grads = {1, 2, 3, 4, 5, 6};
  ASSERT_TRUE(worker.Wait(worker.Push(keys, grads)).ok());
  EXPECT_LE(cluster.transport->requests(), 2);
  uint64_t pushed = 0;
  for (const auto& t : cluster.tables) pushed += t->Stats().pushed_keys;
  EXPECT_EQ(pushed, 3u);  // one update per distinct key
  std::vector<float> values;
  ASSERT_TRUE(worker.Wait(worker.Pull(keys, &values)).ok());
  // Key 5 got 1 + 3 + 4 = 8 in a single SGD step; duplicates in the pull repeat the row.
  EXPECT_EQ(values, std::vector<float>({-8, -7, -8, -8, -7, -6}));
}

TEST(KvWorkerTest, PushPullAppliesThenAnswersInOneRequestPerServer) {
  Cluster cluster(2);
  KvWorker worker(cluster.transport.get(), "weights", 1);
  const std::vector<uint64_t> keys = {5, 9, 5, 5, 9, 12};
  const std::vector<float> grads = {1, 2, 3, 4, 5, 6};
  std::vector<float> values;
  ASSERT_TRUE(worker.Wait(worker.PushPull(keys, grads, &values)).ok());
  EXPECT_LE(cluster.transport->requests(), 2);
  // The rows after the update, in the order of `keys` (as Push then Pull would give).
  EXPECT_EQ(values, std::vector<float>({-8, -7, -8, -8, -7, -6}));
  std::vector<float> short_grads(2);
  EXPECT_EQ(worker.Wait(worker.PushPull(keys, short_grads, &values)).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(KvWorkerTest, PullOverlapsWithOtherWork) {
  Cluster cluster(2);
  KvWorker worker(cluster.transport.get(), "weights", 1);
  const std::vector<uint64_t> a = {1, 2}, b = {3, 4};
  std::vector<float> va, vb;
  const auto ta = worker.Pull(a, &va);
  const auto tb = worker.Pull(b, &vb);  // two calls in flight before any Wait
  EXPECT_TRUE(worker.Wait(tb).ok());
  EXPECT_TRUE(worker.Wait(ta).ok());
  EXPECT_EQ(va.size(), 2u);
  EXPECT_EQ(vb.size(), 2u);
  EXPECT_FALSE(worker.Wait(ta).ok());  // a timestamp is waited once
}

TEST(KvWorkerTest, ErrorsReachTheCaller) {
  Cluster cluster(2);
  KvWorker wrong_table(cluster.transport.get(), "embeddings", 1);
  std::vector<float> values;
  const std::vector<uint64_t> keys = {1, 2, 3};
  auto st = wrong_table.Wait(wrong_table.Pull(keys, &values));
  EXPECT_EQ(st.code(), absl::StatusCode::kNotFound);
  KvWorker worker(cluster.transport.get(), "weights", 1);
  const std::vector<float> too_few = {1.0f};
  EXPECT_EQ(worker.Wait(worker.Push(keys, too_few)).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace parasol
