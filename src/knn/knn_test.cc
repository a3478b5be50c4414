// Every index, metric and kernel set against a naive O(n·m) search written here from the
// definitions: same neighbours in the same order, distances within float tolerance.
#include "knn/knn.h"

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace parasol::knn {
namespace {

using ::testing::HasSubstr;

DenseMatrix Random(size_t rows, size_t cols, std::mt19937* rng, bool grid) {
  DenseMatrix m = DenseMatrix::Zeros(rows, cols);
  std::uniform_real_distribution<float> real(-1.0f, 1.0f);
  std::uniform_int_distribution<int> small(0, 2);
  for (size_t i = 0; i < rows; ++i) {
    for (size_t t = 0; t < cols; ++t) {
      m.mutable_row(i)[t] = grid ? static_cast<float>(small(*rng)) : real(*rng);
    }
  }
  return m;
}

// The definitions, evaluated in double, sorted by (distance, index).
std::vector<std::pair<double, uint32_t>> Naive(const DenseMatrix& train, const float* q,
                                               Metric metric, size_t k) {
  std::vector<std::pair<double, uint32_t>> all;
  for (size_t j = 0; j < train.rows; ++j) {
    const float* x = train.row(j);
    double l2 = 0, l1 = 0, dot = 0, qq = 0, xx = 0;
    for (size_t t = 0; t < train.cols; ++t) {
      const double a = q[t], b = x[t];
      l2 += (a - b) * (a - b);
      l1 += std::fabs(a - b);
      dot += a * b;
      qq += a * a;
      xx += b * b;
    }
    double d = metric == Metric::kL2   ? l2
               : metric == Metric::kL1 ? l1
               : (qq == 0 || xx == 0)  ? 1.0
                                       : 1.0 - dot / (std::sqrt(qq) * std::sqrt(xx));
    all.emplace_back(d, static_cast<uint32_t>(j));
  }
  std::sort(all.begin(), all.end());
  all.resize(k);
  if (metric == Metric::kL2) {
    for (auto& e : all) e.first = std::sqrt(e.first);
  }
  return all;
}

void ExpectAgreesWithNaive(const DenseMatrix& train, const DenseMatrix& queries,
                           const IndexOptions& options, size_t k, int threads,
                           const std::string& what) {
  auto index = BuildIndex(&train, options);
  ASSERT_TRUE(index.ok()) << index.status();
  auto got = FindNeighbors(**index, train, queries, k, threads);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->indices.size(), queries.rows * k);
  for (size_t q = 0; q < queries.rows; ++q) {
    const auto want = Naive(train, queries.row(q), options.metric, k);
    for (size_t j = 0; j < k; ++j) {
      ASSERT_EQ(got->indices[q * k + j], want[j].second)
          << what << " query " << q << " neighbour " << j;
      ASSERT_NEAR(got->distances[q * k + j], want[j].first, 1e-5 * (1 + want[j].first))
          << what << " query " << q << " neighbour " << j;
    }
  }
}

struct Case {
  Metric metric;
  IndexKind kind;
};

std::vector<Case> AllCases() {
  return {{Metric::kL2, IndexKind::kBrute},
          {Metric::kL1, IndexKind::kBrute},
          {Metric::kCosine, IndexKind::kBrute},
          {Metric::kL2, IndexKind::kKdTree},
          {Metric::kL1, IndexKind::kKdTree}};
}

std::vector<const Kernels*> AllKernels() {
  std::vector<const Kernels*> kernels = {&PortableKernels()};
  if (CpuHasAvx2Fma()) kernels.push_back(&Avx2Kernels());
  kernels.push_back(&BlasKernels());
  return kernels;
}

TEST(KnnTest, AgreesWithNaiveOnRandomData) {
  std::mt19937 rng(7);
  for (size_t cols : {1u, 3u, 8u, 13u, 40u}) {
    const DenseMatrix train = Random(301, cols, &rng, false);
    const DenseMatrix queries = Random(37, cols, &rng, false);
    for (const Case& c : AllCases()) {
      for (const Kernels* kernels : AllKernels()) {
        IndexOptions options;
        options.metric = c.metric;
        options.kind = c.kind;
        options.kernels = kernels;
        options.leaf_size = 4;
        for (size_t k : {1u, 5u, 301u}) {
          ExpectAgreesWithNaive(train, queries, options, k, 2,
                                std::string(MetricName(c.metric)) + "/" + IndexKindName(c.kind) +
                                    "/" + kernels->name + " cols=" + std::to_string(cols) +
                                    " k=" + std::to_string(k));
        }
      }
    }
  }
}

// Small integer coordinates: many duplicate points and many exactly equal distances, so the
// order among ties (smaller training index first) is what is tested.
TEST(KnnTest, TiesGoToTheSmallerTrainingIndex) {
  std::mt19937 rng(11);
  for (size_t cols : {2u, 5u, 17u}) {
    DenseMatrix train = Random(400, cols, &rng, true);
    DenseMatrix queries = Random(50, cols, &rng, true);
    for (const Case& c : AllCases()) {
      for (const Kernels* kernels : AllKernels()) {
        IndexOptions options;
        options.metric = c.metric;
        options.kind = c.kind;
        options.kernels = kernels;
        for (size_t k : {1u, 7u, 40u}) {
          ExpectAgreesWithNaive(train, queries, options, k, 3,
                                std::string("grid ") + MetricName(c.metric) + "/" +
                                    IndexKindName(c.kind) + "/" + kernels->name +
                                    " cols=" + std::to_string(cols) + " k=" + std::to_string(k));
        }
      }
    }
  }
}

TEST(KnnTest, DuplicateOfAQueryIsFoundAtDistanceZeroInIndexOrder) {
  DenseMatrix train = DenseMatrix::Zeros(6, 3);
  const float p[3] = {0.1f, 0.7f, -3.0f};
  for (size_t i : {4u, 1u, 5u}) std::copy_n(p, 3, train.mutable_row(i));
  train.mutable_row(0)[0] = 10;
  DenseMatrix queries = DenseMatrix::Zeros(1, 3);
  std::copy_n(p, 3, queries.mutable_row(0));
  for (const Case& c : AllCases()) {
    IndexOptions options;
    options.metric = c.metric;
    options.kind = c.kind;
    auto index = BuildIndex(&train, options);
    ASSERT_TRUE(index.ok());
    auto got = FindNeighbors(**index, train, queries, 3, 1);
    ASSERT_TRUE(got.ok());
    EXPECT_THAT(got->indices, ::testing::ElementsAre(1u, 4u, 5u)) << MetricName(c.metric);
    EXPECT_THAT(got->distances, ::testing::Each(::testing::FloatNear(0.0f, 1e-6f)));
  }
}

// Brute force on every kernel set and on the default choice by dimension, for each k.
void ExpectBruteForceAgreesWithNaive(const DenseMatrix& train, const DenseMatrix& queries,
                                     Metric metric, std::initializer_list<size_t> ks,
                                     const std::string& what) {
  std::vector<const Kernels*> kernels = AllKernels();
  kernels.push_back(nullptr);
  for (const Kernels* kernel : kernels) {
    IndexOptions options;
    options.metric = metric;
    options.kind = IndexKind::kBrute;
    options.kernels = kernel;
    for (size_t k : ks) {
      ExpectAgreesWithNaive(train, queries, options, k, 2,
                            what + " " + MetricName(metric) + "/" +
                                (kernel ? kernel->name : "default") +
                                " cols=" + std::to_string(train.cols) + " k=" + std::to_string(k));
    }
  }
}

// Many dimensions, so brute force runs on sgemm by default (kBlasMinDim), and every kernel set.
TEST(KnnTest, ManyDimensionsAgreeWithNaive) {
  std::mt19937 rng(13);
  for (size_t cols : {kBlasMinDim - 1, kBlasMinDim, size_t{200}, size_t{784}}) {
    for (bool grid : {false, true}) {
      const DenseMatrix train = Random(257, cols, &rng, grid);
      const DenseMatrix queries = Random(29, cols, &rng, grid);
      for (Metric metric : {Metric::kL2, Metric::kCosine, Metric::kL1}) {
        ExpectBruteForceAgreesWithNaive(train, queries, metric, {1, 6, 40}, grid ? "grid" : "");
      }
    }
  }
}

// Points a hair apart, far from the origin: |q|² + |x|² − 2 q·x in float (|q|² ≈ 8·10⁸, one
// float step 64) cannot tell them apart, nor tell exact duplicates from near ones. Only the
// exact re-rank (here the exact rescan it falls back to) orders them as the naive search does.
TEST(KnnTest, NearDuplicatesFarFromTheOriginAreRankedExactly) {
  std::mt19937 rng(17);
  std::uniform_real_distribution<float> offset(-0.01f, 0.01f);
  std::uniform_int_distribution<size_t> pick(0, 19);
  for (size_t cols : {size_t{8}, size_t{96}, size_t{784}}) {
    DenseMatrix train = DenseMatrix::Zeros(200, cols);
    DenseMatrix queries = DenseMatrix::Zeros(20, cols);
    std::vector<float> center(cols);
    for (float& c : center) c = 1000.0f + offset(rng);
    for (size_t i = 0; i < train.rows; ++i) {
      float* x = train.mutable_row(i);
      if (i >= 20 && i % 3 == 0) {  // an exact duplicate of an earlier row: a tie
        std::copy_n(train.row(pick(rng)), cols, x);
        continue;
      }
      for (size_t t = 0; t < cols; ++t) x[t] = center[t] + (t % 7 == i % 7 ? offset(rng) : 0.0f);
    }
    for (size_t i = 0; i < queries.rows; ++i) {
      float* q = queries.mutable_row(i);
      for (size_t t = 0; t < cols; ++t) q[t] = center[t] + offset(rng) * 0.1f;
    }
    for (Metric metric : {Metric::kL2, Metric::kL1, Metric::kCosine}) {
      ExpectBruteForceAgreesWithNaive(train, queries, metric, {1, 5, 30}, "far");
      if (cols <= kAutoKdTreeMaxDim && metric != Metric::kCosine) {
        IndexOptions options;
        options.metric = metric;
        options.kind = IndexKind::kKdTree;
        ExpectAgreesWithNaive(train, queries, options, 5, 2, "far kdtree");
      }
    }
  }
}

// The vector re-rank must give RankDistance's bits exactly, or ties could break differently.
TEST(KnnTest, RankDistancesMatchRankDistanceBitForBit) {
  std::mt19937 rng(19);
  std::uniform_real_distribution<float> real(-1.0f, 1.0f);
  for (size_t cols : {1u, 5u, 8u, 13u, 100u, 784u}) {
    DenseMatrix train = DenseMatrix::Zeros(37, cols);
    for (size_t i = 0; i < train.rows; ++i) {
      for (size_t t = 0; t < cols; ++t) train.mutable_row(i)[t] = 1000.0f * (i % 2) + real(rng);
    }
    const float* q = train.row(3);
    std::vector<const float*> rows;
    for (size_t i = 0; i < train.rows; ++i) rows.push_back(train.row((i * 7) % train.rows));
    for (Metric metric : {Metric::kL2, Metric::kL1, Metric::kCosine}) {
      std::vector<double> got(rows.size());
      RankDistances(metric, q, rows.data(), rows.size(), cols, train.stride, got.data());
      for (size_t j = 0; j < rows.size(); ++j) {
        ASSERT_EQ(got[j], RankDistance(metric, q, rows[j], cols))
            << MetricName(metric) << " cols=" << cols << " row " << j;
      }
    }
  }
}

TEST(KnnTest, AutoPicksTheTreeForLowDimensionsOnly) {
  std::mt19937 rng(3);
  const DenseMatrix low = Random(50, kAutoKdTreeMaxDim, &rng, false);
  const DenseMatrix high = Random(50, kAutoKdTreeMaxDim + 1, &rng, false);
  IndexOptions options;
  EXPECT_EQ((*BuildIndex(&low, options))->kind(), IndexKind::kKdTree);
  EXPECT_EQ((*BuildIndex(&high, options))->kind(), IndexKind::kBrute);
  options.metric = Metric::kCosine;
  EXPECT_EQ((*BuildIndex(&low, options))->kind(), IndexKind::kBrute);
}

TEST(KnnTest, BadRequestsAreErrors) {
  std::mt19937 rng(5);
  const DenseMatrix train = Random(10, 4, &rng, false);
  IndexOptions options;
  options.metric = Metric::kCosine;
  options.kind = IndexKind::kKdTree;
  EXPECT_THAT(BuildIndex(&train, options).status().message(), HasSubstr("l2 and l1"));
  options.metric = Metric::kL2;
  auto index = BuildIndex(&train, options);
  ASSERT_TRUE(index.ok());
  EXPECT_THAT(FindNeighbors(**index, train, train, 11, 1).status().message(),
              HasSubstr("k = 11 must be in [1, 10]"));
  EXPECT_FALSE(FindNeighbors(**index, train, train, 0, 1).ok());
  const DenseMatrix other = Random(3, 5, &rng, false);
  EXPECT_THAT(FindNeighbors(**index, train, other, 1, 1).status().message(),
              HasSubstr("queries have 5 dimensions, the training vectors 4"));
  const DenseMatrix empty = DenseMatrix::Zeros(0, 4);
  EXPECT_THAT(BuildIndex(&empty, options).status().message(), HasSubstr("no training vectors"));
  EXPECT_FALSE(ParseMetric("l3").ok());
  EXPECT_FALSE(ParseIndexKind("ball").ok());
}

}  // namespace
}  // namespace parasol::knn
