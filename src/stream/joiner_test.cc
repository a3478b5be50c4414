#include "stream/joiner.h"

#include <gtest/gtest.h>

namespace parasol::stream {
namespace {

TEST(JoinerTest, JoinsNegativesOnWindowCloseLateAndOrphanLabels) {
  Joiner j(/*window_ms=*/1000, /*memory_limit_bytes=*/1 << 20);
  std::vector<Joiner::Example> ready;
  ASSERT_TRUE(j.AddImpression("a", "1:1", "s:1", 0));
  ASSERT_TRUE(j.AddImpression("b", "2:1", "s:2", 10));
  EXPECT_FALSE(j.AddImpression("a", "3:1", "s:3", 20));  // duplicate id keeps the first
  j.AddLabel("a", 1, 500, &ready);
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(ready[0].line, "1:1");
  EXPECT_EQ(ready[0].label, 1);
  j.Expire(999, &ready);
  EXPECT_EQ(ready.size(), 1u);  // b's window (10 + 1000) is still open
  j.Expire(1010, &ready);
  ASSERT_EQ(ready.size(), 2u);
  EXPECT_EQ(ready[1].line, "2:1");
  EXPECT_EQ(ready[1].label, 0);
  j.AddLabel("b", 1, 1100, &ready);   // b's window closed: late
  j.AddLabel("a", 1, 1100, &ready);   // a was joined already: a second label is late too
  j.AddLabel("zz", 1, 1100, &ready);  // never seen: orphan
  EXPECT_EQ(ready.size(), 2u);
  EXPECT_EQ(j.counts().joined, 1u);
  EXPECT_EQ(j.counts().negatives, 1u);
  EXPECT_EQ(j.counts().late, 2u);
  EXPECT_EQ(j.counts().orphan_labels, 1u);
  EXPECT_EQ(j.waiting(), 0u);
}

TEST(JoinerTest, StateIsBoundedByEvictingTheOldestImpressions) {
  Joiner j(1000, /*memory_limit_bytes=*/2000);
  for (int i = 0; i < 100; ++i) j.AddImpression("id" + std::to_string(i), "1:1 2:1", "w", i);
  EXPECT_LE(j.bytes(), 2000u);
  EXPECT_GT(j.counts().evicted, 50u);
  EXPECT_EQ(j.waiting() + j.counts().evicted, 100u);
  std::vector<Joiner::Example> ready;
  j.AddLabel("id99", 1, 200, &ready);  // the newest survived
  EXPECT_EQ(ready.size(), 1u);
}

TEST(JoinerTest, StateRoundTripsThroughJson) {
  Joiner j(1000, 1 << 20);
  std::vector<Joiner::Example> ready;
  j.AddImpression("a", "1:1", "w1", 0);
  j.AddImpression("b", "2:1", "w2", 5);
  j.AddLabel("a", 1, 10, &ready);
  Joiner k(1000, 1 << 20);
  ASSERT_TRUE(k.FromJson(nlohmann::json::parse(j.ToJson().dump())).ok());
  EXPECT_EQ(k.waiting(), 1u);
  EXPECT_EQ(k.counts().joined, 1u);
  ready.clear();
  k.AddLabel("a", 1, 20, &ready);  // closed before the checkpoint: still late after it
  EXPECT_EQ(k.counts().late, 1u);
  k.AddLabel("b", 0, 20, &ready);
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(ready[0].where, "w2");
  EXPECT_FALSE(k.FromJson(nlohmann::json{{"waiting", 3}}).ok());
}

}  // namespace
}  // namespace parasol::stream
