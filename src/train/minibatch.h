// Mini-batch gradients: the examples of a batch are scored with the same (pre-batch) weights and
// their gradients summed per distinct key, so that each row gets one optimizer step per batch.
// The single-process trainer (batch_size > 1) and the distributed worker both use this, which
// is what makes a one-worker distributed run reproduce the local run exactly. Not thread-safe:
// one accumulator per thread.
#pragma once

#include <cstdint>
#include <vector>

#include "data/example.h"
#include "model/model.h"

namespace parasol {

class MiniBatchAccumulator {
 public:
  explicit MiniBatchAccumulator(const Model& model) : model_(model), dim_(model.dim()) {}

  // Accumulates examples [begin, end) of `block`. rows[i] holds the weights of the i-th feature
  // of the range (features in block order, starting at block.offsets()[begin]); `bias` is the
  // global bias weight. Keys accumulate in first-seen order.
  void Add(const ExampleBlock& block, size_t begin, size_t end, const float* const* rows,
           float bias);

  // Accumulates gradients computed elsewhere (a deep model's TrainBatch): grads holds dim floats
  // for each of the `count` keys, in order; bias_grad and loss_sum are added as they are. With
  // `rows` (each key's table row, parallel to keys) the distinct keys' rows are kept too
  // (rows()), so the caller updates them without looking them up again; pass rows on every call
  // between two Clear()s or on none.
  void AddGradients(const uint64_t* keys, size_t count, const float* grads, float bias_grad,
                    double loss_sum, float* const* rows = nullptr);

  // Distinct keys, their summed gradients (keys().size() * dim, row-major), the summed bias
  // gradient and the summed logistic loss of the examples added since the last Clear().
  const std::vector<uint64_t>& keys() const { return keys_; }
  const std::vector<float>& grads() const { return grads_; }
  // The table row of each of keys(), when AddGradients was given rows.
  const std::vector<float*>& rows() const { return rows_; }
  float bias_grad() const { return bias_grad_; }
  double loss_sum() const { return loss_sum_; }
  void Clear();

 private:
  uint32_t SlotOf(uint64_t key);

  const Model& model_;
  const int dim_;
  std::vector<uint64_t> keys_;
  std::vector<float*> rows_;
  std::vector<float> grads_;
  float bias_grad_ = 0;
  double loss_sum_ = 0;
  std::vector<uint32_t> index_;  // open addressing: position in keys_, or kEmpty
  std::vector<float> example_grads_;
  ModelScratch scratch_;
};

}  // namespace parasol
