// Both kernel sets against double-precision sums, and the determinism contract (a pair's value
// does not depend on its position in the block).
#include "knn/kernels.h"

#include <cmath>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace parasol::knn {
namespace {

std::vector<const Kernels*> AllKernels() {
  std::vector<const Kernels*> kernels = {&PortableKernels()};
  if (CpuHasAvx2Fma()) kernels.push_back(&Avx2Kernels());
  return kernels;
}

TEST(KernelsTest, BestIsAvx2ExactlyWhenTheCpuHasIt) {
  EXPECT_STREQ(BestKernels().name, CpuHasAvx2Fma() ? "avx2" : "portable");
  EXPECT_STREQ(PortableKernels().name, "portable");
}

TEST(KernelsTest, BlocksMatchDoubleSumsForEveryShape) {
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-2, 2);
  for (const Kernels* kernels : AllKernels()) {
    for (size_t dim : {8u, 16u, 136u}) {
      for (size_t nq : {1u, 3u, 4u, 9u}) {
        for (size_t nx : {1u, 2u, 7u}) {
          std::vector<float> q(nq * dim), x(nx * dim);
          for (float& v : q) v = u(rng);
          for (float& v : x) v = u(rng);
          std::vector<float> dot(nq * nx), l1(nq * nx);
          kernels->dot_block(q.data(), nq, x.data(), nx, dim, dot.data(), nx);
          kernels->l1_block(q.data(), nq, x.data(), nx, dim, l1.data(), nx);
          for (size_t i = 0; i < nq; ++i) {
            for (size_t j = 0; j < nx; ++j) {
              double want_dot = 0, want_l1 = 0;
              for (size_t t = 0; t < dim; ++t) {
                want_dot += double{q[i * dim + t]} * x[j * dim + t];
                want_l1 += std::fabs(double{q[i * dim + t]} - x[j * dim + t]);
              }
              EXPECT_NEAR(dot[i * nx + j], want_dot, 1e-4 * dim) << kernels->name;
              EXPECT_NEAR(l1[i * nx + j], want_l1, 1e-4 * dim) << kernels->name;
            }
          }
        }
      }
    }
  }
}

TEST(KernelsTest, APairsValueDoesNotDependOnItsPlaceInTheBlock) {
  std::mt19937 rng(2);
  std::uniform_real_distribution<float> u(-1, 1);
  const size_t dim = 72;
  std::vector<float> q(5 * dim), x(3 * dim);
  for (float& v : q) v = u(rng);
  for (float& v : x) v = u(rng);
  // Rows 0..2 of x: 0 and 2 identical; query 4 (handled by the edge path) equals query 0.
  std::copy_n(x.begin(), dim, x.begin() + 2 * dim);
  std::copy_n(q.begin(), dim, q.begin() + 4 * dim);
  for (const Kernels* kernels : AllKernels()) {
    std::vector<float> dot(5 * 3), l1(5 * 3);
    kernels->dot_block(q.data(), 5, x.data(), 3, dim, dot.data(), 3);
    kernels->l1_block(q.data(), 5, x.data(), 3, dim, l1.data(), 3);
    for (size_t i = 0; i < 5; ++i) {
      EXPECT_EQ(dot[i * 3 + 0], dot[i * 3 + 2]) << kernels->name;
      EXPECT_EQ(l1[i * 3 + 0], l1[i * 3 + 2]) << kernels->name;
    }
    for (size_t j = 0; j < 3; ++j) {
      EXPECT_EQ(dot[j], dot[4 * 3 + j]) << kernels->name;
      EXPECT_EQ(l1[j], l1[4 * 3 + j]) << kernels->name;
    }
  }
}

}  // namespace
}  // namespace parasol::knn
