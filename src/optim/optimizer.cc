#include "optim/optimizer.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace parasol {
namespace {

// Proximal step for L1: shrinks w towards 0 by `threshold`, clamping at 0.
inline float ShrinkL1(float w, float threshold) {
  if (w > threshold) return w - threshold;
  if (w < -threshold) return w + threshold;
  return 0.0f;
}

class OptimizerBase : public Optimizer {
 public:
  explicit OptimizerBase(const OptimizerConfig& config) : config_(config) {}
  const OptimizerConfig& config() const override { return config_; }

 protected:
  OptimizerConfig config_;
};

// Implements UpdateRows by calling the final class's Update directly, so the per-row call is
// inlined rather than virtual.
template <typename Derived>
class RowsUpdater : public OptimizerBase {
 public:
  using OptimizerBase::OptimizerBase;
  void UpdateRows(float* const* rows, int dim, const float* grads, int count,
                  uint64_t step) const override {
    const Derived& self = static_cast<const Derived&>(*this);
    for (int r = 0; r < count; ++r) {
      self.Derived::Update(rows[r], rows[r] + dim, grads + static_cast<size_t>(r) * dim, dim, step);
    }
  }
};

class Sgd final : public RowsUpdater<Sgd> {
 public:
  using RowsUpdater::RowsUpdater;
  int state_per_weight() const override { return 0; }
  void Update(float* w, float*, const float* grad, int n, uint64_t) const override {
    const float lr = config_.lr, l2 = config_.l2, l1_step = config_.lr * config_.l1;
    for (int i = 0; i < n; ++i) {
      float v = w[i] - lr * (grad[i] + l2 * w[i]);
      w[i] = l1_step > 0 ? ShrinkL1(v, l1_step) : v;
    }
  }
};

class AdaGrad final : public RowsUpdater<AdaGrad> {
 public:
  using RowsUpdater::RowsUpdater;
  int state_per_weight() const override { return 1; }
  void Update(float* w, float* acc, const float* grad, int n, uint64_t) const override {
    const float lr = config_.lr, l1 = config_.l1, l2 = config_.l2, eps = config_.epsilon;
    for (int i = 0; i < n; ++i) {
      const float g = grad[i] + l2 * w[i];
      acc[i] += g * g;
      const float step = lr / (std::sqrt(acc[i]) + eps);
      const float v = w[i] - step * g;
      w[i] = l1 > 0 ? ShrinkL1(v, step * l1) : v;
    }
  }
};

// FTRL-Proximal (McMahan et al., 2013), per coordinate; state (z, √n) where n is the sum of
// squared gradients (keeping the root saves one square root per update).
class Ftrl final : public RowsUpdater<Ftrl> {
 public:
  using RowsUpdater::RowsUpdater;
  int state_per_weight() const override { return 2; }
  void InitState(const float* w, float* state, int n) const override {
    // Choose z so that the closed form below reproduces w while n = 0 (exact when l1 = 0).
    const float denom = config_.ftrl_beta / config_.lr + config_.l2;
    for (int i = 0; i < n; ++i) {
      const float sign = w[i] > 0 ? 1.0f : (w[i] < 0 ? -1.0f : 0.0f);
      state[2 * i] = -w[i] * denom - sign * config_.l1;
      state[2 * i + 1] = 0;
    }
  }
  void Update(float* w, float* state, const float* grad, int n, uint64_t) const override {
    const float inv_alpha = 1.0f / config_.lr, beta = config_.ftrl_beta, l1 = config_.l1,
                l2 = config_.l2;
    for (int i = 0; i < n; ++i) {
      float& z = state[2 * i];
      float& root_n = state[2 * i + 1];
      const float g = grad[i];
      const float root_new = std::sqrt(root_n * root_n + g * g);
      z += g - (root_new - root_n) * inv_alpha * w[i];
      root_n = root_new;
      // w = -(z - sign(z) l1) / ((β + √n) / α + l2) when |z| > l1, else 0.
      const float shrunk = std::copysign(std::max(std::fabs(z) - l1, 0.0f), z);
      w[i] = -shrunk / ((beta + root_new) * inv_alpha + l2);
    }
  }
};

// Adam's step on n weights, state interleaved (m, v, beta1^t, beta2^t) per weight. Inline for
// short rows; AdamVectorized is the same loop compiled for AVX-512, AVX2 and baseline x86-64
// (GCC function multi-versioning, chosen at load time). The file is compiled without fused
// multiply-add and without errno from sqrt (CMakeLists.txt), so every copy computes the same
// floats: the vector width changes speed, never a model.
__attribute__((always_inline)) inline void AdamLoop(float* __restrict w, float* __restrict state,
                                                    const float* __restrict grad, int n,
                                                    const OptimizerConfig& config) {
  const float lr = config.lr, b1 = config.adam_beta1, b2 = config.adam_beta2;
  const float eps = config.epsilon, l1 = config.l1, l2 = config.l2;
  auto step = [&](int i) {
    float* s = state + 4 * i;
    const float g = grad[i] + l2 * w[i];
    s[0] = b1 * s[0] + (1 - b1) * g;
    s[1] = b2 * s[1] + (1 - b2) * g * g;
    s[2] *= b1;
    s[3] *= b2;
    const float m_hat = s[0] / (1 - s[2]);
    const float v_hat = s[1] / (1 - s[3]);
    return w[i] - lr * m_hat / (std::sqrt(v_hat) + eps);
  };
  if (l1 > 0) {
    for (int i = 0; i < n; ++i) w[i] = ShrinkL1(step(i), lr * l1);
  } else {  // no branch in the loop: the vectorizer takes it
    for (int i = 0; i < n; ++i) w[i] = step(i);
  }
}

constexpr int kVectorizedFrom = 64;

__attribute__((target_clones("avx512f", "avx2", "default"), noinline)) void AdamVectorized(
    float* w, float* state, const float* grad, int n, const OptimizerConfig& config) {
  AdamLoop(w, state, grad, n, config);
}

// Adam with per-weight bias correction; state (m, v, beta1^t, beta2^t), so a sparse row that is
// updated rarely is corrected by its own step count, not the global one.
class Adam final : public RowsUpdater<Adam> {
 public:
  using RowsUpdater::RowsUpdater;
  int state_per_weight() const override { return 4; }
  void InitState(const float*, float* state, int n) const override {
    for (int i = 0; i < n; ++i) {
      state[4 * i] = 0;
      state[4 * i + 1] = 0;
      state[4 * i + 2] = 1;
      state[4 * i + 3] = 1;
    }
  }
  void Update(float* w, float* state, const float* grad, int n, uint64_t) const override {
    // Long runs (a deep model's dense layers) take the vectorized copy; a sparse row stays inline.
    if (n >= kVectorizedFrom) {
      AdamVectorized(w, state, grad, n, config_);
    } else {
      AdamLoop(w, state, grad, n, config_);
    }
  }
};

// SGD whose exported weights are the average of the weights after each of the T steps (Daumé's
// trick): with u += (t − 1)·Δ at step t, that average is w − u / T. State (u).
class AveragedSgd final : public RowsUpdater<AveragedSgd> {
 public:
  using RowsUpdater::RowsUpdater;
  int state_per_weight() const override { return 1; }
  void Update(float* w, float* u, const float* grad, int n, uint64_t step) const override {
    const float lr = config_.lr, l2 = config_.l2;
    const float t = static_cast<float>(step == 0 ? 0 : step - 1);
    for (int i = 0; i < n; ++i) {
      const float delta = -lr * (grad[i] + l2 * w[i]);
      w[i] += delta;
      u[i] += t * delta;
    }
  }
  void Finalize(const float* w, const float* u, int n, uint64_t step, float* out) const override {
    const float t = static_cast<float>(std::max<uint64_t>(step, 1));
    for (int i = 0; i < n; ++i) out[i] = w[i] - u[i] / t;
  }
};

}  // namespace

float DefaultLearningRate(const std::string& name) {
  if (name == "sgd") return 0.01f;
  if (name == "adam") return 0.001f;
  if (name == "averaged") return 1.0f;
  return 0.05f;  // adagrad, ftrl
}

void Optimizer::InitState(const float*, float* state, int n) const {
  std::fill(state, state + static_cast<size_t>(n) * state_per_weight(), 0.0f);
}

void Optimizer::Finalize(const float* w, const float*, int n, uint64_t, float* out) const {
  std::memcpy(out, w, sizeof(float) * n);
}

absl::StatusOr<std::unique_ptr<Optimizer>> CreateOptimizer(const OptimizerConfig& in) {
  OptimizerConfig config = in;
  if (config.lr == 0) config.lr = DefaultLearningRate(config.name);
  const struct {
    const char* name;
    float value;
  } checks[] = {{"lr", config.lr},
                {"l1", config.l1},
                {"l2", config.l2},
                {"ftrl_beta", config.ftrl_beta},
                {"adam_beta1", config.adam_beta1},
                {"adam_beta2", config.adam_beta2},
                {"epsilon", config.epsilon}};
  for (const auto& c : checks) {
    if (!(c.value >= 0) || std::isinf(c.value)) {
      return absl::InvalidArgumentError(
          absl::StrCat("optimizer ", c.name, " must be a finite number >= 0, got ", c.value));
    }
  }
  if (config.lr <= 0) return absl::InvalidArgumentError("optimizer lr must be > 0");
  if (config.adam_beta1 >= 1 || config.adam_beta2 >= 1) {
    return absl::InvalidArgumentError("optimizer adam_beta1 and adam_beta2 must be < 1");
  }
  if (config.name == "sgd") return std::make_unique<Sgd>(config);
  if (config.name == "adagrad") return std::make_unique<AdaGrad>(config);
  if (config.name == "ftrl") return std::make_unique<Ftrl>(config);
  if (config.name == "adam") return std::make_unique<Adam>(config);
  if (config.name == "averaged") return std::make_unique<AveragedSgd>(config);
  return absl::InvalidArgumentError(
      absl::StrCat("unknown optimizer '", config.name, "' (expected sgd, adagrad, ftrl or adam)"));
}

}  // namespace parasol
