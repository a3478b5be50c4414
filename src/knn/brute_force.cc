// Brute-force search: the training rows are scanned in blocks that stay in cache while a tile of
// queries is compared with them by the vector kernels (l2 as |q|² + |x|² − 2 q·x, cosine from
// q·x and the norms, l1 directly). A bounded heap per query keeps the best float candidates;
// these are re-ranked with exact double distances, and a query whose float screening could
// have been decided by rounding is rescanned exactly (rare: see the slack below).
#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "knn/knn.h"

namespace parasol::knn {
namespace {

constexpr double kUnit = 1.0 / (1 << 24);  // float rounding unit

using Candidate = std::pair<float, uint32_t>;  // approximate distance, training index
using Exact = std::pair<double, uint32_t>;     // rank distance, training index

class BruteForceIndex : public NeighborIndex {
 public:
  BruteForceIndex(const DenseMatrix* train, Metric metric, const Kernels& kernels)
      : train_(*train), metric_(metric), kernels_(kernels) {
    norms_.resize(train_.rows);
    for (size_t j = 0; j < train_.rows; ++j) {
      const double n = Norm(train_.row(j));
      max_norm_ = std::max(max_norm_, n);
      norms_[j] = metric_ == Metric::kCosine ? (n > 0 ? static_cast<float>(1.0 / std::sqrt(n)) : 0)
                                             : static_cast<float>(n);
    }
    tile_rows_ = std::clamp<size_t>(kernels_.block_bytes / (train_.stride * sizeof(float)), 8,
                                    kernels_.max_block_rows) /
                 2 * 2;
    // Bound on |float screening value − exact value| per unit of scale (see Slack()).
    gamma_ = static_cast<double>(2 * kernels_.max_roundings(train_.stride) + 10) * kUnit;
  }

  IndexKind kind() const override { return IndexKind::kBrute; }
  size_t query_batch() const override { return kernels_.query_batch; }

  void Search(const DenseMatrix& queries, size_t begin, size_t end, size_t k, uint32_t* indices,
              float* distances) const override {
    const size_t nq = end - begin;
    const size_t n = train_.rows;
    const size_t capacity = std::min(n, 2 * k + 16);
    std::vector<std::vector<Candidate>> heaps(nq);
    std::vector<double> qnorm(nq);
    std::vector<float> qscale(nq);
    for (size_t i = 0; i < nq; ++i) {
      heaps[i].reserve(capacity);
      qnorm[i] = Norm(queries.row(begin + i));
      qscale[i] = metric_ == Metric::kCosine
                      ? (qnorm[i] > 0 ? static_cast<float>(1.0 / std::sqrt(qnorm[i])) : 0)
                      : static_cast<float>(qnorm[i]);
    }
    std::vector<float> tile(nq * tile_rows_);
    const size_t dim = train_.stride;
    for (size_t j0 = 0; j0 < n; j0 += tile_rows_) {
      const size_t nx = std::min(tile_rows_, n - j0);
      if (metric_ == Metric::kL1) {
        kernels_.l1_block(queries.row(begin), nq, train_.row(j0), nx, dim, tile.data(), nx);
      } else {
        kernels_.dot_block(queries.row(begin), nq, train_.row(j0), nx, dim, tile.data(), nx);
      }
      for (size_t i = 0; i < nq; ++i) {
        float* row = tile.data() + i * nx;
        if (metric_ == Metric::kL2) {
          for (size_t j = 0; j < nx; ++j) row[j] = qscale[i] + norms_[j0 + j] - 2.0f * row[j];
        } else if (metric_ == Metric::kCosine) {
          for (size_t j = 0; j < nx; ++j) row[j] = 1.0f - row[j] * qscale[i] * norms_[j0 + j];
        }
        Offer(row, nx, j0, capacity, &heaps[i]);
      }
    }
    std::vector<Exact> exact;
    std::vector<const float*> rows;
    std::vector<double> ranks;
    for (size_t i = 0; i < nq; ++i) {
      const float* q = queries.row(begin + i);
      std::vector<Candidate>& heap = heaps[i];
      rows.clear();
      for (const Candidate& c : heap) rows.push_back(train_.row(c.second));
      ranks.resize(rows.size());
      RankDistances(metric_, q, rows.data(), rows.size(), train_.cols, train_.stride, ranks.data());
      exact.clear();
      for (size_t c = 0; c < heap.size(); ++c) exact.emplace_back(ranks[c], heap[c].second);
      std::sort(exact.begin(), exact.end());
      // Rows outside the heap screened at ≥ the heap's worst value; their exact distance is at
      // least that minus the slack. If that cannot reach the k-th exact distance, done.
      if (capacity < n && !(exact[k - 1].first < heap.front().first - Slack(qnorm[i]))) {
        ExactScan(q, k, &exact);
      }
      for (size_t j = 0; j < k; ++j) {
        indices[i * k + j] = exact[j].second;
        distances[i * k + j] = static_cast<float>(ReportedDistance(metric_, exact[j].first));
      }
    }
  }

 private:
  // |x|² for l2 and cosine, Σ|x| for l1 (the scales of the rounding error).
  double Norm(const float* x) const {
    double s = 0;
    for (size_t t = 0; t < train_.cols; ++t) {
      s += metric_ == Metric::kL1 ? std::fabs(static_cast<double>(x[t]))
                                  : static_cast<double>(x[t]) * x[t];
    }
    return s;
  }

  // A bound on the float screening error: each kernel sum has at most max_roundings(stride)
  // roundings on any term's path; the slack doubles that and adds room for the final operations.
  double Slack(double qnorm) const {
    switch (metric_) {
      case Metric::kL2:
        return gamma_ * 4 * (qnorm + max_norm_);
      case Metric::kL1:
        return gamma_ * 2 * (qnorm + max_norm_);
      case Metric::kCosine:
        return gamma_ * 4;
    }
    return 0;
  }

  // Max-heap on (value, index): a later row (larger index) replaces the worst only when strictly
  // closer, which keeps the smaller index among equal values.
  static void Offer(const float* row, size_t nx, size_t j0, size_t capacity,
                    std::vector<Candidate>* heap) {
    size_t j = 0;
    for (; j < nx && heap->size() < capacity; ++j) {
      heap->emplace_back(row[j], static_cast<uint32_t>(j0 + j));
      std::push_heap(heap->begin(), heap->end());
    }
    float worst = heap->front().first;
    for (; j < nx; ++j) {
      if (row[j] < worst) {
        std::pop_heap(heap->begin(), heap->end());
        heap->back() = {row[j], static_cast<uint32_t>(j0 + j)};
        std::push_heap(heap->begin(), heap->end());
        worst = heap->front().first;
      }
    }
  }

  // Exact k smallest over all rows (sorted into the first k of *out).
  void ExactScan(const float* q, size_t k, std::vector<Exact>* out) const {
    std::vector<Exact>& heap = *out;
    heap.clear();
    constexpr size_t kBatch = 64;
    const float* rows[kBatch];
    double ranks[kBatch];
    for (size_t j = 0; j < train_.rows; ++j) {
      const size_t b = j % kBatch;
      if (b == 0) {
        const size_t count = std::min(kBatch, train_.rows - j);
        for (size_t r = 0; r < count; ++r) rows[r] = train_.row(j + r);
        RankDistances(metric_, q, rows, count, train_.cols, train_.stride, ranks);
      }
      const Exact e(ranks[b], static_cast<uint32_t>(j));
      if (heap.size() < k) {
        heap.push_back(e);
        std::push_heap(heap.begin(), heap.end());
      } else if (e < heap.front()) {
        std::pop_heap(heap.begin(), heap.end());
        heap.back() = e;
        std::push_heap(heap.begin(), heap.end());
      }
    }
    std::sort_heap(heap.begin(), heap.end());
  }

  const DenseMatrix& train_;
  const Metric metric_;
  const Kernels& kernels_;
  std::vector<float> norms_;  // l2: |x|²; cosine: 1/|x| (0 for a zero row); l1: Σ|x|
  double max_norm_ = 0;       // largest |x|² or Σ|x|
  size_t tile_rows_ = 0;
  double gamma_ = 0;
};

}  // namespace

std::unique_ptr<NeighborIndex> MakeBruteForceIndex(const DenseMatrix* train, Metric metric,
                                                   const Kernels& kernels) {
  return std::make_unique<BruteForceIndex>(train, metric, kernels);
}

}  // namespace parasol::knn
