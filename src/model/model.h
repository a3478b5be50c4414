// Model maths for sparse binary classifiers: LR, FM, FFM and the averaged perceptron. A model
// computes a score (logit) from an example's feature rows and the gradient of its loss with
// respect to those rows; where rows live (a local table, a parameter server) is the caller's
// business. Models are immutable after creation and thread-safe; per-call scratch space is passed
// in by the caller.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "data/example.h"

namespace parasol {

enum class ModelType { kLr, kFm, kFfm, kPerceptron };

absl::StatusOr<ModelType> ParseModelType(const std::string& name);
const char* ModelTypeName(ModelType type);

struct ModelSpec {
  ModelType type = ModelType::kLr;
  int k = 8;                 // factor dimension (FM, FFM)
  int num_fields = 1;        // FFM: fields 0..num_fields-1 (a larger field id uses the last one)
  float init_scale = 0.01f;  // factors start uniform in [-init_scale, init_scale)
  uint64_t seed = 1;         // initial factors are a function of (seed, key) only
};

// Reused buffers for one thread; contents are meaningful only between Score and Gradient calls
// on the same example.
struct ModelScratch {
  std::vector<float> sums;
};

class Model {
 public:
  virtual ~Model() = default;
  static absl::StatusOr<std::unique_ptr<Model>> Create(const ModelSpec& spec);

  const ModelSpec& spec() const { return spec_; }
  // Weights per feature row: LR and perceptron 1, FM 1 + k, FFM 1 + num_fields * k.
  int dim() const { return dim_; }

  // Initial weights of the row for `key` (dim() floats): linear weight 0, factors small uniform.
  void InitRow(uint64_t key, float* w) const;

  // Score (logit) of `ex`; rows[i] holds the weights of feature i, bias the global bias.
  virtual float Score(const ExampleView& ex, const float* const* rows, float bias,
                      ModelScratch* scratch) const = 0;

  // d loss / d score at `score` for `label` (0 or 1): logistic loss p − y; for the perceptron
  // −y' on a mistake (y' = ±1, y'·score <= 0) and 0 otherwise.
  virtual float LossGradient(float score, float label) const;

  // Writes d loss / d rows[i] (dim() floats per feature, feature-major) into grads, given
  // dloss = LossGradient(...). REQUIRES: Score was just called with the same arguments and
  // scratch. The bias gradient is dloss itself.
  virtual void Gradient(const ExampleView& ex, const float* const* rows, float dloss,
                        ModelScratch* scratch, float* grads) const = 0;

 protected:
  Model(const ModelSpec& spec, int dim) : spec_(spec), dim_(dim) {}
  const ModelSpec spec_;
  const int dim_;
};

// Logistic function, numerically safe for large |x|.
float Sigmoid(float x);
// Logistic loss of probability p for label y, with p clipped to [1e-15, 1 − 1e-15].
double LogisticLoss(float p, float label);

}  // namespace parasol
