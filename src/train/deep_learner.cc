#include "train/deep_learner.h"

#include <algorithm>

#include "common/hash.h"

namespace parasol {

uint64_t DropoutSeed(uint64_t seed, uint64_t batch, int slice) {
  return hash_internal::Mix(seed ^ hash_internal::Mix(batch * 64 + slice + 1));
}

void DeepSlice::Compute(const Model& model, const BatchInput& batch) {
  in = batch;
  const uint32_t* offsets = in.block->offsets().data();
  scores.resize(in.end - in.begin);
  row_grads.resize(static_cast<size_t>(offsets[in.end] - offsets[in.begin]) * model.dim());
  dense_grads.resize(model.dense_size());  // TrainBatch overwrites it
  bias_grad = 0;
  if (in.end == in.begin) {
    std::fill(dense_grads.begin(), dense_grads.end(), 0.0f);
    return;
  }
  bias_grad = model.TrainBatch(in, &scratch, scores.data(), row_grads.data(), dense_grads.data());
}

double DeepSlice::AddTo(MiniBatchAccumulator* batch, float* const* rows) const {
  double loss = 0;
  for (size_t i = in.begin; i < in.end; ++i) {
    loss += LogisticLoss(Sigmoid(scores[i - in.begin]), in.block->labels()[i]);
  }
  const uint32_t* offsets = in.block->offsets().data();
  batch->AddGradients(in.block->keys().data() + offsets[in.begin],
                      offsets[in.end] - offsets[in.begin], row_grads.data(), bias_grad, loss, rows);
  return loss;
}

DeepLearner::DeepLearner(const Model& model, const Optimizer& sparse,
                         const Optimizer& dense_optimizer, SparseTable& table, float* bias_row,
                         DenseState& dense, int threads, int batch_size, uint64_t seed)
    : model_(model),
      sparse_(sparse),
      dense_optimizer_(dense_optimizer),
      table_(table),
      bias_row_(bias_row),
      dense_(dense),
      threads_(std::max(1, threads)),
      batch_size_(std::max(1, batch_size)),
      seed_(seed),
      dim_(model.dim()),
      slices_(threads_),
      merged_(model),
      bias_grads_(model.dim(), 0.0f) {
  for (int t = 1; t < threads_; ++t) team_.emplace_back([this, t] { TeamLoop(t); });
}

DeepLearner::~DeepLearner() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  start_.notify_all();
  for (auto& th : team_) th.join();
}

void DeepLearner::TeamLoop(int t) {
  uint64_t seen = 0;
  while (true) {
    const std::function<void(int)>* job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      start_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      job = job_;
    }
    (*job)(t);
    std::lock_guard<std::mutex> lock(mu_);
    if (--pending_ == 0) done_.notify_one();
  }
}

void DeepLearner::Parallel(const std::function<void(int)>& fn) {
  if (threads_ == 1) return fn(0);
  {
    std::lock_guard<std::mutex> lock(mu_);
    job_ = &fn;
    pending_ = threads_ - 1;
    ++generation_;
  }
  start_.notify_all();
  fn(0);
  std::unique_lock<std::mutex> lock(mu_);
  done_.wait(lock, [&] { return pending_ == 0; });
}

double DeepLearner::Train(const ExampleBlock& block, std::vector<float*>* rows, bool* resolved) {
  const size_t n = block.size();
  const uint64_t* keys = block.keys().data();
  std::vector<float*> local;
  std::vector<float*>& r = rows != nullptr ? *rows : local;
  if (rows == nullptr || !*resolved) {
    // Rows are looked up (and created) for the whole block at once, split over the team.
    r.resize(block.num_features());
    const size_t features = block.num_features();
    Parallel([&](int t) {
      const size_t begin = features * t / threads_, end = features * (t + 1) / threads_;
      for (size_t i = begin; i < end; ++i) r[i] = table_.FindOrInsert(keys[i]);
    });
    if (rows != nullptr) *resolved = true;
  }
  double loss = 0;
  const uint32_t* offsets = block.offsets().data();
  for (size_t begin = 0; begin < n; begin += batch_size_) {
    const size_t end = std::min(n, begin + static_cast<size_t>(batch_size_));
    loss += TrainBatch(block, begin, end, r.data() + offsets[begin]);
  }
  return loss;
}

double DeepLearner::TrainBatch(const ExampleBlock& block, size_t begin, size_t end,
                               float* const* rows) {
  const uint32_t* offsets = block.offsets().data();
  const int64_t dense_size = model_.dense_size();
  const uint64_t batch = dense_.steps;  // batches before this one, over all epochs
  const float* dense = dense_.weights.data();
  // 1. Each thread its slice: forward and backward at the pre-batch weights.
  auto slice_of = [&](int t) {
    const size_t n = end - begin;
    return std::make_pair(begin + n * t / threads_, begin + n * (t + 1) / threads_);
  };
  Parallel([&](int t) {
    const auto [b, e] = slice_of(t);
    slices_[t].Compute(
        model_,
        {&block, b, e, const_cast<const float* const*>(rows + (offsets[b] - offsets[begin])),
         bias_row_[0], dense, DropoutSeed(seed_, batch, t)});
  });
  // 2. Row gradients summed per key, slices in order (so the sum does not depend on timing);
  // the accumulator keeps each key's row, already looked up.
  merged_.Clear();
  double loss = 0;
  for (int t = 0; t < threads_; ++t) {
    loss += slices_[t].AddTo(&merged_, rows + (offsets[slice_of(t).first] - offsets[begin]));
  }
  // 3. One step for the dense layers (summed gradients) and for each touched row, split over
  // the team: thread t takes its share of the dense weights and of the distinct keys.
  const uint64_t step = ++dense_.steps;
  const int state = dense_optimizer_.state_per_weight();
  const size_t keys = merged_.keys().size();
  Parallel([&](int t) {
    const int64_t lo = dense_size * t / threads_, hi = dense_size * (t + 1) / threads_;
    if (hi > lo) {
      float* g = slices_[0].dense_grads.data();
      for (int u = 1; u < threads_; ++u) {
        const float* other = slices_[u].dense_grads.data();
        for (int64_t i = lo; i < hi; ++i) g[i] += other[i];
      }
      dense_optimizer_.Update(dense_.weights.data() + lo, dense_.state.data() + lo * state, g + lo,
                              static_cast<int>(hi - lo), step);
    }
    const size_t k0 = keys * t / threads_, k1 = keys * (t + 1) / threads_;
    for (size_t u = k0; u < k1; ++u) {
      float* row = merged_.rows()[u];
      sparse_.Update(row, row + dim_, merged_.grads().data() + u * dim_, dim_, step);
    }
  });
  bias_grads_[0] = merged_.bias_grad();
  sparse_.Update(bias_row_, bias_row_ + dim_, bias_grads_.data(), dim_, step);
  return loss;
}

}  // namespace parasol
