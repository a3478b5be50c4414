// Update rules for sparse and dense parameters: SGD, AdaGrad, FTRL-Proximal, Adam (each with L1
// and L2), plus averaged SGD for the averaged perceptron. The single-machine trainer and the
// parameter server apply exactly these functions. Optimizer objects are immutable after creation
// and thread-safe; the rows they update are owned by the caller.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace parasol {

struct OptimizerConfig {
  std::string name = "adagrad";  // sgd | adagrad | ftrl | adam | averaged (perceptron only)
  float lr = 0;                  // 0 = the optimizer's default (DefaultLearningRate)
  float l1 = 0;
  float l2 = 0;
  float ftrl_beta = 1.0f;  // FTRL-Proximal β
  float adam_beta1 = 0.9f, adam_beta2 = 0.999f;
  float epsilon = 1e-8f;  // AdaGrad and Adam denominators
};

float DefaultLearningRate(const std::string& optimizer_name);

// A row of `n` weights has n * state_per_weight() floats of state, interleaved per weight:
// state[i * S + c] is component c of weight i. So updating the first m < n weights of a row
// touches only the first m * S state floats.
class Optimizer {
 public:
  virtual ~Optimizer() = default;

  virtual const OptimizerConfig& config() const = 0;
  virtual int state_per_weight() const = 0;

  // Sets the state of n weights whose initial values are w (FTRL derives z from w).
  virtual void InitState(const float* w, float* state, int n) const;

  // One step on n weights with gradient grad. `step` counts updates so far (1-based), used only
  // by the averaged optimizer. L2 adds l2 * w to the gradient; L1 is applied proximally (a
  // weight whose magnitude falls below the threshold becomes exactly 0).
  virtual void Update(float* w, float* state, const float* grad, int n, uint64_t step) const = 0;

  // Update() on `count` rows at once: rows[r] holds dim weights followed by their state, and
  // grads holds count * dim gradients, row-major. One virtual call per example on the hot path.
  virtual void UpdateRows(float* const* rows, int dim, const float* grads, int count,
                          uint64_t step) const = 0;

  // The weights to export: the same as the live ones except for averaged SGD, whose exported
  // weights are the running average. `step` is the total number of updates.
  virtual void Finalize(const float* w, const float* state, int n, uint64_t step, float* out) const;
};

// InvalidArgument naming the field for an unknown name or a negative/NaN hyper-parameter.
absl::StatusOr<std::unique_ptr<Optimizer>> CreateOptimizer(const OptimizerConfig& config);

}  // namespace parasol
