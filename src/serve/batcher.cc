#include "serve/batcher.h"

namespace parasol {

Batcher::Batcher(BatchingOptions options) : options_(options) {
  for (int i = 0; i < std::max(1, options_.num_batch_threads); ++i) {
    threads_.emplace_back([this] { Loop(); });
  }
}

Batcher::~Batcher() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  for (auto& t : threads_) t.join();
}

std::vector<float> Batcher::Score(const std::shared_ptr<const Servable>& servable,
                                  const ExampleBlock& block) {
  std::vector<float> probs;
  if (static_cast<int>(block.size()) >= options_.max_batch_size) {
    servable->Score(block, &probs);
    batches_.fetch_add(1, std::memory_order_relaxed);
    rows_.fetch_add(block.size(), std::memory_order_relaxed);
    return probs;
  }
  // `servable` is held by the caller until this returns, so the raw pointer stays valid.
  Task task{servable.get(), &block, &probs, std::chrono::steady_clock::now()};
  std::unique_lock<std::mutex> lock(mu_);
  queue_.push_back(&task);
  work_cv_.notify_all();  // the thread gathering this version's batch must see it
  done_cv_.wait(lock, [&task] { return task.done; });
  return probs;
}

void Batcher::Loop() {
  const auto timeout = std::chrono::microseconds(options_.batch_timeout_micros);
  std::vector<Task*> batch;
  ExampleBlock merged;
  std::vector<float> probs;
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    work_cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, nothing left
    // Wait for the oldest request's version to gather a full batch, or for its deadline.
    const Servable* servable = queue_.front()->servable;
    const auto deadline = queue_.front()->queued + timeout;
    auto queued_rows = [&] {
      size_t rows = 0;
      for (const Task* t : queue_) {
        if (t->servable == servable) rows += t->block->size();
      }
      return rows;
    };
    while (!stop_ && queued_rows() < static_cast<size_t>(options_.max_batch_size) &&
           work_cv_.wait_until(lock, deadline) != std::cv_status::timeout) {
    }
    if (queue_.empty() || queue_.front()->servable != servable) continue;  // another thread took it
    batch.clear();
    size_t rows = 0;
    for (auto it = queue_.begin(); it != queue_.end();) {
      Task* t = *it;
      if (t->servable == servable &&
          (batch.empty() ||
           rows + t->block->size() <= static_cast<size_t>(options_.max_batch_size))) {
        batch.push_back(t);
        rows += t->block->size();
        it = queue_.erase(it);
      } else {
        ++it;
      }
    }
    lock.unlock();
    merged.Clear();
    for (const Task* t : batch) merged.Append(*t->block);
    probs.clear();
    servable->Score(merged, &probs);
    size_t at = 0;
    for (Task* t : batch) {
      t->probs->assign(probs.begin() + at, probs.begin() + at + t->block->size());
      at += t->block->size();
    }
    batches_.fetch_add(1, std::memory_order_relaxed);
    rows_.fetch_add(rows, std::memory_order_relaxed);
    lock.lock();
    for (Task* t : batch) t->done = true;
    done_cv_.notify_all();
  }
}

absl::StatusOr<std::vector<float>> PredictRows(const std::shared_ptr<const Servable>& servable,
                                               absl::Span<const RawInstance> rows,
                                               Batcher* batcher) {
  if (batcher == nullptr) return servable->Predict(rows);
  ExampleBlock block;
  if (auto st = servable->Encode(rows, &block); !st.ok()) return st;
  return batcher->Score(servable, block);
}

}  // namespace parasol
