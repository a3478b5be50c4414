// Blocked distance kernels over padded dense rows (see DenseMatrix): a portable version, an
// AVX2+FMA version chosen at run time, and OpenBLAS sgemm for dot products in many dimensions.
// Stateless and thread-safe.
//
// The kernels only screen candidates: brute force re-ranks them with exact double distances,
// and correctness rests on the rounding bound `max_roundings`, not on the order of the sums.
// The portable and AVX2 sets also give a pair (query, row) a value that depends only on the two
// vectors, not on where the pair falls in a block; sgemm does not promise that.
#pragma once

#include <cstddef>

namespace parasol::knn {

struct Kernels {
  const char* name;  // "avx2", "portable" or "openblas"
  // out[i * ldo + j] = Σ_t q_i[t] · x_j[t] for i < nq, j < nx. Rows are `dim` floats apart and
  // `dim` floats long; dim is a multiple of 8.
  void (*dot_block)(const float* q, size_t nq, const float* x, size_t nx, size_t dim, float* out,
                    size_t ldo);
  // Same shape, out = Σ_t |q_i[t] − x_j[t]|.
  void (*l1_block)(const float* q, size_t nq, const float* x, size_t nx, size_t dim, float* out,
                   size_t ldo);
  // The most roundings on the path of any one term into a `dim`-long sum: the screening error
  // bound of brute force is built on it.
  size_t (*max_roundings)(size_t dim);
  // How brute force blocks its work for these kernels: Search calls of up to `query_batch`
  // queries, compared with blocks of training rows of about `block_bytes` and at most
  // `max_block_rows` rows (which bounds the query × row tile of distances).
  size_t query_batch;
  size_t block_bytes;
  size_t max_block_rows;
};

// Internals shared by the kernel sets: the roundings of a sum kept in 8 lanes and reduced in a
// fixed order (portable, AVX2).
size_t LaneSumRoundings(size_t dim);
// Their blocking: 64 queries against rows that fill about 128 KiB of L2 cache.
inline constexpr size_t kLaneQueryBatch = 64;
inline constexpr size_t kLaneBlockBytes = 128 << 10;
inline constexpr size_t kLaneMaxBlockRows = size_t{1} << 20;

// Exact l2 (or l1) rank distances in double from q to rows[0, count) in groups of 8, each lane
// summing over t = 0, 1, ... as RankDistance does; returns how many it did (a multiple of 8).
// REQUIRES: CpuHasAvx2Fma(); rows and q `stride` floats, stride a multiple of 8.
size_t RankDistancesAvx2(bool l1, const float* q, const float* const* rows, size_t count,
                         size_t stride, double* out);

const Kernels& PortableKernels();
// REQUIRES: CpuHasAvx2Fma().
const Kernels& Avx2Kernels();
bool CpuHasAvx2Fma();
// AVX2 when the CPU has it, else portable.
const Kernels& BestKernels();
// Dot products by OpenBLAS cblas_sgemm (queries × rows blocks); l1 as BestKernels(). sgemm runs
// on the calling thread only when OpenBLAS is set to one thread (see UseOneBlasThread).
const Kernels& BlasKernels();
// Sets OpenBLAS to one thread, process-wide: Parasol's own threads split the queries, each
// running sgemm on its own core (two levels of threads would oversubscribe the cores). Not to
// be called while another thread is inside OpenBLAS.
void UseOneBlasThread();

}  // namespace parasol::knn
