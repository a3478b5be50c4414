// Mini-batch training of the deep models on several threads (data parallel). Each batch is split
// into one slice per thread; every thread computes its slice's forward and backward pass at the
// same weights — the dense layers and rows as they stood before the batch — then the dense
// gradients are summed and the dense layers take one optimizer step, and every row the batch
// touched takes one step with its gradient summed over the batch (minibatch.h's semantics, so
// the parameter server's workers can reproduce it). All of it is synchronous per batch: nothing
// is Hogwild, the result does not depend on thread timing, and a run is reproducible bit for bit
// for a given seed and thread count (--threads 1 is the reference). What runs concurrently with
// a learner: the reader threads that parse the next blocks.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "data/example.h"
#include "model/model.h"
#include "model/sparse_table.h"
#include "optim/optimizer.h"
#include "train/minibatch.h"

namespace parasol {

// The dense layers being trained: weights, then their optimizer state (interleaved per weight).
struct DenseState {
  std::vector<float> weights;
  std::vector<float> state;
  uint64_t steps = 0;  // optimizer steps taken (batches)
};

// The seed of a batch's dropout masks: a function of the run's seed, the batch's number (batches
// since training began, over all epochs) and the slice (thread) computing it. A distributed
// worker numbers its batches so that one worker reproduces the single-machine run.
uint64_t DropoutSeed(uint64_t seed, uint64_t batch, int slice);

// One slice of a deep model's batch: its forward and backward pass, then its row gradients,
// bias gradient and loss added to a MiniBatchAccumulator. DeepLearner's threads and the
// distributed worker both compute through this, which is how one worker reproduces a local run.
struct DeepSlice {
  BatchScratch scratch;
  std::vector<float> scores, row_grads, dense_grads;
  float bias_grad = 0;
  BatchInput in;

  // Computes examples [in.begin, in.end) (none: an empty slice); dense_grads is sized to the
  // model and holds the slice's gradient alone.
  void Compute(const Model& model, const BatchInput& in);
  // Adds the slice's gradients and loss to *batch (with `rows`, the slice's features' table
  // rows: see MiniBatchAccumulator::AddGradients); returns the slice's summed logistic loss.
  double AddTo(MiniBatchAccumulator* batch, float* const* rows = nullptr) const;
};

class DeepLearner {
 public:
  DeepLearner(const Model& model, const Optimizer& sparse, const Optimizer& dense_optimizer,
              SparseTable& table, float* bias_row, DenseState& dense, int threads, int batch_size,
              uint64_t seed);
  ~DeepLearner();
  DeepLearner(const DeepLearner&) = delete;
  DeepLearner& operator=(const DeepLearner&) = delete;

  // Trains on every example of `block`, in batches of batch_size; returns the summed logistic
  // loss (progressive: each example scored before its batch's update). `rows`, when not null,
  // caches the block's row pointers across epochs (rows never move): filled when *resolved is
  // false, then used.
  double Train(const ExampleBlock& block, std::vector<float*>* rows, bool* resolved);

 private:
  // Runs fn(t) for t in [0, threads) on the team (t = 0 on the caller) and waits for all.
  void Parallel(const std::function<void(int)>& fn);
  void TeamLoop(int t);
  double TrainBatch(const ExampleBlock& block, size_t begin, size_t end, float* const* rows);

  const Model& model_;
  const Optimizer& sparse_;
  const Optimizer& dense_optimizer_;
  SparseTable& table_;
  float* const bias_row_;
  DenseState& dense_;
  const int threads_;
  const int batch_size_;
  const uint64_t seed_;
  const int dim_;

  std::vector<DeepSlice> slices_;
  MiniBatchAccumulator merged_;
  std::vector<float> bias_grads_;

  // The team: threads 1..threads-1 wait for a new generation, run job_, and count down.
  std::vector<std::thread> team_;
  std::mutex mu_;
  std::condition_variable start_, done_;
  const std::function<void(int)>* job_ = nullptr;
  uint64_t generation_ = 0;
  int pending_ = 0;
  bool stop_ = false;
};

}  // namespace parasol
