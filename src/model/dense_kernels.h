// Dense maths for the deep models' layers: row-major GEMM and the few element-wise passes around
// it. Built on Eigen (libeigen3-dev, header-only), compiled three times — AVX-512, AVX2+FMA and
// baseline x86-64 — and chosen once at start-up by what the CPU supports, so one binary runs
// everywhere and uses the widest vector units where they exist. Why Eigen rather than OpenBLAS:
// measured on this machine (2 threads, 512×624·624×400 and 512×400·400×400), Eigen's AVX-512
// kernels reached ~270 GFLOP/s against OpenBLAS 0.3.21's ~165 with the AVX2 (Haswell) kernels it
// selects on this CPU by itself (its AVX-512 kernels, ~270–330, need OPENBLAS_CORETYPE set before
// the library loads); and Eigen runs on the caller's thread, so our data-parallel learners do not
// fight a BLAS thread pool for the two cores. docs/deep-models.md has the measurement.
//
// All functions are single-threaded and re-entrant; matrices are row-major with explicit leading
// dimensions (the distance in floats between consecutive rows).
#pragma once

#include <cstdint>

namespace parasol::dense {

// C(m×n) = op(A) · op(B) (beta = 0) or C += op(A) · op(B) (beta = 1), where op(A) is m×k (A, or
// Aᵀ when trans_a) and op(B) is k×n (B, or Bᵀ when trans_b).
void Gemm(bool trans_a, bool trans_b, int m, int n, int k, const float* a, int lda, const float* b,
          int ldb, bool accumulate, float* c, int ldc);

// The instruction set the kernels run with: "avx512", "avx2" or "baseline".
const char* KernelIsa();

// For tests: run the kernels of one instruction set ("avx512", "avx2", "baseline"); false when
// the CPU lacks it. Not thread-safe with concurrent kernel calls.
bool UseKernelIsaForTesting(const char* isa);

namespace internal {
// One implementation per instruction set (dense_kernels_impl.inc).
struct Kernels {
  void (*gemm)(bool, bool, int, int, int, const float*, int, const float*, int, bool, float*, int);
};
}  // namespace internal

}  // namespace parasol::dense
