// Blocked distance kernels over padded dense rows (see DenseMatrix): a portable version and an
// AVX2+FMA version chosen at run time. Stateless and thread-safe.
//
// Determinism contract: within one kernel set, the value for a pair (query, row) depends only
// on the two vectors, not on where the pair falls in a block, so identical training rows get
// bit-identical values and ties stay ties.
#pragma once

#include <cstddef>

namespace parasol::knn {

struct Kernels {
  const char* name;  // "avx2" or "portable"
  // out[i * ldo + j] = Σ_t q_i[t] · x_j[t] for i < nq, j < nx. Rows are `dim` floats apart and
  // `dim` floats long; dim is a multiple of 8.
  void (*dot_block)(const float* q, size_t nq, const float* x, size_t nx, size_t dim, float* out,
                    size_t ldo);
  // Same shape, out = Σ_t |q_i[t] − x_j[t]|.
  void (*l1_block)(const float* q, size_t nq, const float* x, size_t nx, size_t dim, float* out,
                   size_t ldo);
};

const Kernels& PortableKernels();
// REQUIRES: CpuHasAvx2Fma().
const Kernels& Avx2Kernels();
bool CpuHasAvx2Fma();
// AVX2 when the CPU has it, else portable.
const Kernels& BestKernels();

}  // namespace parasol::knn
