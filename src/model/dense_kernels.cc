#include "model/dense_kernels.h"

#include <cstring>

namespace parasol::dense {
namespace avx512 {
extern const internal::Kernels kKernels;
}
namespace avx2 {
extern const internal::Kernels kKernels;
}
namespace baseline {
extern const internal::Kernels kKernels;
}

namespace {

struct Choice {
  const internal::Kernels* kernels;
  const char* isa;
};

bool Supports(const char* isa) {
  __builtin_cpu_init();
  if (std::strcmp(isa, "avx512") == 0) {
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("fma");
  }
  if (std::strcmp(isa, "avx2") == 0) {
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }
  return std::strcmp(isa, "baseline") == 0;
}

Choice Pick(const char* isa) {
  if (std::strcmp(isa, "avx512") == 0) return {&avx512::kKernels, "avx512"};
  if (std::strcmp(isa, "avx2") == 0) return {&avx2::kKernels, "avx2"};
  return {&baseline::kKernels, "baseline"};
}

Choice& Current() {
  static Choice choice = Supports("avx512") ? Pick("avx512")
                         : Supports("avx2") ? Pick("avx2")
                                            : Pick("baseline");
  return choice;
}

}  // namespace

void Gemm(bool trans_a, bool trans_b, int m, int n, int k, const float* a, int lda, const float* b,
          int ldb, bool accumulate, float* c, int ldc) {
  Current().kernels->gemm(trans_a, trans_b, m, n, k, a, lda, b, ldb, accumulate, c, ldc);
}

void Linear(int m, int n, int k, const float* a, int lda, const float* w, int ldw,
            const float* bias, bool relu, float* c, int ldc) {
  Current().kernels->linear(m, n, k, a, lda, w, ldw, bias, relu, c, ldc);
}

void BiasRelu(int n, int w, const float* bias, float* a) {
  Current().kernels->bias_relu(n, w, bias, a);
}

void ReluBackward(int64_t count, const float* a, const float* mask, float* g) {
  Current().kernels->relu_backward(count, a, mask, g);
}

void AddColumnSums(int n, int w, const float* g, float* sums) {
  Current().kernels->add_column_sums(n, w, g, sums);
}

void OutputLayerBackward(int n, int w, const float* s, const float* h, const float* v, float* out,
                         float* g) {
  Current().kernels->output_layer_backward(n, w, s, h, v, out, g);
}

const char* KernelIsa() { return Current().isa; }

bool UseKernelIsaForTesting(const char* isa) {
  if (!Supports(isa)) return false;
  Current() = Pick(isa);
  return true;
}

}  // namespace parasol::dense
