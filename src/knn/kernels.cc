// Portable kernels (8 lane accumulators per pair, which compilers vectorise with SSE) and the
// run-time choice between them and the AVX2 ones in kernels_avx2.cc.
#include "knn/kernels.h"

#include <cmath>

namespace parasol::knn {

const Kernels& Avx2KernelsImpl();  // kernels_avx2.cc
const Kernels& BlasKernelsImpl();  // kernels_blas.cc

namespace {

// The fixed reduction order shared by every pair.
inline float SumLanes(const float* a) {
  return ((a[0] + a[4]) + (a[2] + a[6])) + ((a[1] + a[5]) + (a[3] + a[7]));
}

void DotBlockPortable(const float* q, size_t nq, const float* x, size_t nx, size_t dim, float* out,
                      size_t ldo) {
  for (size_t i = 0; i < nq; ++i) {
    const float* qi = q + i * dim;
    for (size_t j = 0; j < nx; ++j) {
      const float* xj = x + j * dim;
      float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      for (size_t t = 0; t < dim; t += 8) {
        for (int l = 0; l < 8; ++l) acc[l] += qi[t + l] * xj[t + l];
      }
      out[i * ldo + j] = SumLanes(acc);
    }
  }
}

void L1BlockPortable(const float* q, size_t nq, const float* x, size_t nx, size_t dim, float* out,
                     size_t ldo) {
  for (size_t i = 0; i < nq; ++i) {
    const float* qi = q + i * dim;
    for (size_t j = 0; j < nx; ++j) {
      const float* xj = x + j * dim;
      float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      for (size_t t = 0; t < dim; t += 8) {
        for (int l = 0; l < 8; ++l) acc[l] += std::fabs(qi[t + l] - xj[t + l]);
      }
      out[i * ldo + j] = SumLanes(acc);
    }
  }
}

}  // namespace

// Per pair: dim/8 additions into one lane, then 3 in the fixed reduction (portable and AVX2).
size_t LaneSumRoundings(size_t dim) { return dim / 8 + 3; }

const Kernels& PortableKernels() {
  static const Kernels kernels = {"portable",       DotBlockPortable, L1BlockPortable,
                                  LaneSumRoundings, kLaneQueryBatch,  kLaneBlockBytes,
                                  kLaneMaxBlockRows};
  return kernels;
}

bool CpuHasAvx2Fma() {
#if defined(__x86_64__) || defined(__i386__)
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return false;
#endif
}

const Kernels& Avx2Kernels() { return Avx2KernelsImpl(); }

const Kernels& BestKernels() { return CpuHasAvx2Fma() ? Avx2Kernels() : PortableKernels(); }

const Kernels& BlasKernels() { return BlasKernelsImpl(); }

}  // namespace parasol::knn
