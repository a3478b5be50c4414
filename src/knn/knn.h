// Exact k-nearest-neighbour search over dense vectors: brute force (blocked, vectorised) or a
// k-d tree, behind one interface, and the threaded search over a query matrix. An index is
// immutable after BuildIndex and Search may be called from many threads at once.
//
// Results are exact and deterministic: distances are evaluated in double precision from the
// float data (brute force screens candidates with float kernels first, then re-ranks them in
// double and falls back to a full double scan when float rounding could have mattered).
// Neighbours come in increasing distance; among equal distances the smaller training index
// comes first. Distances: l2 = Euclidean, l1 = Manhattan, cosine = 1 − x·y / (|x| |y|), which
// is 1 when either vector is zero.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "knn/dense_data.h"
#include "knn/kernels.h"

namespace parasol::knn {

enum class Metric { kL2, kL1, kCosine };
enum class IndexKind { kBrute, kKdTree, kAuto };

absl::StatusOr<Metric> ParseMetric(const std::string& name);  // l2 | l1 | cosine
const char* MetricName(Metric metric);
absl::StatusOr<IndexKind> ParseIndexKind(const std::string& name);  // brute | kdtree | auto
const char* IndexKindName(IndexKind kind);

// `auto` uses the k-d tree up to this dimension (for the metrics it supports), brute force above.
inline constexpr size_t kAutoKdTreeMaxDim = 8;
// Brute force for l2 and cosine computes dot products with OpenBLAS sgemm from this many
// dimensions (the padded stride), with BestKernels() below: measured with bench/knn_bench
// (see src/knn/README.md).
inline constexpr size_t kBlasMinDim = 64;

// k neighbours per query, row-major: query q's j-th neighbour is indices[q * k + j].
struct Neighbors {
  size_t k = 0;
  std::vector<uint32_t> indices;
  std::vector<float> distances;
};

struct IndexOptions {
  Metric metric = Metric::kL2;
  IndexKind kind = IndexKind::kAuto;
  // Brute force (the k-d tree scans its leaves with AVX2 unless this is PortableKernels());
  // null = BlasKernels() for l2 and cosine from kBlasMinDim dimensions, else
  // BestKernels(). Building a brute-force index on BlasKernels() calls UseOneBlasThread().
  const Kernels* kernels = nullptr;
  size_t leaf_size = 16;  // k-d tree bucket size
};

class NeighborIndex {
 public:
  virtual ~NeighborIndex() = default;
  // Fills k neighbours for queries [begin, end) into indices/distances (row-major from `begin`).
  // REQUIRES: queries.stride == the training matrix's stride, 1 <= k <= training rows.
  virtual void Search(const DenseMatrix& queries, size_t begin, size_t end, size_t k,
                      uint32_t* indices, float* distances) const = 0;
  virtual IndexKind kind() const = 0;  // brute or kdtree, never auto
  // How many queries FindNeighbors hands to one Search call (at most).
  virtual size_t query_batch() const { return 64; }
};

// Builds an index over `train`, which must outlive it. InvalidArgument for an empty matrix, more
// than 2^32 − 1 rows, or the k-d tree with cosine (supported: l2 and l1).
absl::StatusOr<std::unique_ptr<NeighborIndex>> BuildIndex(const DenseMatrix* train,
                                                          const IndexOptions& options);

// Searches every query row on `threads` threads (≥ 1). InvalidArgument when k is not in
// [1, training rows] or the dimensions differ.
absl::StatusOr<Neighbors> FindNeighbors(const NeighborIndex& index, const DenseMatrix& train,
                                        const DenseMatrix& queries, size_t k, int threads);

// The exact distance used for ranking, in double: squared Euclidean for l2 (reported as its
// square root), the distance itself for l1 and cosine. `n` floats of each vector.
double RankDistance(Metric metric, const float* a, const float* b, size_t n);
// RankDistance from q to each of `count` rows, bit for bit, into out[0, count). Rows and q are
// `stride` floats (padded with zeros past `n`); l2 and l1 run 8 rows at a time with AVX2 when
// the CPU has it, each lane adding its terms in RankDistance's order.
void RankDistances(Metric metric, const float* q, const float* const* rows, size_t count, size_t n,
                   size_t stride, double* out);
// What is reported for a rank distance.
inline double ReportedDistance(Metric metric, double rank) {
  return metric == Metric::kL2 ? __builtin_sqrt(rank) : rank;
}

// Internals shared by the index implementations.
std::unique_ptr<NeighborIndex> MakeBruteForceIndex(const DenseMatrix* train, Metric metric,
                                                   const Kernels& kernels);
// simd: scan leaves with AVX2 when the CPU has it (false: the portable scan, for tests).
std::unique_ptr<NeighborIndex> MakeKdTreeIndex(const DenseMatrix* train, Metric metric,
                                               size_t leaf_size, bool simd);

}  // namespace parasol::knn
