// Exact k-d tree for l2 and l1: median splits on the dimension of widest spread, leaf buckets
// of up to leaf_size points, and depth-first search that visits the nearer child first and
// prunes the farther one by the incremental distance from the query to its cell (Arya & Mount;
// each node keeps its children's facing bounds on the split dimension, as nanoflann does), so a
// cell is skipped only when it cannot hold a point as close as the current k-th neighbour
// (equal distance included, for the smaller-index tie rule).
//
// Layout for the machine: the nodes are one flat array in depth-first order (the left child
// follows its parent, 16 bytes a node); each leaf's points are stored together, dimension by
// dimension in groups of 8 (padded), so the leaf scan computes 8 exact double distances per step
// with AVX2 — each lane sums its point's terms in RankDistance's order, so the values are the
// same bits (this file is compiled with -ffp-contract=off: no fused multiply-adds).
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <utility>
#include <vector>

#include "knn/knn.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define PARASOL_KD_AVX2 __attribute__((target("avx2")))
#endif

namespace parasol::knn {
namespace {

using Exact = std::pair<double, uint32_t>;  // rank distance, training index

constexpr uint32_t kLeaf = 1u << 31;
constexpr size_t kLanes = 8;  // points per group in a leaf

struct Node {
  // Inner node: the right child (the left one is the next node). Leaf: its first lane (points
  // are padded to groups of kLanes; lane l's training index is ids_[l]).
  uint32_t first;
  uint32_t info;  // inner: the split dimension; leaf: kLeaf | number of points
  float lo, hi;   // inner: largest value of the left child, smallest of the right, on `dim`
};
static_assert(sizeof(Node) == 16);

// The k best (distance, index) pairs seen so far, as a max-heap primed with k sentinels, so the
// worst is always heap[0] and a candidate enters only when strictly better as a pair.
class TopK {
 public:
  void Reset(size_t k) {
    heap_.assign(k, Exact(std::numeric_limits<double>::infinity(), UINT32_MAX));
  }
  double worst() const { return heap_.front().first; }
  void Offer(double d, uint32_t id) {
    const Exact e(d, id);
    if (!(e < heap_.front())) return;
    std::pop_heap(heap_.begin(), heap_.end());
    heap_.back() = e;
    std::push_heap(heap_.begin(), heap_.end());
  }
  // Sorted ascending; the TopK must be Reset before reuse.
  const std::vector<Exact>& Sorted() {
    std::sort_heap(heap_.begin(), heap_.end());
    return heap_;
  }

 private:
  std::vector<Exact> heap_;
};

template <Metric kMetric>
inline double Cut(double diff) {
  return kMetric == Metric::kL2 ? diff * diff : std::fabs(diff);
}

// Scans one leaf: `x` holds its points dimension by dimension, `lanes` floats a dimension.
template <Metric kMetric>
void ScanLeafPortable(const double* q, size_t cols, const float* x, size_t lanes, size_t count,
                      const uint32_t* ids, TopK* top) {
  for (size_t l = 0; l < count; ++l) {
    double s = 0;
    for (size_t t = 0; t < cols; ++t) {
      s += Cut<kMetric>(q[t] - static_cast<double>(x[t * lanes + l]));
    }
    if (s <= top->worst()) top->Offer(s, ids[l]);
  }
}

#if defined(__x86_64__)
template <Metric kMetric>
PARASOL_KD_AVX2 inline __m256d Term(__m256d q, __m128 x) {
  const __m256d d = _mm256_sub_pd(q, _mm256_cvtps_pd(x));
  if constexpr (kMetric == Metric::kL2) {
    return _mm256_mul_pd(d, d);
  } else {
    return _mm256_andnot_pd(_mm256_set1_pd(-0.0), d);
  }
}

template <Metric kMetric>
PARASOL_KD_AVX2 void ScanLeafAvx2(const double* q, size_t cols, const float* x, size_t lanes,
                                  size_t count, const uint32_t* ids, TopK* top) {
  for (size_t g = 0; g < count; g += kLanes) {
    __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
    const float* xg = x + g;
    for (size_t t = 0; t < cols; ++t) {
      const __m256d qt = _mm256_broadcast_sd(q + t);
      s0 = _mm256_add_pd(s0, Term<kMetric>(qt, _mm_loadu_ps(xg + t * lanes)));
      s1 = _mm256_add_pd(s1, Term<kMetric>(qt, _mm_loadu_ps(xg + t * lanes + 4)));
    }
    const __m256d worst = _mm256_set1_pd(top->worst());
    unsigned mask =
        static_cast<unsigned>(_mm256_movemask_pd(_mm256_cmp_pd(s0, worst, _CMP_LE_OQ))) |
        static_cast<unsigned>(_mm256_movemask_pd(_mm256_cmp_pd(s1, worst, _CMP_LE_OQ))) << 4;
    if (count - g < kLanes) mask &= (1u << (count - g)) - 1;
    if (mask == 0) continue;
    alignas(32) double s[kLanes];
    _mm256_store_pd(s, s0);
    _mm256_store_pd(s + 4, s1);
    for (; mask != 0; mask &= mask - 1) {
      const int l = __builtin_ctz(mask);
      top->Offer(s[l], ids[g + static_cast<size_t>(l)]);
    }
  }
}
#endif

class KdTreeIndex : public NeighborIndex {
 public:
  KdTreeIndex(const DenseMatrix* train, Metric metric, size_t leaf_size, bool simd)
      : metric_(metric), cols_(train->cols), leaf_size_(leaf_size) {
    std::vector<uint32_t> order(train->rows);
    std::iota(order.begin(), order.end(), 0u);
    nodes_.reserve(2 * train->rows / leaf_size + 2);
    Build(*train, &order, 0, static_cast<uint32_t>(train->rows));
    Lay(*train, order);
    lo_.assign(cols_, std::numeric_limits<float>::infinity());
    hi_.assign(cols_, -std::numeric_limits<float>::infinity());
    for (size_t i = 0; i < train->rows; ++i) {
      for (size_t t = 0; t < cols_; ++t) {
        lo_[t] = std::min(lo_[t], train->row(i)[t]);
        hi_[t] = std::max(hi_[t], train->row(i)[t]);
      }
    }
#if defined(__x86_64__)
    if (simd && CpuHasAvx2Fma()) {
      scan_ = metric == Metric::kL2 ? ScanLeafAvx2<Metric::kL2> : ScanLeafAvx2<Metric::kL1>;
    }
#endif
    if (scan_ == nullptr) {
      scan_ = metric == Metric::kL2 ? ScanLeafPortable<Metric::kL2> : ScanLeafPortable<Metric::kL1>;
    }
  }

  IndexKind kind() const override { return IndexKind::kKdTree; }

  void Search(const DenseMatrix& queries, size_t begin, size_t end, size_t k, uint32_t* indices,
              float* distances) const override {
    TopK top;
    std::vector<double> q(cols_), offsets(cols_);
    for (size_t i = begin; i < end; ++i) {
      top.Reset(k);
      // Start from the distance to the bounding box of all points.
      double cell = 0;
      for (size_t t = 0; t < cols_; ++t) {
        q[t] = queries.row(i)[t];
        const double below = static_cast<double>(lo_[t]) - q[t];
        const double above = q[t] - static_cast<double>(hi_[t]);
        offsets[t] = below > 0   ? (metric_ == Metric::kL2 ? below * below : below)
                     : above > 0 ? (metric_ == Metric::kL2 ? above * above : above)
                                 : 0.0;
        cell += offsets[t];
      }
      if (metric_ == Metric::kL2) {
        Visit<Metric::kL2>(0, q.data(), cell, offsets.data(), &top);
      } else {
        Visit<Metric::kL1>(0, q.data(), cell, offsets.data(), &top);
      }
      const std::vector<Exact>& best = top.Sorted();
      for (size_t j = 0; j < k; ++j) {
        indices[(i - begin) * k + j] = best[j].second;
        distances[(i - begin) * k + j] =
            static_cast<float>(ReportedDistance(metric_, best[j].first));
      }
    }
  }

 private:
  // Builds the subtree over order[begin, end) at the end of nodes_ (depth-first).
  void Build(const DenseMatrix& train, std::vector<uint32_t>* order, uint32_t begin, uint32_t end) {
    const size_t id = nodes_.size();
    nodes_.push_back({begin, kLeaf | (end - begin), 0, 0});
    if (end - begin <= leaf_size_) return;
    uint32_t best_dim = 0;
    float best_spread = 0;
    for (size_t d = 0; d < cols_; ++d) {
      float lo = train.row((*order)[begin])[d], hi = lo;
      for (uint32_t p = begin + 1; p < end; ++p) {
        const float v = train.row((*order)[p])[d];
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
      if (hi - lo > best_spread) {
        best_spread = hi - lo;
        best_dim = static_cast<uint32_t>(d);
      }
    }
    if (best_spread == 0) return;  // all points equal: one bucket
    const uint32_t mid = begin + (end - begin) / 2;
    auto value = [&](uint32_t row) { return train.row(row)[best_dim]; };
    std::nth_element(order->begin() + begin, order->begin() + mid, order->begin() + end,
                     [&](uint32_t a, uint32_t b) { return value(a) < value(b); });
    float lo = value((*order)[begin]);
    for (uint32_t p = begin + 1; p < mid; ++p) lo = std::max(lo, value((*order)[p]));
    float hi = value((*order)[mid]);  // nth_element: the smallest of [mid, end)
    Build(train, order, begin, mid);
    const size_t right = nodes_.size();
    Build(train, order, mid, end);
    nodes_[id] = {static_cast<uint32_t>(right), best_dim, lo, hi};
  }

  // Stores each leaf's points in groups of kLanes, dimension by dimension, and points the leaves
  // at their first lane.
  void Lay(const DenseMatrix& train, const std::vector<uint32_t>& order) {
    size_t lanes = 0;
    for (const Node& node : nodes_) {
      if (node.info & kLeaf) lanes += ((node.info & ~kLeaf) + kLanes - 1) & ~(kLanes - 1);
    }
    ids_.assign(lanes, UINT32_MAX);
    points_.assign(lanes * cols_, 0.0f);
    size_t next = 0;
    for (Node& node : nodes_) {
      if (!(node.info & kLeaf)) continue;
      const size_t count = node.info & ~kLeaf;
      const size_t width = (count + kLanes - 1) & ~(kLanes - 1);
      float* x = points_.data() + next * cols_;
      for (size_t l = 0; l < count; ++l) {
        const uint32_t row = order[node.first + l];
        ids_[next + l] = row;
        for (size_t t = 0; t < cols_; ++t) x[t * width + l] = train.row(row)[t];
      }
      node.first = static_cast<uint32_t>(next);
      next += width;
    }
  }

  // `cell` is a lower bound on the distance from q to the node's cell; offsets[d] is the part of
  // it contributed by dimension d.
  template <Metric kMetric>
  void Visit(size_t id, const double* q, double cell, double* offsets, TopK* top) const {
    const Node& node = nodes_[id];
    if (node.info & kLeaf) {
      const size_t count = node.info & ~kLeaf;
      const size_t width = (count + kLanes - 1) & ~(kLanes - 1);
      scan_(q, cols_, points_.data() + size_t{node.first} * cols_, width, count,
            ids_.data() + node.first, top);
      return;
    }
    const double val = q[node.info];
    const double to_lo = val - static_cast<double>(node.lo);
    const double to_hi = val - static_cast<double>(node.hi);
    size_t near = id + 1, far = node.first;
    double cut = Cut<kMetric>(to_hi);
    if (to_lo + to_hi >= 0) {
      std::swap(near, far);
      cut = Cut<kMetric>(to_lo);
    }
    Visit<kMetric>(near, q, cell, offsets, top);
    const double saved = offsets[node.info];
    const double far_cell = cell - saved + cut;
    // The relative margin absorbs rounding in the running sum; it only visits more.
    if (far_cell * (1 - 1e-9) <= top->worst()) {
      offsets[node.info] = cut;
      Visit<kMetric>(far, q, far_cell, offsets, top);
      offsets[node.info] = saved;
    }
  }

  using ScanFn = void (*)(const double* q, size_t cols, const float* x, size_t lanes, size_t count,
                          const uint32_t* ids, TopK* top);

  const Metric metric_;
  const size_t cols_;
  const size_t leaf_size_;
  std::vector<Node> nodes_;
  std::vector<uint32_t> ids_;   // training index of each lane (UINT32_MAX for padding)
  std::vector<float> points_;   // per leaf: cols_ runs of its lanes' coordinates
  std::vector<float> lo_, hi_;  // bounding box of all points
  ScanFn scan_ = nullptr;
};

}  // namespace

std::unique_ptr<NeighborIndex> MakeKdTreeIndex(const DenseMatrix* train, Metric metric,
                                               size_t leaf_size, bool simd) {
  return std::make_unique<KdTreeIndex>(train, metric, leaf_size, simd);
}

}  // namespace parasol::knn
