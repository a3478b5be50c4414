#include "stream/online_learner.h"

#include "absl/strings/str_cat.h"
#include "common/hash.h"
#include "common/status_macros.h"
#include "predict/predictor.h"
#include "storage/model_dir.h"

namespace parasol::stream {

absl::StatusOr<std::unique_ptr<OnlineLearner>> OnlineLearner::Create(const TrainConfig& config,
                                                                     const InputSpec& input,
                                                                     const ModelSpec& spec,
                                                                     const std::string& resume_dir,
                                                                     uint64_t resume_steps) {
  auto l = std::unique_ptr<OnlineLearner>(new OnlineLearner());
  l->config_ = config;
  l->input_ = input;
  ASSIGN_OR_RETURN(l->model_, Model::Create(spec));
  ASSIGN_OR_RETURN(l->optimizer_, CreateOptimizer(config.resolved_optimizer()));
  const int dim = l->model_->dim();
  const Model* model = l->model_.get();
  const Optimizer* optimizer = l->optimizer_.get();
  const int state = dim * optimizer->state_per_weight();
  l->table_ =
      std::make_unique<SparseTable>(dim + state, [model, optimizer, dim](uint64_t key, float* row) {
        model->InitRow(key, row);
        optimizer->InitState(row, row + dim, dim);
      });
  if (model->dense_size() > 0) {
    ASSIGN_OR_RETURN(l->dense_optimizer_, CreateOptimizer(config.resolved_dense_optimizer()));
    const size_t size = model->dense_size();
    l->dense_.weights.resize(size);
    l->dense_.state.resize(size * l->dense_optimizer_->state_per_weight());
    model->InitDense(l->dense_.weights.data());
    l->dense_optimizer_->InitState(l->dense_.weights.data(), l->dense_.state.data(),
                                   static_cast<int>(size));
  }
  if (!resume_dir.empty()) {
    ASSIGN_OR_RETURN(LoadedModel saved, LoadModelDir(resume_dir, /*with_state=*/true));
    if (saved.manifest.spec.type != spec.type || saved.model->dim() != dim ||
        saved.state_floats != state || saved.model->dense_size() != model->dense_size()) {
      return absl::FailedPreconditionError(absl::StrCat(
          resume_dir, ": the checkpoint holds a ", ModelTypeName(saved.manifest.spec.type),
          " model with rows of ", saved.model->dim(), " weights + ", saved.state_floats,
          " optimizer floats, but this run configures ", ModelTypeName(spec.type), " with ", dim,
          " + ", state, ": start with another --out, or the same model settings"));
    }
    saved.table->ForEach([&](uint64_t key, const float* row) { l->table_->Put(key, row); });
    if (model->dense_size() > 0) {
      if (saved.dense_state.size() != l->dense_.state.size()) {
        return absl::FailedPreconditionError(
            absl::StrCat(resume_dir, ": the dense optimizer state does not match --config"));
      }
      l->dense_.weights = std::move(saved.dense);
      l->dense_.state = std::move(saved.dense_state);
    }
    l->steps_ = resume_steps;
    l->dense_.steps = resume_steps / std::max(1, config.resolved_batch_size());
  }
  l->bias_row_ = l->table_->FindOrInsert(kBiasKey);
  l->batch_size_ = config.resolved_batch_size();
  if (model->dense_size() > 0) {
    l->deep_ = std::make_unique<DeepLearner>(*l->model_, *l->optimizer_, *l->dense_optimizer_,
                                             *l->table_, l->bias_row_, l->dense_,
                                             config.resolved_threads(), l->batch_size_, spec.seed);
  } else if (l->batch_size_ > 1) {
    l->batch_ = std::make_unique<MiniBatchAccumulator>(*l->model_);
  }
  return l;
}

OnlineLearner::~OnlineLearner() = default;

void OnlineLearner::Learn(const ExampleBlock& block, std::vector<float>* probs) {
  if (deep_ == nullptr && batch_ == nullptr) return LearnExamples(block, probs);
  // Scored before the block is learned (a deep batch is scored at its pre-batch weights anyway).
  PredictBlock(*model_, *table_, dense_.weights.empty() ? nullptr : dense_.weights.data(), block,
               probs);
  if (deep_ != nullptr) {
    deep_->Train(block, nullptr, nullptr);
    steps_ += block.size();
    return;
  }
  LearnMiniBatches(block);
}

void OnlineLearner::LearnExamples(const ExampleBlock& block, std::vector<float>* probs) {
  const int dim = model_->dim();
  for (size_t e = 0; e < block.size(); ++e) {
    const ExampleView ex = block.example(e);
    rows_.resize(ex.size);
    for (uint32_t i = 0; i < ex.size; ++i) rows_[i] = table_->FindOrInsert(ex.keys[i]);
    const float* const* weights = rows_.data();
    const float score = model_->Score(ex, weights, bias_row_[0], &scratch_);
    probs->push_back(Sigmoid(score));
    ++steps_;
    const float dloss = model_->LossGradient(score, ex.label);
    if (dloss == 0) continue;
    grads_.resize(static_cast<size_t>(ex.size) * dim);
    model_->Gradient(ex, weights, dloss, &scratch_, grads_.data());
    optimizer_->UpdateRows(rows_.data(), dim, grads_.data(), static_cast<int>(ex.size), steps_);
    optimizer_->Update(bias_row_, bias_row_ + dim, &dloss, 1, steps_);
  }
}

void OnlineLearner::LearnMiniBatches(const ExampleBlock& block) {
  const int dim = model_->dim();
  const uint32_t* offsets = block.offsets().data();
  std::vector<float> bias_grads(dim, 0.0f);
  for (size_t begin = 0; begin < block.size(); begin += batch_size_) {
    const size_t end = std::min(block.size(), begin + static_cast<size_t>(batch_size_));
    rows_.resize(offsets[end] - offsets[begin]);
    for (uint32_t i = offsets[begin]; i < offsets[end]; ++i) {
      rows_[i - offsets[begin]] = table_->FindOrInsert(block.keys()[i]);
    }
    batch_->Clear();
    batch_->Add(block, begin, end, rows_.data(), bias_row_[0]);
    steps_ += end - begin;
    for (size_t u = 0; u < batch_->keys().size(); ++u) {
      float* row = table_->FindOrInsert(batch_->keys()[u]);
      optimizer_->Update(row, row + dim, batch_->grads().data() + u * dim, dim, steps_);
    }
    bias_grads[0] = batch_->bias_grad();
    optimizer_->Update(bias_row_, bias_row_ + dim, bias_grads.data(), dim, steps_);
  }
}

absl::Status OnlineLearner::Save(const std::string& dir, const std::string& training_json) const {
  ModelManifest manifest = BuildManifest(model_->spec(), optimizer_->config(), input_,
                                         static_cast<int64_t>(features()), training_json);
  if (dense_optimizer_ == nullptr) return SaveModelDir(dir, manifest, *table_, *optimizer_, steps_);
  manifest.dense_optimizer = dense_optimizer_->config();
  const DenseWeights dense{dense_.weights.data(), dense_.state.data(),
                           static_cast<int64_t>(dense_.weights.size()), dense_optimizer_.get(),
                           dense_.steps};
  return SaveModelDir(dir, manifest, *table_, *optimizer_, steps_, &dense);
}

}  // namespace parasol::stream
