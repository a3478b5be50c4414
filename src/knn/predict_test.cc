// Votes, weights and means, checked on hand-made neighbour lists.
#include "knn/predict.h"

#include <cmath>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace parasol::knn {
namespace {

using ::testing::ElementsAre;
using ::testing::FloatEq;

Neighbors Make(size_t k, std::vector<uint32_t> indices, std::vector<float> distances) {
  Neighbors n;
  n.k = k;
  n.indices = std::move(indices);
  n.distances = std::move(distances);
  return n;
}

TEST(PredictTest, UniformVoteAndTieToTheSmallestLabel) {
  const std::vector<float> labels = {3, 1, 3, 2, 1};
  // Neighbour labels: query 0 → 3, 1, 3; query 1 → 2, 1, 1; query 2 → 3, 2, 2.
  const Neighbors n = Make(3, {0, 1, 2, 3, 4, 4, 2, 3, 3}, {1, 2, 3, 1, 1, 5, 1, 2, 2});
  EXPECT_THAT(Predict(n, labels, Task::kClassify, Weights::kUniform), ElementsAre(3, 1, 2));
  const Neighbors tie = Make(2, {0, 3}, {1, 1});  // labels 3 and 2
  EXPECT_THAT(Predict(tie, labels, Task::kClassify, Weights::kUniform), ElementsAre(2));
}

TEST(PredictTest, DistanceWeightsAndExactMatches) {
  const std::vector<float> labels = {0, 1, 1};
  // 1/0.5 = 2 for label 0 beats 1/4 + 1/4 for label 1; uniform would pick 1.
  const Neighbors n = Make(3, {0, 1, 2}, {0.5f, 4, 4});
  EXPECT_THAT(Predict(n, labels, Task::kClassify, Weights::kDistance), ElementsAre(0));
  EXPECT_THAT(Predict(n, labels, Task::kClassify, Weights::kUniform), ElementsAre(1));
  // A neighbour at distance 0 takes all the weight.
  const Neighbors exact = Make(3, {1, 0, 2}, {0, 0.001f, 0.002f});
  EXPECT_THAT(Predict(exact, labels, Task::kClassify, Weights::kDistance), ElementsAre(1));
  EXPECT_THAT(Predict(exact, {5, 10, 20}, Task::kRegress, Weights::kDistance), ElementsAre(10));
}

TEST(PredictTest, RegressionMeans) {
  const std::vector<float> y = {1, 2, 6};
  const Neighbors n = Make(3, {0, 1, 2}, {1, 2, 4});
  EXPECT_THAT(Predict(n, y, Task::kRegress, Weights::kUniform), ElementsAre(FloatEq(3)));
  // (1/1·1 + 1/2·2 + 1/4·6) / (1 + 1/2 + 1/4) = 3.5 / 1.75 = 2.
  EXPECT_THAT(Predict(n, y, Task::kRegress, Weights::kDistance), ElementsAre(FloatEq(2)));
}

TEST(PredictTest, Scores) {
  EXPECT_DOUBLE_EQ(Accuracy({1, 2, 3, 4}, {1, 2, 0, 0}), 0.5);
  EXPECT_DOUBLE_EQ(Rmse({1, 3}, {0, 0}), std::sqrt(5.0));
  EXPECT_DOUBLE_EQ(Mae({1, -3}, {0, 0}), 2.0);
  EXPECT_FALSE(ParseTask("cluster").ok());
  EXPECT_FALSE(ParseWeights("gaussian").ok());
}

}  // namespace
}  // namespace parasol::knn
