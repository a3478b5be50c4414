#include "model/model.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/hash.h"
#include "model/deep_model.h"

namespace parasol {
namespace {

class LinearModel : public Model {
 public:
  explicit LinearModel(const ModelSpec& spec) : Model(spec, 1) {}

  float Score(const ExampleView& ex, const float* const* rows, float bias,
              ModelScratch*) const override {
    float s = bias;
    for (uint32_t i = 0; i < ex.size; ++i) s += rows[i][0] * ex.values[i];
    return s;
  }
  void Gradient(const ExampleView& ex, const float* const*, float dloss, ModelScratch*,
                float* grads) const override {
    for (uint32_t i = 0; i < ex.size; ++i) grads[i] = dloss * ex.values[i];
  }
};

// The perceptron scores like LR; it differs in its loss (mistakes only) and in being trained
// with averaged updates.
class Perceptron final : public LinearModel {
 public:
  using LinearModel::LinearModel;
  float LossGradient(float score, float label) const override {
    const float y = label > 0.5f ? 1.0f : -1.0f;
    return y * score <= 0 ? -y : 0.0f;
  }
};

// Factorisation machine: s = b + Σ w_i x_i + ½ Σ_f [(Σ_i v_if x_i)² − Σ_i v_if² x_i²].
// Row layout: [w, v_1 .. v_k].
class FmModel final : public Model {
 public:
  explicit FmModel(const ModelSpec& spec) : Model(spec, 1 + spec.k) {}

  float Score(const ExampleView& ex, const float* const* rows, float bias,
              ModelScratch* scratch) const override {
    const int k = spec_.k;
    scratch->sums.assign(k, 0.0f);
    float* sums = scratch->sums.data();
    float linear = bias, squares = 0;
    for (uint32_t i = 0; i < ex.size; ++i) {
      const float x = ex.values[i];
      const float* v = rows[i] + 1;
      linear += rows[i][0] * x;
      for (int f = 0; f < k; ++f) {
        const float vx = v[f] * x;
        sums[f] += vx;
        squares += vx * vx;
      }
    }
    float pair = 0;
    for (int f = 0; f < k; ++f) pair += sums[f] * sums[f];
    return linear + 0.5f * (pair - squares);
  }
  void Gradient(const ExampleView& ex, const float* const* rows, float dloss, ModelScratch* scratch,
                float* grads) const override {
    const int k = spec_.k;
    const float* sums = scratch->sums.data();
    for (uint32_t i = 0; i < ex.size; ++i) {
      const float x = ex.values[i];
      const float* v = rows[i] + 1;
      float* g = grads + static_cast<size_t>(i) * dim_;
      g[0] = dloss * x;
      for (int f = 0; f < k; ++f) g[1 + f] = dloss * x * (sums[f] - v[f] * x);
    }
  }
};

// Field-aware FM: s = b + Σ w_i x_i + Σ_{i<j} <v_{i,f_j}, v_{j,f_i}> x_i x_j.
// Row layout: [w, v_{field 0} (k), v_{field 1} (k), ...].
class FfmModel final : public Model {
 public:
  explicit FfmModel(const ModelSpec& spec) : Model(spec, 1 + spec.num_fields * spec.k) {}

  float Score(const ExampleView& ex, const float* const* rows, float bias,
              ModelScratch*) const override {
    const int k = spec_.k;
    float s = bias;
    for (uint32_t i = 0; i < ex.size; ++i) {
      s += rows[i][0] * ex.values[i];
      const float* vi = rows[i] + 1;
      const uint32_t fi = Field(ex.fields[i]);
      for (uint32_t j = i + 1; j < ex.size; ++j) {
        const float* a = vi + Field(ex.fields[j]) * k;
        const float* b = rows[j] + 1 + fi * k;
        float dot = 0;
        for (int f = 0; f < k; ++f) dot += a[f] * b[f];
        s += dot * ex.values[i] * ex.values[j];
      }
    }
    return s;
  }
  void Gradient(const ExampleView& ex, const float* const* rows, float dloss, ModelScratch*,
                float* grads) const override {
    const int k = spec_.k;
    std::fill(grads, grads + static_cast<size_t>(ex.size) * dim_, 0.0f);
    for (uint32_t i = 0; i < ex.size; ++i) {
      float* gi = grads + static_cast<size_t>(i) * dim_;
      gi[0] = dloss * ex.values[i];
      const uint32_t fi = Field(ex.fields[i]);
      for (uint32_t j = i + 1; j < ex.size; ++j) {
        const uint32_t fj = Field(ex.fields[j]);
        float* gj = grads + static_cast<size_t>(j) * dim_;
        const float* a = rows[i] + 1 + fj * k;
        const float* b = rows[j] + 1 + fi * k;
        const float c = dloss * ex.values[i] * ex.values[j];
        for (int f = 0; f < k; ++f) {
          gi[1 + fj * k + f] += c * b[f];
          gj[1 + fi * k + f] += c * a[f];
        }
      }
    }
  }

 private:
  uint32_t Field(uint32_t field) const {
    const uint32_t last = static_cast<uint32_t>(spec_.num_fields - 1);
    return field < last ? field : last;
  }
};

}  // namespace

absl::StatusOr<ModelType> ParseModelType(const std::string& name) {
  if (name == "lr") return ModelType::kLr;
  if (name == "fm") return ModelType::kFm;
  if (name == "ffm") return ModelType::kFfm;
  if (name == "perceptron") return ModelType::kPerceptron;
  if (name == "dnn") return ModelType::kDnn;
  if (name == "wide_deep") return ModelType::kWideDeep;
  if (name == "deepfm") return ModelType::kDeepFm;
  if (name == "dcn") return ModelType::kDcn;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown model '", name,
                   "' (expected lr, fm, ffm, perceptron, dnn, wide_deep, deepfm or dcn)"));
}

bool IsDeep(ModelType type) {
  return type == ModelType::kDnn || type == ModelType::kWideDeep || type == ModelType::kDeepFm ||
         type == ModelType::kDcn;
}

const char* ModelTypeName(ModelType type) {
  switch (type) {
    case ModelType::kLr:
      return "lr";
    case ModelType::kFm:
      return "fm";
    case ModelType::kFfm:
      return "ffm";
    case ModelType::kPerceptron:
      return "perceptron";
    case ModelType::kDnn:
      return "dnn";
    case ModelType::kWideDeep:
      return "wide_deep";
    case ModelType::kDeepFm:
      return "deepfm";
    case ModelType::kDcn:
      return "dcn";
  }
  return "?";
}

absl::StatusOr<std::unique_ptr<Model>> Model::Create(const ModelSpec& spec) {
  const bool factors = spec.type == ModelType::kFm || spec.type == ModelType::kFfm;
  if (factors && (spec.k < 1 || spec.k > 1024)) {
    return absl::InvalidArgumentError(absl::StrCat("k must be in [1, 1024], got ", spec.k));
  }
  if (spec.type == ModelType::kFfm && (spec.num_fields < 1 || spec.num_fields > 4096)) {
    return absl::InvalidArgumentError(
        absl::StrCat("FFM needs 1 to 4096 fields, got ", spec.num_fields));
  }
  if (!(spec.init_scale >= 0)) {
    return absl::InvalidArgumentError("init_scale must be >= 0");
  }
  if (IsDeep(spec.type)) {
    if (spec.embedding_dim < 1 || spec.embedding_dim > 1024) {
      return absl::InvalidArgumentError(
          absl::StrCat("embedding_dim must be in [1, 1024], got ", spec.embedding_dim));
    }
    if (spec.num_fields < 1 || spec.num_fields > 4096) {
      return absl::InvalidArgumentError(
          absl::StrCat("deep models need 1 to 4096 fields, got ", spec.num_fields));
    }
    for (int width : spec.hidden) {
      if (width < 1 || width > 65536) {
        return absl::InvalidArgumentError(
            absl::StrCat("hidden layer widths must be in [1, 65536], got ", width));
      }
    }
    if (!(spec.dropout >= 0 && spec.dropout < 1)) {
      return absl::InvalidArgumentError(
          absl::StrCat("dropout must be in [0, 1), got ", spec.dropout));
    }
    if (spec.cross_layers < 0 || spec.cross_layers > 64) {
      return absl::InvalidArgumentError(
          absl::StrCat("cross_layers must be in [0, 64], got ", spec.cross_layers));
    }
    if (spec.type != ModelType::kDcn && spec.hidden.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(ModelTypeName(spec.type), " needs at least one hidden layer"));
    }
    const int64_t width = int64_t{spec.num_fields} * spec.embedding_dim;
    if (width > 65536) {
      return absl::InvalidArgumentError(absl::StrCat(
          "fields × embedding_dim = ", width, " is too wide for the dense layers (max 65536)"));
    }
    return std::unique_ptr<Model>(new DeepModel(spec));
  }
  switch (spec.type) {
    case ModelType::kLr:
      return std::unique_ptr<Model>(new LinearModel(spec));
    case ModelType::kPerceptron:
      return std::unique_ptr<Model>(new Perceptron(spec));
    case ModelType::kFm:
      return std::unique_ptr<Model>(new FmModel(spec));
    case ModelType::kFfm:
      return std::unique_ptr<Model>(new FfmModel(spec));
    default:
      break;
  }
  return absl::InternalError("unhandled model type");
}

void Model::InitRow(uint64_t key, float* w) const {
  w[0] = 0;
  for (int j = 1; j < dim_; ++j) w[j] = spec_.init_scale * HashUniform(spec_.seed, key, j);
}

float Model::LossGradient(float score, float label) const { return Sigmoid(score) - label; }

void Model::ScoreBatch(const BatchInput& in, BatchScratch*, float* scores) const {
  ModelScratch scratch;
  const float* const* rows = in.rows;
  for (size_t e = in.begin; e < in.end; ++e) {
    const ExampleView ex = in.block->example(e);
    scores[e - in.begin] = Score(ex, rows, in.bias, &scratch);
    rows += ex.size;
  }
}

float Model::TrainBatch(const BatchInput& in, BatchScratch*, float* scores, float* row_grads,
                        float*) const {
  ModelScratch scratch;
  const float* const* rows = in.rows;
  float bias_grad = 0;
  for (size_t e = in.begin; e < in.end; ++e) {
    const ExampleView ex = in.block->example(e);
    const float score = Score(ex, rows, in.bias, &scratch);
    scores[e - in.begin] = score;
    const float dloss = LossGradient(score, ex.label);
    if (dloss == 0) {
      std::fill(row_grads, row_grads + static_cast<size_t>(ex.size) * dim_, 0.0f);
    } else {
      Gradient(ex, rows, dloss, &scratch, row_grads);
    }
    bias_grad += dloss;
    rows += ex.size;
    row_grads += static_cast<size_t>(ex.size) * dim_;
  }
  return bias_grad;
}

float Sigmoid(float x) {
  if (x >= 0) return 1.0f / (1.0f + std::exp(-x));
  const float e = std::exp(x);
  return e / (1.0f + e);
}

double LogisticLoss(float p, float label) {
  const double q = std::clamp(static_cast<double>(p), 1e-15, 1.0 - 1e-15);
  return label > 0.5f ? -std::log(q) : -std::log(1.0 - q);
}

}  // namespace parasol
