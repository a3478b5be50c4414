// Index selection, names, the exact distance and the threaded search driver.
#include "knn/knn.h"

#include <algorithm>
#include <cmath>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace parasol::knn {

absl::StatusOr<Metric> ParseMetric(const std::string& name) {
  if (name == "l2") return Metric::kL2;
  if (name == "l1") return Metric::kL1;
  if (name == "cosine") return Metric::kCosine;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown metric '", name, "' (expected l2, l1 or cosine)"));
}

const char* MetricName(Metric metric) {
  switch (metric) {
    case Metric::kL2:
      return "l2";
    case Metric::kL1:
      return "l1";
    case Metric::kCosine:
      return "cosine";
  }
  return "unknown";
}

absl::StatusOr<IndexKind> ParseIndexKind(const std::string& name) {
  if (name == "brute") return IndexKind::kBrute;
  if (name == "kdtree") return IndexKind::kKdTree;
  if (name == "auto") return IndexKind::kAuto;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown index '", name, "' (expected brute, kdtree or auto)"));
}

const char* IndexKindName(IndexKind kind) {
  switch (kind) {
    case IndexKind::kBrute:
      return "brute";
    case IndexKind::kKdTree:
      return "kdtree";
    case IndexKind::kAuto:
      return "auto";
  }
  return "unknown";
}

double RankDistance(Metric metric, const float* a, const float* b, size_t n) {
  switch (metric) {
    case Metric::kL2: {
      double s = 0;
      for (size_t t = 0; t < n; ++t) {
        const double d = static_cast<double>(a[t]) - static_cast<double>(b[t]);
        s += d * d;
      }
      return s;
    }
    case Metric::kL1: {
      double s = 0;
      for (size_t t = 0; t < n; ++t) {
        s += std::fabs(static_cast<double>(a[t]) - static_cast<double>(b[t]));
      }
      return s;
    }
    case Metric::kCosine: {
      double dot = 0, aa = 0, bb = 0;
      for (size_t t = 0; t < n; ++t) {
        const double x = a[t], y = b[t];
        dot += x * y;
        aa += x * x;
        bb += y * y;
      }
      if (aa == 0 || bb == 0) return 1.0;
      return 1.0 - dot / (std::sqrt(aa) * std::sqrt(bb));
    }
  }
  return 0;
}

void RankDistances(Metric metric, const float* q, const float* const* rows, size_t count, size_t n,
                   size_t stride, double* out) {
  size_t done = 0;
  if (metric != Metric::kCosine && CpuHasAvx2Fma()) {
    done = RankDistancesAvx2(metric == Metric::kL1, q, rows, count, stride, out);
  }
  for (size_t j = done; j < count; ++j) out[j] = RankDistance(metric, q, rows[j], n);
}

absl::StatusOr<std::unique_ptr<NeighborIndex>> BuildIndex(const DenseMatrix* train,
                                                          const IndexOptions& options) {
  if (train->rows == 0) return absl::InvalidArgumentError("no training vectors");
  if (train->rows >= UINT32_MAX) {
    return absl::InvalidArgumentError(
        absl::StrCat(train->rows, " training vectors; at most 2^32 - 2 are supported"));
  }
  IndexKind kind = options.kind;
  if (kind == IndexKind::kAuto) {
    kind = options.metric != Metric::kCosine && train->cols <= kAutoKdTreeMaxDim
               ? IndexKind::kKdTree
               : IndexKind::kBrute;
  }
  if (kind == IndexKind::kKdTree) {
    if (options.metric == Metric::kCosine) {
      return absl::InvalidArgumentError(
          "the k-d tree supports the l2 and l1 metrics; use --index brute (or auto) for cosine");
    }
    return MakeKdTreeIndex(train, options.metric, std::max<size_t>(options.leaf_size, 1),
                           options.kernels != &PortableKernels());
  }
  const Kernels* kernels = options.kernels;
  if (kernels == nullptr) {
    kernels = options.metric != Metric::kL1 && train->stride >= kBlasMinDim ? &BlasKernels()
                                                                            : &BestKernels();
  }
  if (kernels == &BlasKernels()) UseOneBlasThread();
  return MakeBruteForceIndex(train, options.metric, *kernels);
}

absl::StatusOr<Neighbors> FindNeighbors(const NeighborIndex& index, const DenseMatrix& train,
                                        const DenseMatrix& queries, size_t k, int threads) {
  if (k < 1 || k > train.rows) {
    return absl::InvalidArgumentError(absl::StrCat("k = ", k, " must be in [1, ", train.rows,
                                                   "] (the number of training vectors)"));
  }
  if (queries.cols != train.cols || queries.stride != train.stride) {
    return absl::InvalidArgumentError(absl::StrCat(
        "queries have ", queries.cols, " dimensions, the training vectors ", train.cols));
  }
  if (threads < 1) return absl::InvalidArgumentError("threads must be >= 1");
  Neighbors out;
  out.k = k;
  out.indices.resize(queries.rows * k);
  out.distances.resize(queries.rows * k);
  // Interleaved chunks balance the load when queries differ in cost (k-d tree).
  // Batches are at most the index's size and small enough to give every thread work.
  const size_t per_thread =
      (queries.rows + static_cast<size_t>(threads) - 1) / static_cast<size_t>(threads);
  const size_t batch = std::clamp<size_t>(per_thread, 1, std::max<size_t>(index.query_batch(), 1));
  const size_t chunks = (queries.rows + batch - 1) / batch;
  const size_t workers =
      std::min<size_t>(static_cast<size_t>(threads), std::max<size_t>(chunks, 1));
  auto work = [&](size_t w) {
    for (size_t c = w; c < chunks; c += workers) {
      const size_t begin = c * batch;
      const size_t end = std::min(queries.rows, begin + batch);
      index.Search(queries, begin, end, k, out.indices.data() + begin * k,
                   out.distances.data() + begin * k);
    }
  };
  std::vector<std::thread> pool;
  for (size_t w = 1; w < workers; ++w) pool.emplace_back(work, w);
  work(0);
  for (std::thread& t : pool) t.join();
  return out;
}

}  // namespace parasol::knn
