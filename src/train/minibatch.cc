#include "train/minibatch.h"

#include <algorithm>

namespace parasol {
namespace {
constexpr uint32_t kEmpty = ~uint32_t{0};
}

void MiniBatchAccumulator::Clear() {
  keys_.clear();
  rows_.clear();
  grads_.clear();
  bias_grad_ = 0;
  loss_sum_ = 0;
  std::fill(index_.begin(), index_.end(), kEmpty);
}

uint32_t MiniBatchAccumulator::SlotOf(uint64_t key) {
  if ((keys_.size() + 1) * 2 > index_.size()) {  // keep the load factor below 1/2
    index_.assign(std::max<size_t>(64, index_.size() * 2), kEmpty);
    const size_t mask = index_.size() - 1;
    for (uint32_t p = 0; p < keys_.size(); ++p) {
      size_t h = static_cast<size_t>((keys_[p] * 0x9e3779b97f4a7c15ULL) >> 20) & mask;
      while (index_[h] != kEmpty) h = (h + 1) & mask;
      index_[h] = p;
    }
  }
  const size_t mask = index_.size() - 1;
  size_t h = static_cast<size_t>((key * 0x9e3779b97f4a7c15ULL) >> 20) & mask;
  while (index_[h] != kEmpty && keys_[index_[h]] != key) h = (h + 1) & mask;
  if (index_[h] == kEmpty) {
    index_[h] = static_cast<uint32_t>(keys_.size());
    keys_.push_back(key);
    grads_.resize(grads_.size() + dim_, 0.0f);
  }
  return index_[h];
}

void MiniBatchAccumulator::Add(const ExampleBlock& block, size_t begin, size_t end,
                               const float* const* rows, float bias) {
  const uint32_t base = block.offsets()[begin];
  for (size_t e = begin; e < end; ++e) {
    const ExampleView ex = block.example(e);
    const float* const* ex_rows = rows + (block.offsets()[e] - base);
    const float score = model_.Score(ex, ex_rows, bias, &scratch_);
    loss_sum_ += LogisticLoss(Sigmoid(score), ex.label);
    const float dloss = model_.LossGradient(score, ex.label);
    if (dloss == 0) continue;
    example_grads_.resize(static_cast<size_t>(ex.size) * dim_);
    model_.Gradient(ex, ex_rows, dloss, &scratch_, example_grads_.data());
    AddGradients(ex.keys, ex.size, example_grads_.data(), dloss, 0);
  }
}

void MiniBatchAccumulator::AddGradients(const uint64_t* keys, size_t count, const float* grads,
                                        float bias_grad, double loss_sum, float* const* rows) {
  for (size_t i = 0; i < count; ++i) {
    const size_t slot = SlotOf(keys[i]);  // may grow grads_: take data() afterwards
    if (rows != nullptr && rows_.size() < keys_.size()) rows_.push_back(rows[i]);  // a new key
    float* dst = grads_.data() + slot * dim_;
    const float* src = grads + i * dim_;
    for (int j = 0; j < dim_; ++j) dst[j] += src[j];
  }
  bias_grad_ += bias_grad;
  loss_sum_ += loss_sum;
}

}  // namespace parasol
