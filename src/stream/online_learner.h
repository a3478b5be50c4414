// A model learning from a stream, one block of examples at a time, with the learners of
// src/train: the sparse models example by example (or in mini-batches with --batch-size B, the
// MiniBatchAccumulator semantics), the deep models through DeepLearner (its thread team, batches
// of the configured size). Progressive validation: every example is scored with the weights as
// they stand before it is learned (deep models and mini-batches: before its block is learned).
// Saves as a model directory (what `parasol predict` and `parasol serve` read), optimizer state
// included, and resumes from one. Not thread-safe: one thread calls it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "data/example.h"
#include "model/model.h"
#include "model/sparse_table.h"
#include "optim/optimizer.h"
#include "predict/input_spec.h"
#include "train/deep_learner.h"
#include "train/minibatch.h"
#include "train/train_config.h"

namespace parasol::stream {

class OnlineLearner {
 public:
  // A fresh model as `config` describes, or with `resume_dir` non-empty the model saved there
  // (rows, optimizer state, dense layers), which has taken `resume_steps` steps. A saved model
  // whose type, row width or optimizer differs from the config is refused, naming both.
  static absl::StatusOr<std::unique_ptr<OnlineLearner>> Create(const TrainConfig& config,
                                                               const InputSpec& input,
                                                               const ModelSpec& spec,
                                                               const std::string& resume_dir,
                                                               uint64_t resume_steps);
  ~OnlineLearner();

  // Appends each example's probability before learning it to *probs, then learns the block.
  void Learn(const ExampleBlock& block, std::vector<float>* probs);

  // Writes the model directory DIR; `training_json` goes into the manifest's training summary.
  absl::Status Save(const std::string& dir, const std::string& training_json) const;

  uint64_t steps() const { return steps_; }
  size_t features() const { return table_->size() - 1; }  // bias row excluded
  const Model& model() const { return *model_; }

 private:
  OnlineLearner() = default;
  void LearnExamples(const ExampleBlock& block, std::vector<float>* probs);
  void LearnMiniBatches(const ExampleBlock& block);

  TrainConfig config_;
  InputSpec input_;
  std::unique_ptr<Model> model_;
  std::unique_ptr<Optimizer> optimizer_, dense_optimizer_;
  std::unique_ptr<SparseTable> table_;
  float* bias_row_ = nullptr;
  DenseState dense_;
  std::unique_ptr<DeepLearner> deep_;
  std::unique_ptr<MiniBatchAccumulator> batch_;
  int batch_size_ = 1;
  uint64_t steps_ = 0;
  ModelScratch scratch_;
  std::vector<float*> rows_;
  std::vector<float> grads_;
};

}  // namespace parasol::stream
