#include "optim/optimizer.h"

#include <cmath>
#include <vector>

#include "gtest/gtest.h"

namespace parasol {
namespace {

std::unique_ptr<Optimizer> Make(const std::string& name, float lr, float l1 = 0, float l2 = 0) {
  OptimizerConfig config;
  config.name = name;
  config.lr = lr;
  config.l1 = l1;
  config.l2 = l2;
  auto opt = CreateOptimizer(config);
  EXPECT_TRUE(opt.ok()) << opt.status();
  return *std::move(opt);
}

// Minimises f(w) = 0.5 * (w - target)^2 from w = 0 and returns the final weight.
float Minimise(const Optimizer& opt, float target, int steps) {
  float w = 0;
  std::vector<float> state(opt.state_per_weight());
  opt.InitState(&w, state.data(), 1);
  for (int t = 1; t <= steps; ++t) {
    const float g = w - target;
    opt.Update(&w, state.data(), &g, 1, t);
  }
  return w;
}

TEST(OptimizerTest, SgdStepIsLearningRateTimesGradient) {
  auto opt = Make("sgd", 0.1f);
  float w[2] = {1.0f, -2.0f};
  const float g[2] = {0.5f, -1.0f};
  opt->Update(w, nullptr, g, 2, 1);
  EXPECT_FLOAT_EQ(w[0], 0.95f);
  EXPECT_FLOAT_EQ(w[1], -1.9f);
}

TEST(OptimizerTest, SgdL2AddsWeightDecay) {
  auto opt = Make("sgd", 0.1f, 0, 0.5f);
  float w = 2.0f;
  const float g = 0;
  opt->Update(&w, nullptr, &g, 1, 1);
  EXPECT_FLOAT_EQ(w, 2.0f - 0.1f * 0.5f * 2.0f);
}

TEST(OptimizerTest, L1ProximalStepZeroesSmallWeights) {
  auto opt = Make("sgd", 0.1f, /*l1=*/1.0f);
  float w[2] = {0.05f, 0.5f};
  const float g[2] = {0, 0};
  opt->Update(w, nullptr, g, 2, 1);
  EXPECT_EQ(w[0], 0.0f);        // |0.05| < lr * l1 = 0.1
  EXPECT_FLOAT_EQ(w[1], 0.4f);  // shrunk by 0.1
}

TEST(OptimizerTest, AdaGradFirstStepHasLearningRateMagnitude) {
  auto opt = Make("adagrad", 0.05f);
  float w = 0, acc = 0;
  const float g = 4.0f;
  opt->Update(&w, &acc, &g, 1, 1);
  EXPECT_FLOAT_EQ(acc, 16.0f);
  EXPECT_NEAR(w, -0.05f, 1e-6);
  // Second equal gradient: step lr * 4 / sqrt(32).
  opt->Update(&w, &acc, &g, 1, 2);
  EXPECT_NEAR(w, -0.05f - 0.05f * 4.0f / std::sqrt(32.0f), 1e-6);
}

TEST(OptimizerTest, FtrlMatchesHandComputedSteps) {
  // alpha = 0.1, beta = 1, l1 = 0.01, l2 = 0.1; w0 = 0, z0 = 0, n0 = 0.
  auto opt = Make("ftrl", 0.1f, 0.01f, 0.1f);
  float w = 0;
  float state[2];
  opt->InitState(&w, state, 1);
  const float g1 = 0.5f;
  opt->Update(&w, state, &g1, 1, 1);
  // n = 0.25, sigma = (0.5 - 0) / 0.1 = 5, z = 0.5 - 5 * 0 = 0.5
  // w = -(0.5 - 0.01) / ((1 + 0.5) / 0.1 + 0.1) = -0.49 / 15.1
  EXPECT_NEAR(state[0], 0.5f, 1e-6);
  EXPECT_NEAR(state[1], 0.5f, 1e-6);  // √n
  EXPECT_NEAR(w, -0.49f / 15.1f, 1e-6);
  const float g2 = -0.2f;
  const float w1 = w;
  opt->Update(&w, state, &g2, 1, 2);
  const float n2 = 0.25f + 0.04f;
  const float sigma = (std::sqrt(n2) - 0.5f) / 0.1f;
  const float z2 = 0.5f - 0.2f - sigma * w1;
  EXPECT_NEAR(state[0], z2, 1e-6);
  EXPECT_NEAR(state[1], std::sqrt(n2), 1e-6);
  EXPECT_NEAR(w, -(z2 - 0.01f) / ((1 + std::sqrt(n2)) / 0.1f + 0.1f), 1e-6);
}

TEST(OptimizerTest, FtrlInitStateReproducesInitialWeights) {
  auto opt = Make("ftrl", 0.05f, 0, 0.01f);
  float w[3] = {0.3f, -0.02f, 0};
  const float original[3] = {0.3f, -0.02f, 0};
  float state[6];
  opt->InitState(w, state, 3);
  const float g[3] = {0, 0, 0};
  opt->Update(w, state, g, 3, 1);
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(w[i], original[i], 1e-6);
}

TEST(OptimizerTest, FtrlL1ActsOnTheCumulativeGradient) {
  // FTRL compares |z| (the sum of gradients) with l1: while 3 * t <= l1 the weight stays exactly
  // zero, afterwards it moves.
  auto opt = Make("ftrl", 0.1f, /*l1=*/30.0f);
  EXPECT_EQ(Minimise(*opt, 3.0f, 10), 0.0f);
  EXPECT_GT(Minimise(*opt, 3.0f, 20), 0.0f);
}

TEST(OptimizerTest, AdamFirstStepHasLearningRateMagnitude) {
  auto opt = Make("adam", 0.01f);
  float w = 1.0f;
  float state[4];
  opt->InitState(&w, state, 1);
  const float g = -123.0f;
  opt->Update(&w, state, &g, 1, 1);
  EXPECT_NEAR(w, 1.01f, 1e-5);
}

TEST(OptimizerTest, AdamOnALongRunEqualsItWeightByWeight) {
  // A long run (a deep model's dense layers) takes the vectorized copy, one weight at a time the
  // inline loop: the same floats, bit for bit, whatever the CPU's vector width. Also with L2 and
  // with L1 (which keeps the scalar loop).
  for (const float l1 : {0.0f, 1e-3f}) {
    auto opt = Make("adam", 0.01f, l1, 1e-4f);
    constexpr int n = 1000;
    std::vector<float> w(n), state(4 * n), grads(n);
    for (int i = 0; i < n; ++i) w[i] = std::sin(i * 0.37f);
    opt->InitState(w.data(), state.data(), n);
    std::vector<float> w1 = w, state1 = state;
    for (int step = 1; step <= 5; ++step) {
      for (int i = 0; i < n; ++i) grads[i] = std::cos(i * 1.3f + step) * (1 + i % 7);
      opt->Update(w.data(), state.data(), grads.data(), n, step);
      for (int i = 0; i < n; ++i) opt->Update(&w1[i], &state1[4 * i], &grads[i], 1, step);
    }
    for (int i = 0; i < n; ++i) {
      ASSERT_EQ(w[i], w1[i]) << "weight " << i << " l1 " << l1;
      ASSERT_EQ(state[4 * i + 1], state1[4 * i + 1]) << "weight " << i;
    }
    EXPECT_NE(w[3], std::sin(3 * 0.37f));  // the weights moved
  }
}

TEST(OptimizerTest, EveryOptimizerConvergesOnAQuadratic) {
  EXPECT_NEAR(Minimise(*Make("sgd", 0.1f), 3.0f, 500), 3.0f, 1e-3);
  EXPECT_NEAR(Minimise(*Make("adagrad", 1.0f), 3.0f, 2000), 3.0f, 1e-2);
  EXPECT_NEAR(Minimise(*Make("ftrl", 1.0f), 3.0f, 2000), 3.0f, 1e-2);
  EXPECT_NEAR(Minimise(*Make("adam", 0.05f), 3.0f, 3000), 3.0f, 1e-2);
}

TEST(OptimizerTest, L2ShiftsTheOptimumByKnownFactor) {
  // argmin 0.5 (w - 3)^2 + 0.5 * l2 * w^2 = 3 / (1 + l2).
  EXPECT_NEAR(Minimise(*Make("sgd", 0.1f, 0, 0.5f), 3.0f, 1000), 2.0f, 1e-3);
}

TEST(OptimizerTest, AveragedSgdExportsTheRunningAverage) {
  auto opt = Make("averaged", 1.0f);
  float w = 0, u = 0;
  const float grads[3] = {-1.0f, -2.0f, 0.0f};  // w after each step: 1, 3, 3
  for (int t = 1; t <= 3; ++t) opt->Update(&w, &u, &grads[t - 1], 1, t);
  EXPECT_FLOAT_EQ(w, 3.0f);
  float avg = 0;
  opt->Finalize(&w, &u, 1, 3, &avg);
  EXPECT_FLOAT_EQ(avg, (1.0f + 3.0f + 3.0f) / 3.0f);
}

TEST(OptimizerTest, UpdateRowsEqualsUpdatePerRow) {
  for (const char* name : {"sgd", "adagrad", "ftrl", "adam", "averaged"}) {
    auto opt = Make(name, 0.1f, 0.01f, 0.01f);
    const int dim = 3, s = opt->state_per_weight();
    std::vector<float> a(2 * dim * (1 + s)), b;
    for (size_t i = 0; i < a.size(); ++i) a[i] = 0.1f * static_cast<float>(i % 5);
    for (int r = 0; r < 2; ++r)
      opt->InitState(&a[r * dim * (1 + s)], &a[r * dim * (1 + s) + dim], dim);
    b = a;
    const float grads[6] = {0.5f, -0.2f, 0.1f, 1.0f, 0.0f, -0.7f};
    float* rows[2] = {&a[0], &a[dim * (1 + s)]};
    opt->UpdateRows(rows, dim, grads, 2, 7);
    for (int r = 0; r < 2; ++r) {
      float* row = &b[r * dim * (1 + s)];
      opt->Update(row, row + dim, grads + r * dim, dim, 7);
    }
    EXPECT_EQ(a, b) << name;
  }
}

TEST(OptimizerTest, RejectsBadConfigNamingTheField) {
  OptimizerConfig config;
  config.name = "rmsprop";
  auto bad_name = CreateOptimizer(config);
  ASSERT_FALSE(bad_name.ok());
  EXPECT_NE(bad_name.status().message().find("rmsprop"), std::string::npos);
  config.name = "sgd";
  config.l2 = -1;
  auto bad_l2 = CreateOptimizer(config);
  ASSERT_FALSE(bad_l2.ok());
  EXPECT_NE(bad_l2.status().message().find("l2"), std::string::npos);
}

TEST(OptimizerTest, ZeroLearningRateMeansDefault) {
  OptimizerConfig config;
  config.name = "ftrl";
  auto opt = CreateOptimizer(config);
  ASSERT_TRUE(opt.ok());
  EXPECT_FLOAT_EQ((*opt)->config().lr, DefaultLearningRate("ftrl"));
}

}  // namespace
}  // namespace parasol
