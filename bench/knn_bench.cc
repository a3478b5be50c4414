// KNN benchmark driver: Parasol's brute force and k-d tree against faiss IndexFlatL2 (brute
// force on BLAS) and nanoflann (k-d tree) on the same random data, k neighbours, T threads.
// Prints one JSON object per line: {case, impl, train, queries, dim, k, threads, build_seconds,
// search_seconds, queries_per_second, agree}. `agree` is the share of queries whose k neighbour
// ids equal Parasol brute force's (exact; ties to the smaller id) as a set.
//   knn_bench CASE TRAIN QUERIES DIM [K=5] [THREADS=2] [REPEAT=3] [KERNELS=auto]
// Timings are the median of REPEAT searches. KERNELS (auto, avx2, openblas) picks Parasol's
// brute-force kernels (auto: the library's choice by dimension; how kBlasMinDim was measured).
// faiss runs sgemm on OpenBLAS's own threads (THREADS of them) and OpenMP, as it does by default;
// Parasol sets OpenBLAS to one thread and splits the queries over its THREADS threads.
#include <cblas.h>
#include <faiss/IndexFlat.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <nanoflann.hpp>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "knn/knn.h"

namespace {

using parasol::knn::DenseMatrix;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double CpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Median wall seconds, and median CPU seconds of all threads: CPU time is less disturbed than
// wall time by other work on a shared machine, but counts OpenBLAS/OpenMP threads spinning too.
struct Timing {
  double wall, cpu;
};

template <typename F>
Timing Median(int repeat, F&& f) {
  std::vector<double> t, cpu;
  for (int r = 0; r < repeat; ++r) {
    const double cpu_start = CpuSeconds();
    const auto start = Clock::now();
    f();
    t.push_back(Seconds(start));
    cpu.push_back(CpuSeconds() - cpu_start);
  }
  std::sort(t.begin(), t.end());
  std::sort(cpu.begin(), cpu.end());
  return {t[t.size() / 2], cpu[cpu.size() / 2]};
}

struct Cloud {
  const std::vector<float>* data;
  size_t dim;
  size_t kdtree_get_point_count() const { return data->size() / dim; }
  float kdtree_get_pt(size_t i, size_t d) const { return (*data)[i * dim + d]; }
  template <class BBox>
  bool kdtree_get_bbox(BBox&) const {
    return false;
  }
};

double Agree(const std::vector<std::vector<size_t>>& got, const std::vector<uint32_t>& want,
             size_t k) {
  size_t same = 0;
  for (size_t q = 0; q < got.size(); ++q) {
    std::set<size_t> a(got[q].begin(), got[q].end());
    std::set<size_t> b(want.begin() + q * k, want.begin() + (q + 1) * k);
    same += a == b;
  }
  return static_cast<double>(same) / static_cast<double>(got.size());
}

void Print(const std::string& name, const char* impl, size_t n, size_t m, size_t dim, size_t k,
           int threads, double build, Timing search, double agree) {
  std::printf(
      "{\"case\":\"%s\",\"impl\":\"%s\",\"train\":%zu,\"queries\":%zu,\"dim\":%zu,\"k\":%zu,"
      "\"threads\":%d,\"build_seconds\":%.6f,\"search_seconds\":%.6f,\"queries_per_second\":%.1f,"
      "\"search_cpu_seconds\":%.6f,\"agree\":%.4f}\n",
      name.c_str(), impl, n, m, dim, k, threads, build, search.wall, m / search.wall, search.cpu,
      agree);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr,
                 "usage: knn_bench CASE TRAIN QUERIES DIM [K] [THREADS] [REPEAT] [KERNELS]\n");
    return 2;
  }
  const std::string name = argv[1];
  const size_t n = std::strtoull(argv[2], nullptr, 10);
  const size_t m = std::strtoull(argv[3], nullptr, 10);
  const size_t dim = std::strtoull(argv[4], nullptr, 10);
  const size_t k = argc > 5 ? std::strtoull(argv[5], nullptr, 10) : 5;
  const int threads = argc > 6 ? std::atoi(argv[6]) : 2;
  const int repeat = argc > 7 ? std::atoi(argv[7]) : 3;
  const std::string kernels = argc > 8 ? argv[8] : "auto";

  std::mt19937 rng(42);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  std::vector<float> xb(n * dim), xq(m * dim);
  for (float& v : xb) v = u(rng);
  for (float& v : xq) v = u(rng);
  DenseMatrix train = DenseMatrix::Zeros(n, dim), queries = DenseMatrix::Zeros(m, dim);
  for (size_t i = 0; i < n; ++i) std::copy_n(&xb[i * dim], dim, train.mutable_row(i));
  for (size_t i = 0; i < m; ++i) std::copy_n(&xq[i * dim], dim, queries.mutable_row(i));

  // Parasol: brute force always; the k-d tree for low dimensions.
  std::vector<uint32_t> exact;
  for (auto kind : {parasol::knn::IndexKind::kBrute, parasol::knn::IndexKind::kKdTree}) {
    if (kind == parasol::knn::IndexKind::kKdTree && dim > 16) continue;
    parasol::knn::IndexOptions options;
    options.kind = kind;
    if (kernels == "avx2") options.kernels = &parasol::knn::BestKernels();
    if (kernels == "openblas") options.kernels = &parasol::knn::BlasKernels();
    std::unique_ptr<parasol::knn::NeighborIndex> index;
    const double build =
        Median(1, [&] { index = *parasol::knn::BuildIndex(&train, options); }).wall;
    parasol::knn::Neighbors result;
    const Timing search = Median(
        repeat, [&] { result = *parasol::knn::FindNeighbors(*index, train, queries, k, threads); });
    if (exact.empty()) exact = result.indices;
    std::vector<std::vector<size_t>> got(m);
    for (size_t q = 0; q < m; ++q)
      got[q].assign(&result.indices[q * k], &result.indices[(q + 1) * k]);
    Print(name, kind == parasol::knn::IndexKind::kBrute ? "parasol-brute" : "parasol-kdtree", n, m,
          dim, k, threads, build, search, Agree(got, exact, k));
  }

  {  // faiss IndexFlatL2 (exact brute force; BLAS sgemm for batches of queries)
    omp_set_num_threads(threads);
    openblas_set_num_threads(threads);
    faiss::IndexFlatL2 index(static_cast<faiss::Index::idx_t>(dim));
    const double build =
        Median(1, [&] { index.add(static_cast<faiss::Index::idx_t>(n), xb.data()); }).wall;
    std::vector<float> d(m * k);
    std::vector<faiss::Index::idx_t> ids(m * k);
    const Timing search = Median(repeat, [&] {
      index.search(static_cast<faiss::Index::idx_t>(m), xq.data(),
                   static_cast<faiss::Index::idx_t>(k), d.data(), ids.data());
    });
    std::vector<std::vector<size_t>> got(m);
    for (size_t q = 0; q < m; ++q) got[q].assign(&ids[q * k], &ids[(q + 1) * k]);
    Print(name, "faiss-flat-l2", n, m, dim, k, threads, build, search, Agree(got, exact, k));
  }

  if (dim <= 16) {  // nanoflann k-d tree, queries split over threads
    using Tree = nanoflann::KDTreeSingleIndexAdaptor<nanoflann::L2_Simple_Adaptor<float, Cloud>,
                                                     Cloud, -1, size_t>;
    Cloud cloud{&xb, dim};
    std::unique_ptr<Tree> tree;
    const double build =
        Median(1, [&] {
          tree = std::make_unique<Tree>(dim, cloud, nanoflann::KDTreeSingleIndexAdaptorParams(10));
          tree->buildIndex();
        }).wall;
    std::vector<std::vector<size_t>> got(m, std::vector<size_t>(k));
    const Timing search = Median(repeat, [&] {
      std::vector<std::thread> pool;
      for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
          std::vector<float> d(k);
          for (size_t q = static_cast<size_t>(t); q < m; q += static_cast<size_t>(threads)) {
            nanoflann::KNNResultSet<float, size_t> rs(k);
            rs.init(got[q].data(), d.data());
            tree->findNeighbors(rs, &xq[q * dim], nanoflann::SearchParams(10));
          }
        });
      }
      for (std::thread& th : pool) th.join();
    });
    Print(name, "nanoflann-kdtree", n, m, dim, k, threads, build, search, Agree(got, exact, k));
  }
  return 0;
}
