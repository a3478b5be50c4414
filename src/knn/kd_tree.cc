// Exact k-d tree for l2 and l1: median splits on the dimension of widest spread, leaf buckets
// of up to leaf_size points stored contiguously, and depth-first search that visits the nearer
// child first and prunes the farther one by the incremental distance from the query to its
// cell (Arya & Mount), so a cell is skipped only when it cannot hold a point as close as the
// current k-th neighbour (equal distance included, for the smaller-index tie rule).
#include <algorithm>
#include <cmath>
#include <numeric>
#include <utility>
#include <vector>

#include "knn/knn.h"

namespace parasol::knn {
namespace {

using Exact = std::pair<double, uint32_t>;  // rank distance, training index

struct Node {
  uint32_t begin, end;            // points [begin, end) in tree order
  int32_t left = -1, right = -1;  // children; -1 for a leaf
  uint32_t dim = 0;
  float split = 0;  // points left ≤ split ≤ points right on `dim`
};

class KdTreeIndex : public NeighborIndex {
 public:
  KdTreeIndex(const DenseMatrix* train, Metric metric, size_t leaf_size)
      : metric_(metric), cols_(train->cols), leaf_size_(leaf_size) {
    std::vector<uint32_t> order(train->rows);
    std::iota(order.begin(), order.end(), 0u);
    nodes_.reserve(2 * train->rows / leaf_size + 2);
    Build(*train, &order, 0, static_cast<uint32_t>(train->rows));
    ids_ = order;
    points_.resize(train->rows * cols_);
    for (size_t p = 0; p < order.size(); ++p) {
      std::copy_n(train->row(order[p]), cols_, points_.data() + p * cols_);
    }
  }

  IndexKind kind() const override { return IndexKind::kKdTree; }

  void Search(const DenseMatrix& queries, size_t begin, size_t end, size_t k, uint32_t* indices,
              float* distances) const override {
    std::vector<Exact> heap;
    std::vector<double> offsets(cols_);
    heap.reserve(k);
    for (size_t i = begin; i < end; ++i) {
      heap.clear();
      std::fill(offsets.begin(), offsets.end(), 0.0);
      if (metric_ == Metric::kL2) {
        Visit<Metric::kL2>(0, queries.row(i), 0.0, k, offsets.data(), &heap);
      } else {
        Visit<Metric::kL1>(0, queries.row(i), 0.0, k, offsets.data(), &heap);
      }
      std::sort_heap(heap.begin(), heap.end());
      for (size_t j = 0; j < k; ++j) {
        indices[(i - begin) * k + j] = heap[j].second;
        distances[(i - begin) * k + j] =
            static_cast<float>(ReportedDistance(metric_, heap[j].first));
      }
    }
  }

 private:
  int32_t Build(const DenseMatrix& train, std::vector<uint32_t>* order, uint32_t begin,
                uint32_t end) {
    const int32_t id = static_cast<int32_t>(nodes_.size());
    nodes_.push_back({begin, end});
    if (end - begin <= leaf_size_) return id;
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
    if (best_spread == 0) return id;  // all points equal: one bucket
    const uint32_t mid = begin + (end - begin) / 2;
    auto value = [&](uint32_t row) { return train.row(row)[best_dim]; };
    std::nth_element(order->begin() + begin, order->begin() + mid, order->begin() + end,
                     [&](uint32_t a, uint32_t b) { return value(a) < value(b); });
    const float split = value((*order)[mid]);
    const int32_t left = Build(train, order, begin, mid);
    const int32_t right = Build(train, order, mid, end);
    Node& node = nodes_[static_cast<size_t>(id)];
    node.left = left;
    node.right = right;
    node.dim = best_dim;
    node.split = split;
    return id;
  }

  template <Metric kMetric>
  static double Cut(double diff) {
    return kMetric == Metric::kL2 ? diff * diff : std::fabs(diff);
  }

  // RankDistance, inlined for the metric (same operations in the same order).
  template <Metric kMetric>
  double Distance(const float* q, const float* p) const {
    double s = 0;
    for (size_t t = 0; t < cols_; ++t) {
      s += Cut<kMetric>(static_cast<double>(q[t]) - static_cast<double>(p[t]));
    }
    return s;
  }

  // `cell` is a lower bound on the distance from q to the node's cell; offsets[d] is the part of
  // it contributed by dimension d.
  template <Metric kMetric>
  void Visit(int32_t id, const float* q, double cell, size_t k, double* offsets,
             std::vector<Exact>* heap) const {
    const Node& node = nodes_[static_cast<size_t>(id)];
    if (node.left < 0) {
      for (uint32_t p = node.begin; p < node.end; ++p) {
        const Exact e(Distance<kMetric>(q, points_.data() + size_t{p} * cols_), ids_[p]);
        if (heap->size() < k) {
          heap->push_back(e);
          std::push_heap(heap->begin(), heap->end());
        } else if (e < heap->front()) {
          std::pop_heap(heap->begin(), heap->end());
          heap->back() = e;
          std::push_heap(heap->begin(), heap->end());
        }
      }
      return;
    }
    const double diff = static_cast<double>(q[node.dim]) - static_cast<double>(node.split);
    const int32_t near = diff < 0 ? node.left : node.right;
    const int32_t far = diff < 0 ? node.right : node.left;
    Visit<kMetric>(near, q, cell, k, offsets, heap);
    const double saved = offsets[node.dim];
    const double cut = Cut<kMetric>(diff);
    const double far_cell = cell - saved + cut;
    // The relative margin absorbs rounding in the running sum; it only visits more.
    if (heap->size() < k || far_cell * (1 - 1e-9) <= heap->front().first) {
      offsets[node.dim] = cut;
      Visit<kMetric>(far, q, far_cell, k, offsets, heap);
      offsets[node.dim] = saved;
    }
  }

  const Metric metric_;
  const size_t cols_;
  const size_t leaf_size_;
  std::vector<Node> nodes_;
  std::vector<uint32_t> ids_;  // training index of each point in tree order
  std::vector<float> points_;  // points in tree order, cols_ floats each (no padding)
};

}  // namespace

std::unique_ptr<NeighborIndex> MakeKdTreeIndex(const DenseMatrix* train, Metric metric,
                                               size_t leaf_size) {
  return std::make_unique<KdTreeIndex>(train, metric, leaf_size);
}

}  // namespace parasol::knn
