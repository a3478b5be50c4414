// Distributed training on parameter servers: a worker trains on its share of the data (example
// i belongs to worker i mod num_workers) in mini-batches — pull the batch's rows, compute the
// summed per-key gradients (minibatch.h, as the local trainer with the same batch_size), push —
// and the launcher collects the servers' rows into a model directory. With one worker this
// reproduces `parasol train --batch-size B --threads 1` exactly (tested).
// Functions here are re-entrant.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "predict/input_spec.h"
#include "ps/transport.h"
#include "train/train_config.h"
#include "train/training_input.h"

namespace parasol {

struct WorkerOptions {
  TrainConfig train;  // data, model, optimizer, epochs, batch_size (out_dir unused)
  int worker_index = 0;
  int num_workers = 1;
  // A restarted worker: skip the batches server 0 records as finished by this worker (its
  // clock), resuming its share where it stopped. The batch in flight when it died may be
  // applied twice (at-least-once).
  bool resume = false;
  // Non-empty: one metrics line per epoch (train/progress.h's EpochMetricsLine: step = examples
  // of this worker's share so far, loss, examples/s) is appended here. Worker 0 with
  // train.valid_path adds valid_auc and valid_logloss of the servers' model at the epoch's end,
  // once every worker finished the epoch (with validation the workers move from epoch to epoch
  // together, and stop together when worker 0's early stopping says so).
  std::string metrics_path;
  // Called after each clock the worker records on server 0 (every batch for BSP/SSP, every
  // kAspClockEvery-th for ASP) with the batches finished so far: a checkpoint schedule, or a
  // test that stops the worker there. A non-OK status stops the worker with that status.
  std::function<absl::Status(int64_t clock)> after_clock;
  // Worker 0 of a job with train.valid_path: called at the end of every epoch whose validation
  // logloss is the best so far, while every worker waits at the epoch's end (the servers hold
  // exactly that epoch's model): where the chief writes the model, so that the model written
  // is the best epoch's, as `parasol train` keeps it.
  std::function<absl::Status(int epoch)> on_best;
};

// ASP workers record their clock on server 0 every this many batches (BSP/SSP: every batch), so
// a restarted ASP worker redoes at most this many batches.
inline constexpr int kAspClockEvery = 16;

struct WorkerSummary {
  uint64_t examples = 0;      // trained on by this worker, over all epochs
  int64_t resumed_after = 0;  // batches skipped because an earlier run of this worker did them
  double loss = 0;            // mean logistic loss of the last epoch
  std::optional<double> valid_auc, valid_logloss;  // worker 0 with validation: the last epoch's
  int best_epoch = 0;     // worker 0 with validation: the epoch with the lowest logloss
  int stopped_after = 0;  // with validation: the epoch after which early stopping ended the job
};

// `input` and `spec` come from PrepareTrainingInput and ResolveModelSpec on options.train (the
// caller keeps them, e.g. to write the model afterwards). `transport` reaches the servers.
absl::StatusOr<WorkerSummary> RunWorker(const WorkerOptions& options, const InputSpec& input,
                                        const ModelSpec& spec, PsTransport& transport);

// A worker process's whole job: RunWorker, and for worker 0 — the job's chief — the model
// written to train.out_dir (when set): with validation at the end of every epoch that is the best
// so far (every worker waits there, so the model written is the best epoch's), otherwise once
// every worker has finished. `checkpoint_now` (when set) takes a last checkpoint first, and for
// worker 0 of a job that writes no model at the end; `on_written(epoch)` reports each model
// written (epoch 0: the final model of a job without validation).
absl::StatusOr<WorkerSummary> RunWorkerJob(WorkerOptions options, const InputSpec& input,
                                           const ModelSpec& spec, PsTransport& transport,
                                           const std::function<void()>& checkpoint_now,
                                           const std::function<void(int epoch)>& on_written);

// Blocks until server 0 records every one of `num_workers` workers as finished (the chief worker
// of a multi-host job waits here before writing the model); DeadlineExceeded after `timeout`.
absl::Status WaitForWorkers(PsTransport& transport, int num_workers, double timeout_seconds);

// After all workers finished: reads every server's rows and writes config.out_dir as
// `parasol train` would. `input` and `spec` are what the job trained with (from
// PrepareTrainingInput and ResolveModelSpec).
absl::Status WriteModelFromServers(const TrainConfig& config, const InputSpec& input,
                                   const ModelSpec& spec, PsTransport& transport, double seconds,
                                   int best_epoch = 0);

}  // namespace parasol
