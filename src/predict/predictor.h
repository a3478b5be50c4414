// Scoring with a trained model: probabilities for parsed examples, and whole files streamed in
// input order. A loaded Predictor is immutable and thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "data/example.h"
#include "model/model.h"
#include "model/sparse_table.h"
#include "predict/input_spec.h"
#include "storage/model_dir.h"

namespace parasol {

// Appends the probability of every example of `block` to *probs. Rows of `table` start with
// model.dim() weights; keys absent from the table count as all-zero weights. `dense` holds a
// deep model's dense weights (model.dense_size() floats; null for the sparse models).
void PredictBlock(const Model& model, const SparseTable& table, const float* dense,
                  const ExampleBlock& block, std::vector<float>* probs);

// Scores `blocks` on up to `threads` threads; probs[i] belongs to the i-th example overall.
std::vector<float> PredictBlocks(const Model& model, const SparseTable& table, const float* dense,
                                 const std::vector<ExampleBlock>& blocks, int threads);

class Predictor {
 public:
  static absl::StatusOr<std::unique_ptr<Predictor>> Load(const std::string& model_dir);

  const InputSpec& input() const { return input_; }
  const LoadedModel& loaded() const { return loaded_; }
  // For in-place updates only (the model server's deltas), which must replace rows with
  // SparseTable::Replace so that concurrent scoring never sees a half-written row.
  LoadedModel* mutable_loaded() { return &loaded_; }

  // Reads `path` (in the model's input format) and calls fn(block, probs) for each block in file
  // order. With `labels_optional` (scoring new data) the input may come without labels
  // (ReaderOptions::labels_optional) and such examples carry label 0; otherwise every example
  // must have one (evaluation).
  absl::Status PredictFile(
      const std::string& path, int threads,
      const std::function<void(const ExampleBlock&, const std::vector<float>&)>& fn,
      bool labels_optional = false) const;

 private:
  LoadedModel loaded_;
  InputSpec input_;
};

}  // namespace parasol
