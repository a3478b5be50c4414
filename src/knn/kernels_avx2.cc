// AVX2+FMA kernels, compiled for that target function by function so the rest of the binary
// runs on any x86-64; called only after CpuHasAvx2Fma(). Register blocking: 4 queries × 2 rows
// keep 8 accumulators live, 6 loads per 8 FMAs. Each pair accumulates in one vector over the
// whole row and is reduced by Hsum, whichever tile computed it (the determinism contract).
#include "knn/kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define PARASOL_AVX2 __attribute__((target("avx2,fma")))

namespace parasol::knn {
namespace {

PARASOL_AVX2 inline float Hsum(__m256 v) {
  const __m128 lo = _mm256_castps256_ps128(v);
  const __m128 hi = _mm256_extractf128_ps(v, 1);
  __m128 s = _mm_add_ps(lo, hi);           // lanes l + l+4
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));  // (0+4)+(2+6), (1+5)+(3+7)
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}

struct DotOp {
  PARASOL_AVX2 static __m256 Step(__m256 acc, __m256 q, __m256 x) {
    return _mm256_fmadd_ps(q, x, acc);
  }
};

struct L1Op {
  PARASOL_AVX2 static __m256 Step(__m256 acc, __m256 q, __m256 x) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    return _mm256_add_ps(acc, _mm256_andnot_ps(sign, _mm256_sub_ps(q, x)));
  }
};

template <typename Op>
PARASOL_AVX2 void Block(const float* q, size_t nq, const float* x, size_t nx, size_t dim,
                        float* out, size_t ldo) {
  size_t i = 0;
  for (; i + 4 <= nq; i += 4) {
    const float* q0 = q + i * dim;
    const float* q1 = q0 + dim;
    const float* q2 = q1 + dim;
    const float* q3 = q2 + dim;
    size_t j = 0;
    for (; j + 2 <= nx; j += 2) {
      const float* x0 = x + j * dim;
      const float* x1 = x0 + dim;
      __m256 a00 = _mm256_setzero_ps(), a01 = _mm256_setzero_ps();
      __m256 a10 = _mm256_setzero_ps(), a11 = _mm256_setzero_ps();
      __m256 a20 = _mm256_setzero_ps(), a21 = _mm256_setzero_ps();
      __m256 a30 = _mm256_setzero_ps(), a31 = _mm256_setzero_ps();
      for (size_t t = 0; t < dim; t += 8) {
        const __m256 v0 = _mm256_loadu_ps(x0 + t);
        const __m256 v1 = _mm256_loadu_ps(x1 + t);
        __m256 u = _mm256_loadu_ps(q0 + t);
        a00 = Op::Step(a00, u, v0);
        a01 = Op::Step(a01, u, v1);
        u = _mm256_loadu_ps(q1 + t);
        a10 = Op::Step(a10, u, v0);
        a11 = Op::Step(a11, u, v1);
        u = _mm256_loadu_ps(q2 + t);
        a20 = Op::Step(a20, u, v0);
        a21 = Op::Step(a21, u, v1);
        u = _mm256_loadu_ps(q3 + t);
        a30 = Op::Step(a30, u, v0);
        a31 = Op::Step(a31, u, v1);
      }
      float* o = out + i * ldo + j;
      o[0] = Hsum(a00);
      o[1] = Hsum(a01);
      o[ldo] = Hsum(a10);
      o[ldo + 1] = Hsum(a11);
      o[2 * ldo] = Hsum(a20);
      o[2 * ldo + 1] = Hsum(a21);
      o[3 * ldo] = Hsum(a30);
      o[3 * ldo + 1] = Hsum(a31);
    }
    for (; j < nx; ++j) {
      const float* x0 = x + j * dim;
      __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
      __m256 a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
      for (size_t t = 0; t < dim; t += 8) {
        const __m256 v0 = _mm256_loadu_ps(x0 + t);
        a0 = Op::Step(a0, _mm256_loadu_ps(q0 + t), v0);
        a1 = Op::Step(a1, _mm256_loadu_ps(q1 + t), v0);
        a2 = Op::Step(a2, _mm256_loadu_ps(q2 + t), v0);
        a3 = Op::Step(a3, _mm256_loadu_ps(q3 + t), v0);
      }
      out[i * ldo + j] = Hsum(a0);
      out[(i + 1) * ldo + j] = Hsum(a1);
      out[(i + 2) * ldo + j] = Hsum(a2);
      out[(i + 3) * ldo + j] = Hsum(a3);
    }
  }
  for (; i < nq; ++i) {
    const float* q0 = q + i * dim;
    for (size_t j = 0; j < nx; ++j) {
      const float* x0 = x + j * dim;
      __m256 a = _mm256_setzero_ps();
      for (size_t t = 0; t < dim; t += 8) {
        a = Op::Step(a, _mm256_loadu_ps(q0 + t), _mm256_loadu_ps(x0 + t));
      }
      out[i * ldo + j] = Hsum(a);
    }
  }
}

void DotBlockAvx2(const float* q, size_t nq, const float* x, size_t nx, size_t dim, float* out,
                  size_t ldo) {
  Block<DotOp>(q, nq, x, nx, dim, out, ldo);
}

void L1BlockAvx2(const float* q, size_t nq, const float* x, size_t nx, size_t dim, float* out,
                 size_t ldo) {
  Block<L1Op>(q, nq, x, nx, dim, out, ldo);
}

// Four rows' floats t..t+3 as four vectors of doubles, one per dimension, lanes = rows.
PARASOL_AVX2 inline void Transpose4(const float* const* r, size_t t, __m256d* d) {
  __m128 a = _mm_loadu_ps(r[0] + t), b = _mm_loadu_ps(r[1] + t);
  __m128 c = _mm_loadu_ps(r[2] + t), e = _mm_loadu_ps(r[3] + t);
  _MM_TRANSPOSE4_PS(a, b, c, e);
  d[0] = _mm256_cvtps_pd(a);
  d[1] = _mm256_cvtps_pd(b);
  d[2] = _mm256_cvtps_pd(c);
  d[3] = _mm256_cvtps_pd(e);
}

template <bool kL1>
PARASOL_AVX2 inline __m256d Add(__m256d s, __m256d q, __m256d x) {
  const __m256d d = _mm256_sub_pd(q, x);
  // Separate multiply and add (no FMA; this file is built with -ffp-contract=off): the same
  // roundings as RankDistance.
  return _mm256_add_pd(s, kL1 ? _mm256_andnot_pd(_mm256_set1_pd(-0.0), d) : _mm256_mul_pd(d, d));
}

template <bool kL1>
PARASOL_AVX2 size_t RankDistancesImpl(const float* q, const float* const* rows, size_t count,
                                      size_t stride, double* out) {
  size_t j = 0;
  for (; j + 8 <= count; j += 8) {
    __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
    for (size_t t = 0; t < stride; t += 4) {
      __m256d x0[4], x1[4];
      Transpose4(rows + j, t, x0);
      Transpose4(rows + j + 4, t, x1);
      for (int u = 0; u < 4; ++u) {
        const __m256d qt = _mm256_set1_pd(static_cast<double>(q[t + static_cast<size_t>(u)]));
        s0 = Add<kL1>(s0, qt, x0[u]);
        s1 = Add<kL1>(s1, qt, x1[u]);
      }
    }
    _mm256_storeu_pd(out + j, s0);
    _mm256_storeu_pd(out + j + 4, s1);
  }
  return j;
}

}  // namespace

size_t RankDistancesAvx2(bool l1, const float* q, const float* const* rows, size_t count,
                         size_t stride, double* out) {
  return l1 ? RankDistancesImpl<true>(q, rows, count, stride, out)
            : RankDistancesImpl<false>(q, rows, count, stride, out);
}

const Kernels& Avx2KernelsImpl() {
  static const Kernels kernels = {"avx2",           DotBlockAvx2,    L1BlockAvx2,
                                  LaneSumRoundings, kLaneQueryBatch, kLaneBlockBytes,
                                  kLaneMaxBlockRows};
  return kernels;
}

}  // namespace parasol::knn

#else  // not x86-64: no AVX2; CpuHasAvx2Fma() is false, so this is never called.

namespace parasol::knn {
const Kernels& PortableKernels();
const Kernels& Avx2KernelsImpl() { return PortableKernels(); }
size_t RankDistancesAvx2(bool, const float*, const float* const*, size_t, size_t, double*) {
  return 0;
}
}  // namespace parasol::knn

#endif
