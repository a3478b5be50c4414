// Model maths for binary classifiers over sparse features: LR, FM, FFM and the averaged
// perceptron (here), and the deep models DNN, Wide&Deep, DeepFM and DCN-v2 (deep_model.h). A
// model computes scores (logits) from examples' feature rows — and, for deep models, a flat
// vector of dense weights — and the gradients of the loss with respect to those rows and dense
// weights; where rows and dense weights live (a local table, a parameter server) is the caller's
// business. The batch interface (ScoreBatch, TrainBatch) serves every model; the per-example one
// (Score, Gradient) is the sparse models' fast path for example-at-a-time training. Models are
// immutable after creation and thread-safe; per-call scratch space is passed in by the caller.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "data/example.h"

namespace parasol {

enum class ModelType { kLr, kFm, kFfm, kPerceptron, kDnn, kWideDeep, kDeepFm, kDcn };

// DNN, Wide&Deep, DeepFM and DCN: embeddings per field and a dense part.
bool IsDeep(ModelType type);
enum class Pooling { kSum, kMean };

absl::StatusOr<ModelType> ParseModelType(const std::string& name);
const char* ModelTypeName(ModelType type);

struct ModelSpec {
  ModelType type = ModelType::kLr;
  int k = 8;                 // factor dimension (FM, FFM)
  int num_fields = 1;        // FFM: fields 0..num_fields-1 (a larger field id uses the last one)
  float init_scale = 0.01f;  // factors start uniform in [-init_scale, init_scale)
  uint64_t seed = 1;         // initial factors are a function of (seed, key) only
  // Deep models (num_fields is then the number of embedding fields):
  int embedding_dim = 16;
  std::vector<int> hidden = {400, 400, 400};  // MLP widths; empty: no MLP
  float dropout = 0;                          // after each hidden layer, training only
  int cross_layers = 3;                       // DCN
  bool dcn_stacked = false;                   // DCN: cross then MLP (else side by side)
  Pooling pooling = Pooling::kSum;            // several values of one field
};

// A range of examples of a block, with what scoring them needs.
struct BatchInput {
  const ExampleBlock* block = nullptr;
  size_t begin = 0, end = 0;
  const float* const* rows = nullptr;  // per feature of the range, in block order
  float bias = 0;
  const float* dense = nullptr;  // dense_size() weights (deep models)
  uint64_t dropout_seed = 0;     // training: the dropout masks are a function of this seed
};

// Reused buffers for one thread's batches.
struct BatchScratch {
  std::vector<float> buffer;
  std::vector<float> dloss;
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
  // Weights per feature row: LR and perceptron 1, FM 1 + k, FFM 1 + num_fields * k, deep models
  // 1 + embedding_dim.
  int dim() const { return dim_; }
  // Dense weights (deep models; 0 for the others) and their initial values.
  virtual int dense_size() const { return 0; }
  virtual void InitDense(float* /*w*/) const {}

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

  // Scores (logits) of the examples [in.begin, in.end) into scores[0 .. end − begin).
  virtual void ScoreBatch(const BatchInput& in, BatchScratch* scratch, float* scores) const;
  // Scores the batch as ScoreBatch (with dropout when training) and computes the gradients of
  // the summed loss: row_grads gets dim() floats per feature of the range (feature order),
  // dense_grads (dense_size() floats) is overwritten, and the bias gradient is returned. For the
  // sparse models this is exactly Score, LossGradient and Gradient example by example.
  virtual float TrainBatch(const BatchInput& in, BatchScratch* scratch, float* scores,
                           float* row_grads, float* dense_grads) const;

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
