#include "serve/batcher.h"

#include <thread>

#include "gtest/gtest.h"
#include "serve/test_models.h"

namespace parasol {
namespace {

std::vector<RawInstance> Rows(const std::vector<std::string>& lines) {
  std::vector<RawInstance> rows;
  for (const auto& l : lines) {
    RawInstance r;
    r.where = "row";
    r.is_text = true;
    r.text = l;
    rows.push_back(r);
  }
  return rows;
}

class BatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::WriteLibsvmModel(tmp_.path() / "1", {{1, 0.5f}, {2, -1.0f}, {3, 2.0f}}, 0.1f);
    auto s = Servable::Load((tmp_.path() / "1").string(), 1);
    ASSERT_TRUE(s.ok()) << s.status();
    servable_ = *s;
  }
  testing::TempDir tmp_;
  std::shared_ptr<const Servable> servable_;
};

TEST_F(BatcherTest, ConcurrentRequestsShareOneBatchAndGetTheirOwnAnswers) {
  // The timeout is far away: the batch closes only because it is full (4 rows).
  Batcher batcher({/*max_batch_size=*/4, /*batch_timeout_micros=*/60'000'000, 1});
  const std::vector<std::vector<std::string>> requests = {
      {"1:1"}, {"2:1", "3:1"}, {"3:0.5"}};  // 4 rows in all
  std::vector<std::vector<float>> answers(requests.size());
  std::vector<std::thread> clients;
  for (size_t i = 0; i < requests.size(); ++i) {
    clients.emplace_back([&, i] {
      auto probs = PredictRows(servable_, Rows(requests[i]), &batcher);
      ASSERT_TRUE(probs.ok());
      answers[i] = *probs;
    });
  }
  for (auto& c : clients) c.join();
  for (size_t i = 0; i < requests.size(); ++i) {
    EXPECT_EQ(answers[i], *servable_->Predict(Rows(requests[i]))) << i;
  }
  EXPECT_EQ(batcher.batches(), 1u);
  EXPECT_EQ(batcher.batched_rows(), 4u);
}

TEST_F(BatcherTest, ALoneRequestLeavesAtTheTimeoutAndBadRowsFailOnlyTheirRequest) {
  Batcher batcher({/*max_batch_size=*/100, /*batch_timeout_micros=*/1000, 2});
  auto ok = PredictRows(servable_, Rows({"1:1", "2:1"}), &batcher);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, *servable_->Predict(Rows({"1:1", "2:1"})));
  auto bad = PredictRows(servable_, Rows({"1:x"}), &batcher);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(batcher.batches(), 1u);  // the bad request never reached the queue
}

TEST_F(BatcherTest, LargeRequestsAreScoredAtOnce) {
  Batcher batcher({/*max_batch_size=*/2, /*batch_timeout_micros=*/60'000'000, 1});
  auto probs = PredictRows(servable_, Rows({"1:1", "2:1", "3:1"}), &batcher);
  ASSERT_TRUE(probs.ok());
  EXPECT_EQ(probs->size(), 3u);
  EXPECT_EQ(batcher.batched_rows(), 3u);
}

}  // namespace
}  // namespace parasol
