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

// Where scoring finds a model's rows: the fp32 table itself (TableRows), or a serving table that
// keeps rows in another precision and decodes them on the way (serve/serving_table.h).
// Implementations are thread-safe for concurrent Gather calls with distinct scratch.
class RowSource {
 public:
  virtual ~RowSource() = default;
  // The model's global bias (row kBiasKey's first weight; 0 when absent).
  virtual float Bias() const = 0;
  // Points rows[i] at the model.dim() weights of keys[i] for i < n; an absent key gets a row of
  // zeros. Rows decoded from another precision are written into *scratch, so the pointers stay
  // valid until *scratch is next used.
  virtual void Gather(const uint64_t* keys, size_t n, const float** rows,
                      std::vector<float>* scratch) const = 0;
};

// The RowSource of an fp32 SparseTable whose rows start with `dim` weights: pointers into the
// table, no copy.
class TableRows : public RowSource {
 public:
  TableRows(const SparseTable& table, int dim) : table_(table), zeros_(dim, 0.0f) {}
  float Bias() const override;
  void Gather(const uint64_t* keys, size_t n, const float** rows,
              std::vector<float>* scratch) const override;

 private:
  const SparseTable& table_;
  const std::vector<float> zeros_;
};

// Appends the probability of every example of `block` to *probs, with the rows `rows` gives.
// `dense` holds a deep model's dense weights (model.dense_size() floats; null for the sparse
// models).
void PredictBlock(const Model& model, const RowSource& rows, const float* dense,
                  const ExampleBlock& block, std::vector<float>* probs);
// The same over TableRows(table, model.dim()).
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
  // For the model server only, which takes the table and dense layers out when it loads a
  // version (serve/serving_table.h) and updates them in place from then on.
  LoadedModel* mutable_loaded() { return &loaded_; }

  // Reads `path` (in the model's input format) and calls fn(block, probs) for each block in file
  // order. With `labels_optional` (scoring new data) the input may come without labels
  // (ReaderOptions::labels_optional) and such examples carry label 0; otherwise every example
  // must have one (evaluation).
  absl::Status PredictFile(
      const std::string& path, int threads,
      const std::function<void(const ExampleBlock&, const std::vector<float>&)>& fn,
      bool labels_optional = false) const;

  // Scores the labelled file `path` (PredictFile) and appends every example's probability to
  // *probs and its label to *labels, in file order: what evaluation needs. PredictFile's errors;
  // InvalidArgument naming `path` when it holds no examples.
  absl::Status ScoreLabelled(const std::string& path, int threads, std::vector<float>* probs,
                             std::vector<float>* labels) const;

 private:
  LoadedModel loaded_;
  InputSpec input_;
};

}  // namespace parasol
