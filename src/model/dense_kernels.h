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

// A linear layer for scoring: c[e·ldc + j] = act(Σ_t a[e·lda + t] · w[j·ldw + t] + bias[j]) for
// e < m, j < n, t < k, with act = ReLU when `relu` (identity otherwise) and bias optional (null).
// Each output is summed by the same fixed sequence whatever m is and whichever rows come with
// it, so a row scores bit for bit the same alone as in any batch — which a GEMM's blocking does
// not promise. It reads w in place (no packing per call), which is what one-row requests need.
void Linear(int m, int n, int k, const float* a, int lda, const float* w, int ldw,
            const float* bias, bool relu, float* c, int ldc);

// The element-wise passes around the GEMMs, vectorized per instruction set. Each gives exactly
// the result of the plain scalar loop its comment writes (same operations in the same order per
// element, no fused multiply-add), so the choice of instruction set changes speed, not results.
//
// a[e·w + j] = max(a[e·w + j] + bias[j], 0) for e < n, j < w: a layer's bias and ReLU.
void BiasRelu(int n, int w, const float* bias, float* a);
// g[i] = a[i] > 0 ? g[i] · mask[i] : 0 (mask null: g[i]) for i < count: back through ReLU and
// dropout, where `a` is the layer's output after both.
void ReluBackward(int64_t count, const float* a, const float* mask, float* g);
// sums[j] += g[0·w + j] + g[1·w + j] + ... + g[(n−1)·w + j], summed in that order: a bias's
// gradient.
void AddColumnSums(int n, int w, const float* g, float* sums);
// out[j] += s[0]·h[0·w + j] + ... + s[n−1]·h[(n−1)·w + j] (in that order) and, when g is not
// null, g[e·w + j] = s[e]·v[j]: a one-output layer's weight gradient and its input gradient.
void OutputLayerBackward(int n, int w, const float* s, const float* h, const float* v, float* out,
                         float* g);

// The instruction set the kernels run with: "avx512", "avx2" or "baseline".
const char* KernelIsa();

// For tests: run the kernels of one instruction set ("avx512", "avx2", "baseline"); false when
// the CPU lacks it. Not thread-safe with concurrent kernel calls.
bool UseKernelIsaForTesting(const char* isa);

namespace internal {
// One implementation per instruction set (dense_kernels_impl.inc).
struct Kernels {
  void (*gemm)(bool, bool, int, int, int, const float*, int, const float*, int, bool, float*, int);
  void (*linear)(int, int, int, const float*, int, const float*, int, const float*, bool, float*,
                 int);
  void (*bias_relu)(int, int, const float*, float*);
  void (*relu_backward)(int64_t, const float*, const float*, float*);
  void (*add_column_sums)(int, int, const float*, float*);
  void (*output_layer_backward)(int, int, const float*, const float*, const float*, float*, float*);
};
}  // namespace internal

}  // namespace parasol::dense
