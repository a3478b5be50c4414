// Dynamic batching for predict: rows of concurrent requests to the same model version are scored
// together, in one pass, by a batch thread. A request waits until `max_batch_size` rows of its
// version are queued or `batch_timeout_micros` have passed since the oldest queued request, so
// batching trades latency for fewer, larger scoring passes; measure before turning it on
// (bench/serve_bench.sh). Requests are encoded on their own thread first, so one request's bad
// row never fails another's. Thread-safe; the queue has one mutex (only when batching is on).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "serve/servable.h"

namespace parasol {

struct BatchingOptions {
  int max_batch_size = 0;  // rows per batch; 0 turns batching off
  int64_t batch_timeout_micros = 1000;
  int num_batch_threads = 1;
};

class Batcher {
 public:
  explicit Batcher(BatchingOptions options);
  ~Batcher();  // finishes queued requests, then joins the batch threads

  // Probabilities of `block`'s examples, scored with `servable` (possibly with other requests'
  // rows). A block of max_batch_size rows or more is scored at once on the caller's thread.
  std::vector<float> Score(const std::shared_ptr<const Servable>& servable,
                           const ExampleBlock& block);

  uint64_t batches() const { return batches_.load(std::memory_order_relaxed); }
  uint64_t batched_rows() const { return rows_.load(std::memory_order_relaxed); }
  const BatchingOptions& options() const { return options_; }

 private:
  struct Task {
    const Servable* servable;
    const ExampleBlock* block;
    std::vector<float>* probs;
    std::chrono::steady_clock::time_point queued;
    bool done = false;
  };
  void Loop();

  const BatchingOptions options_;
  std::mutex mu_;
  std::condition_variable work_cv_, done_cv_;
  std::deque<Task*> queue_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
  std::atomic<uint64_t> batches_{0}, rows_{0};
};

// Encodes `rows` on the calling thread and scores them, through `batcher` when it is not null.
absl::StatusOr<std::vector<float>> PredictRows(const std::shared_ptr<const Servable>& servable,
                                               absl::Span<const RawInstance> rows,
                                               Batcher* batcher);

}  // namespace parasol
