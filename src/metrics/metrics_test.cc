#include "metrics/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <set>
#include <vector>

#include "gtest/gtest.h"

namespace parasol {
namespace {

constexpr double kEps = 1e-12;

// The hand-computed case with ties used by several tests:
//   score: 0.9  0.7  0.7  0.4  0.4  0.1
//   label:  1    1    0    0    1    0        P = 3, N = 3
// Ascending ranks: 0.1 -> 1; {0.4, 0.4} -> 2,3 averaged 2.5; {0.7, 0.7} -> 4,5 averaged 4.5;
// 0.9 -> 6. Positive rank sum R = 6 + 4.5 + 2.5 = 13, U = R - P(P+1)/2 = 13 - 6 = 7,
// AUC = U / (P N) = 7/9. (Pairwise: 0.9 beats 3 negatives; 0.7 beats 2 and ties 1 -> 2.5;
// 0.4 beats 1 and ties 1 -> 1.5; total 7.)
// Average precision, thresholds from the top with ties grouped:
//   t=0.9: tp=1 fp=0 R=1/3 P=1;  t=0.7: tp=2 fp=1 R=2/3 P=2/3;  t=0.4: tp=3 fp=2 R=1 P=3/5;
//   t=0.1: R unchanged. AP = 1/3 * (1 + 2/3 + 3/5) = 34/45.
// Breaking the 0.7 tie positive-first would instead give P=1 at R=2/3 and AP = 1/3*(1+1+3/5).
const std::vector<float> kTieProbs = {0.9f, 0.7f, 0.7f, 0.4f, 0.4f, 0.1f};
const std::vector<float> kTieLabels = {1, 1, 0, 0, 1, 0};

// Pairwise definition of ROC AUC: P(score_pos > score_neg) + 0.5 P(equal).
double BruteForceAuc(const std::vector<float>& probs, const std::vector<float>& labels) {
  double wins = 0, pairs = 0;
  for (size_t i = 0; i < probs.size(); ++i) {
    if (labels[i] != 1) continue;
    for (size_t j = 0; j < probs.size(); ++j) {
      if (labels[j] != 0) continue;
      pairs += 1;
      wins += probs[i] > probs[j] ? 1.0 : probs[i] == probs[j] ? 0.5 : 0.0;
    }
  }
  return wins / pairs;
}

// Average precision straight from its definition, one full scan per distinct threshold.
double BruteForceAp(const std::vector<float>& probs, const std::vector<float>& labels) {
  std::set<float, std::greater<float>> thresholds(probs.begin(), probs.end());
  double positives = std::count(labels.begin(), labels.end(), 1.0f);
  double ap = 0, prev_recall = 0;
  for (const float t : thresholds) {
    double tp = 0, fp = 0;
    for (size_t i = 0; i < probs.size(); ++i) {
      if (probs[i] >= t) (labels[i] == 1 ? tp : fp) += 1;
    }
    const double recall = tp / positives;
    ap += (recall - prev_recall) * tp / (tp + fp);
    prev_recall = recall;
  }
  return ap;
}

TEST(RocAucTest, PerfectRankingIsOne) {
  EXPECT_DOUBLE_EQ(RocAuc({0.9f, 0.8f, 0.3f, 0.1f}, {1, 1, 0, 0}), 1.0);
}

TEST(RocAucTest, ReversedRankingIsZero) {
  EXPECT_DOUBLE_EQ(RocAuc({0.9f, 0.8f, 0.3f, 0.1f}, {0, 0, 1, 1}), 0.0);
}

TEST(RocAucTest, AllTiedIsHalf) {
  EXPECT_DOUBLE_EQ(RocAuc({0.5f, 0.5f, 0.5f, 0.5f, 0.5f}, {1, 0, 0, 1, 0}), 0.5);
}

TEST(RocAucTest, TiesCountHalfByHand) {
  EXPECT_NEAR(RocAuc(kTieProbs, kTieLabels), 7.0 / 9.0, kEps);
}

TEST(RocAucTest, NegativeAndPositiveZeroTie) {
  EXPECT_DOUBLE_EQ(RocAuc({-0.0f, 0.0f}, {1, 0}), 0.5);
  EXPECT_DOUBLE_EQ(RocAuc({0.0f, -0.0f}, {1, 0}), 0.5);
}

TEST(RocAucTest, NanWhenOneClassAbsent) {
  EXPECT_TRUE(std::isnan(RocAuc({0.2f, 0.8f}, {1, 1})));
  EXPECT_TRUE(std::isnan(RocAuc({0.2f, 0.8f}, {0, 0})));
  EXPECT_TRUE(std::isnan(RocAuc({}, {})));
}

TEST(RocAucTest, MatchesPairwiseDefinitionWithManyTiesAndIgnoresOrder) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> level(0, 9);
  std::bernoulli_distribution coin(0.3);
  std::vector<float> probs(600), labels(600);
  for (size_t i = 0; i < probs.size(); ++i) {
    probs[i] = level(rng) / 10.0f;
    labels[i] = coin(rng) || probs[i] > 0.7f ? 1.0f : 0.0f;
  }
  const double expected = BruteForceAuc(probs, labels);
  EXPECT_NEAR(RocAuc(probs, labels), expected, 1e-12);
  EXPECT_NEAR(ComputeBinaryMetrics(probs, labels).auc, expected, 1e-12);

  std::vector<size_t> order(probs.size());
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), rng);
  std::vector<float> p2, l2;
  for (size_t i : order) {
    p2.push_back(probs[i]);
    l2.push_back(labels[i]);
  }
  EXPECT_NEAR(RocAuc(p2, l2), expected, 1e-12);
}

TEST(AveragePrecisionTest, HandCaseWithoutTies) {
  // score: 0.9 0.8 0.7 0.6 0.5, label: 0 1 1 0 1, P = 3.
  // Thresholds with a new positive: 0.8 (tp=1 fp=1, P=1/2), 0.7 (tp=2 fp=1, P=2/3),
  // 0.5 (tp=3 fp=2, P=3/5); each adds recall 1/3. AP = (1/2 + 2/3 + 3/5) / 3 = 53/90.
  const BinaryMetrics m = ComputeBinaryMetrics({0.9f, 0.8f, 0.7f, 0.6f, 0.5f}, {0, 1, 1, 0, 1});
  EXPECT_NEAR(m.pr_auc, 53.0 / 90.0, kEps);
}

TEST(AveragePrecisionTest, HandCaseWithTiesGrouped) {
  EXPECT_NEAR(ComputeBinaryMetrics(kTieProbs, kTieLabels).pr_auc, 34.0 / 45.0, kEps);
  // A single tied group: precision is evaluated only once, at recall 1: AP = 1/2, in either
  // input order.
  EXPECT_DOUBLE_EQ(ComputeBinaryMetrics({0.5f, 0.5f}, {1, 0}).pr_auc, 0.5);
  EXPECT_DOUBLE_EQ(ComputeBinaryMetrics({0.5f, 0.5f}, {0, 1}).pr_auc, 0.5);
}

TEST(AveragePrecisionTest, MatchesDefinitionOnRandomData) {
  std::mt19937 rng(11);
  std::uniform_int_distribution<int> level(0, 20);
  std::bernoulli_distribution coin(0.4);
  std::vector<float> probs(500), labels(500);
  for (size_t i = 0; i < probs.size(); ++i) {
    probs[i] = level(rng) / 20.0f;
    labels[i] = coin(rng) ? 1.0f : 0.0f;
  }
  EXPECT_NEAR(ComputeBinaryMetrics(probs, labels).pr_auc, BruteForceAp(probs, labels), 1e-12);
}

TEST(AveragePrecisionTest, NanWithoutPositivesAndOneWithoutNegatives) {
  EXPECT_TRUE(std::isnan(ComputeBinaryMetrics({0.3f, 0.6f}, {0, 0}).pr_auc));
  EXPECT_DOUBLE_EQ(ComputeBinaryMetrics({0.3f, 0.6f}, {1, 1}).pr_auc, 1.0);
}

TEST(LogLossTest, HandCase) {
  // Positive at 0.8 costs -ln 0.8, negative at 0.4 costs -ln 0.6.
  const double expected = (-std::log(0.8) - std::log(0.6)) / 2;
  EXPECT_NEAR(LogLoss({0.8f, 0.4f}, {1, 0}), expected, 1e-7);
  EXPECT_NEAR(ComputeBinaryMetrics({0.8f, 0.4f}, {1, 0}).logloss, expected, 1e-7);
}

TEST(LogLossTest, ClipsZeroAndOne) {
  // A confidently wrong prediction costs -ln(1e-15) = 34.5388 instead of infinity.
  const double clipped = -std::log(1e-15);
  EXPECT_NEAR(LogLoss({0.0f}, {1}), clipped, 1e-9);
  // 1 is clipped to the double nearest 1 - 1e-15, whose complement is 9.99e-16: about 34.5395.
  EXPECT_NEAR(LogLoss({1.0f}, {0}), clipped, 1e-2);
  EXPECT_TRUE(std::isfinite(LogLoss({1.0f}, {0})));
  // Confidently right predictions cost (almost) nothing.
  EXPECT_NEAR(LogLoss({1.0f, 0.0f}, {1, 0}), 0.0, 1e-14);
  EXPECT_NEAR(ComputeBinaryMetrics({0.0f, 1.0f}, {1, 0}).logloss, LogLoss({0.0f, 1.0f}, {1, 0}),
              1e-12);
}

TEST(ContractDeathTest, MismatchedSizesAbortWithMessage) {
  EXPECT_DEATH(ComputeBinaryMetrics({0.5f, 0.5f}, {1}),
               "probs.size\\(\\) 2 != labels.size\\(\\) 1");
  EXPECT_DEATH(RocAuc({0.5f}, {}), "RocAuc");
}

TEST(LogLossTest, EmptyIsNan) { EXPECT_TRUE(std::isnan(LogLoss({}, {}))); }

TEST(ConfusionTest, DefaultThresholdCountsExactHalfAsPositive) {
  const std::vector<float> probs = {0.5f, 0.5f, 0.49f, 0.2f, 0.9f, 0.7f};
  const std::vector<float> labels = {1, 0, 1, 0, 1, 0};
  const BinaryMetrics m = ComputeBinaryMetrics(probs, labels);
  EXPECT_EQ(m.count, 6);
  EXPECT_EQ(m.threshold, 0.5);
  EXPECT_EQ(m.confusion.tp, 2);  // 0.5, 0.9
  EXPECT_EQ(m.confusion.fp, 2);  // 0.5, 0.7
  EXPECT_EQ(m.confusion.fn, 1);  // 0.49
  EXPECT_EQ(m.confusion.tn, 1);  // 0.2
}

TEST(ConfusionTest, CustomThreshold) {
  const std::vector<float> probs = {0.5f, 0.5f, 0.49f, 0.2f, 0.9f, 0.7f};
  const std::vector<float> labels = {1, 0, 1, 0, 1, 0};
  const BinaryMetrics m = ComputeBinaryMetrics(probs, labels, 0.75);
  EXPECT_EQ(m.threshold, 0.75);
  EXPECT_EQ(m.confusion.tp, 1);
  EXPECT_EQ(m.confusion.fp, 0);
  EXPECT_EQ(m.confusion.fn, 2);
  EXPECT_EQ(m.confusion.tn, 3);
  // The threshold moves only the confusion-based metrics, not the ranking ones.
  EXPECT_EQ(m.auc, ComputeBinaryMetrics(probs, labels).auc);
}

TEST(RatiosTest, HandComputedFromOneConfusionMatrix) {
  // tp = 6, fp = 2, tn = 8, fn = 4 (n = 20).
  std::vector<float> probs, labels;
  auto add = [&](int k, float p, float y) {
    for (int i = 0; i < k; ++i) {
      probs.push_back(p);
      labels.push_back(y);
    }
  };
  add(6, 0.9f, 1);
  add(2, 0.8f, 0);
  add(8, 0.1f, 0);
  add(4, 0.2f, 1);
  const BinaryMetrics m = ComputeBinaryMetrics(probs, labels);
  ASSERT_EQ(m.confusion.tp, 6);
  ASSERT_EQ(m.confusion.fp, 2);
  ASSERT_EQ(m.confusion.tn, 8);
  ASSERT_EQ(m.confusion.fn, 4);
  EXPECT_NEAR(m.accuracy, 14.0 / 20, kEps);
  EXPECT_NEAR(m.error_rate, 6.0 / 20, kEps);
  EXPECT_NEAR(m.precision, 6.0 / 8, kEps);     // tp / (tp + fp)
  EXPECT_NEAR(m.recall, 6.0 / 10, kEps);       // tp / (tp + fn)
  EXPECT_NEAR(m.specificity, 8.0 / 10, kEps);  // tn / (tn + fp)
  EXPECT_NEAR(m.f1, 12.0 / 18, kEps);          // 2tp / (2tp + fp + fn)
  // (tp tn - fp fn) / sqrt((tp+fp)(tp+fn)(tn+fp)(tn+fn)) = 40 / sqrt(8*10*10*12) = 1/sqrt(6).
  EXPECT_NEAR(m.mcc, 1.0 / std::sqrt(6.0), kEps);
}

TEST(RatiosTest, ZeroDenominatorsGiveZero) {
  // Only negatives, all predicted negative: tp = fp = fn = 0, tn = 2.
  const BinaryMetrics m = ComputeBinaryMetrics({0.1f, 0.2f}, {0, 0});
  EXPECT_EQ(m.precision, 0.0);
  EXPECT_EQ(m.recall, 0.0);
  EXPECT_EQ(m.f1, 0.0);
  EXPECT_EQ(m.mcc, 0.0);
  EXPECT_EQ(m.specificity, 1.0);
  EXPECT_EQ(m.accuracy, 1.0);
  EXPECT_TRUE(std::isnan(m.auc));
  EXPECT_TRUE(std::isnan(m.pr_auc));

  // Only positives, all predicted positive: specificity has a zero denominator.
  const BinaryMetrics p = ComputeBinaryMetrics({0.6f, 0.7f}, {1, 1});
  EXPECT_EQ(p.specificity, 0.0);
  EXPECT_EQ(p.mcc, 0.0);
  EXPECT_EQ(p.precision, 1.0);
  EXPECT_TRUE(std::isnan(p.auc));
}

TEST(RatiosTest, EmptyInput) {
  const BinaryMetrics m = ComputeBinaryMetrics({}, {});
  EXPECT_EQ(m.count, 0);
  EXPECT_EQ(m.accuracy, 0.0);
  EXPECT_EQ(m.error_rate, 0.0);
  EXPECT_TRUE(std::isnan(m.auc));
  EXPECT_TRUE(std::isnan(m.pr_auc));
  EXPECT_TRUE(std::isnan(m.logloss));
}

TEST(RocCurveTest, HandCaseWithTies) {
  const std::vector<CurvePoint> c = RocCurve(kTieProbs, kTieLabels);
  ASSERT_EQ(c.size(), 5u);  // the origin plus one point per distinct score
  const double expected[5][3] = {{0, 0, std::numeric_limits<double>::infinity()},
                                 {0, 1.0 / 3, 0.9f},
                                 {1.0 / 3, 2.0 / 3, 0.7f},
                                 {2.0 / 3, 1, 0.4f},
                                 {1, 1, 0.1f}};
  for (size_t i = 0; i < c.size(); ++i) {
    EXPECT_NEAR(c[i].x, expected[i][0], kEps) << i;
    EXPECT_NEAR(c[i].y, expected[i][1], kEps) << i;
    EXPECT_EQ(c[i].threshold, expected[i][2]) << i;
  }
}

TEST(RocCurveTest, StartsAtOriginEndsAtOneMonotoneAndAreaIsAuc) {
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> level(0, 50);
  std::bernoulli_distribution coin(0.5);
  std::vector<float> probs(2000), labels(2000);
  for (size_t i = 0; i < probs.size(); ++i) {
    labels[i] = coin(rng) ? 1.0f : 0.0f;
    probs[i] = std::min(50, level(rng) + static_cast<int>(10 * labels[i])) / 50.0f;
  }
  const std::vector<CurvePoint> c = RocCurve(probs, labels);
  ASSERT_GE(c.size(), 2u);
  EXPECT_EQ(c.front().x, 0.0);
  EXPECT_EQ(c.front().y, 0.0);
  EXPECT_EQ(c.back().x, 1.0);
  EXPECT_EQ(c.back().y, 1.0);
  double area = 0;
  for (size_t i = 1; i < c.size(); ++i) {
    EXPECT_GE(c[i].x, c[i - 1].x);
    EXPECT_GE(c[i].y, c[i - 1].y);
    EXPECT_LT(c[i].threshold, c[i - 1].threshold);
    area += (c[i].x - c[i - 1].x) * (c[i].y + c[i - 1].y) / 2;  // ties -> diagonal segments
  }
  EXPECT_NEAR(area, RocAuc(probs, labels), 1e-9);
}

TEST(PrCurveTest, HandCaseWithTiesAndStepAreaIsAp) {
  const std::vector<CurvePoint> c = PrCurve(kTieProbs, kTieLabels);
  ASSERT_EQ(c.size(), 5u);
  const double expected[5][2] = {{0, 1}, {1.0 / 3, 1}, {2.0 / 3, 2.0 / 3}, {1, 0.6}, {1, 0.5}};
  for (size_t i = 0; i < c.size(); ++i) {
    EXPECT_NEAR(c[i].x, expected[i][0], kEps) << i;
    EXPECT_NEAR(c[i].y, expected[i][1], kEps) << i;
  }
  EXPECT_TRUE(std::isinf(c.front().threshold));
  EXPECT_EQ(c.back().threshold, 0.1f);
  double ap = 0;
  for (size_t i = 1; i < c.size(); ++i) ap += (c[i].x - c[i - 1].x) * c[i].y;
  EXPECT_NEAR(ap, ComputeBinaryMetrics(kTieProbs, kTieLabels).pr_auc, kEps);
}

TEST(CurvesTest, EmptyInputGivesOnlyTheStartPoint) {
  ASSERT_EQ(RocCurve({}, {}).size(), 1u);
  ASSERT_EQ(PrCurve({}, {}).size(), 1u);
  EXPECT_EQ(PrCurve({}, {})[0].y, 1.0);
}

TEST(ScaleTest, MillionRowsWithTies) {
  // Scores on a 1/1000 grid, so nearly every row shares its score with ~1000 others. The label
  // is positive with probability equal to the score. In the continuous limit positives have
  // density 2s and negatives 2(1-s), so AUC = int_0^1 2s (2s - s^2) ds = 5/6; at threshold t,
  // precision = (1+t)/2 and recall = 1 - t^2, so AP = int_0^1 (1+t)/2 * 2t dt = 5/6.
  constexpr size_t kRows = 1'000'000;
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> level(0, 1000);
  std::uniform_real_distribution<float> u(0, 1);
  std::vector<float> probs(kRows), labels(kRows);
  for (size_t i = 0; i < kRows; ++i) {
    probs[i] = level(rng) / 1000.0f;
    labels[i] = u(rng) < probs[i] ? 1.0f : 0.0f;
  }
  const BinaryMetrics m = ComputeBinaryMetrics(probs, labels);
  EXPECT_EQ(m.count, static_cast<int64_t>(kRows));
  EXPECT_NEAR(m.auc, 5.0 / 6, 5e-3);
  EXPECT_NEAR(m.pr_auc, 5.0 / 6, 5e-3);
  EXPECT_EQ(RocCurve(probs, labels).size(), 1002u);
}

}  // namespace
}  // namespace parasol
