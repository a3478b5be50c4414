// Settings of a training run: a model config file (YAML) merged with command-line flags, flags
// winning. Plain data; not shared between threads while being modified.
//
// Model config keys (all optional):
//   model: lr|fm|ffm|perceptron|dnn|wide_deep|deepfm|dcn
//   k: 8          fields: N (FFM and deep models on libsvm; else from the schema)
//   optimizer: sgd|adagrad|ftrl|adam   lr: 0.05   l1: 0   l2: 0   (deep models: adam, 0.001 —
//     for the embeddings and linear weights, the sparse rows)
//   deep models: embedding_dim: 16   hidden: [400, 400, 400]   dropout: 0   pooling: sum|mean
//     cross_layers: 3 (dcn)   dcn_structure: parallel|stacked
//     dense_optimizer: adam|adagrad|sgd   dense_lr: 0.001   (the dense layers)
//   ftrl_beta: 1   adam_beta1: 0.9   adam_beta2: 0.999   epsilon: 1e-8   init_scale: 0.01
//   epochs: auto (0; see TrainConfig::epochs)   threads: 0 (all cores)   seed: 1   early_stopping:
//   2 (patience; 0 = off) batch_size: 1, deep models 256 (examples per optimizer step) consistency:
//   bsp|ssp:S|asp (distributed) format: libsvm|csv|criteo   schema: FILE (relative to the config
//   file) hash_bits: 0 max_bad_lines: 0   memory_limit_mb: 4096 (parsed data kept in memory between
//   epochs) transforms: [...]  (see transform/feature_pipeline.h)
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "data/reader.h"
#include "model/model.h"
#include "optim/optimizer.h"

namespace parasol {

struct TrainConfig {
  std::string train_path;
  std::string valid_path;  // empty: no validation
  std::string out_dir;
  std::string cache_path;  // empty: no binary cache
  DataFormat format = DataFormat::kLibsvm;
  std::string schema_path;  // CSV only
  int hash_bits = 0;
  int64_t max_bad_lines = 0;

  ModelSpec model;
  OptimizerConfig optimizer{.name = ""};        // empty name: resolved_optimizer() picks
  OptimizerConfig dense_optimizer{.name = ""};  // deep models' dense layers; empty: adam
  // Passes over the training data; 0 = auto: passes until the training loss improves by less
  // than kAutoEpochsMinGain (relative) from one to the next, at most kMaxAutoEpochs, and only
  // while the parsed data is kept in memory or a cache (else one pass); with validation, early
  // stopping decides instead (up to kMaxAutoEpochs). Distributed: one pass, or with validation
  // up to kMaxAutoEpochs with early stopping.
  int epochs = 0;
  int threads = 0;         // 0 = hardware concurrency
  int early_stopping = 2;  // epochs without validation improvement before stopping; 0 = off
  // 1: an optimizer step per example (Hogwild). B > 1: gradients of B examples are summed per
  // key and applied once per batch, as the distributed trainer does. 0: the model's default
  // (resolved_batch_size()).
  int batch_size = 0;
  // Distributed training only: how far a worker may run ahead of the slowest, in batches.
  // 0 = BSP (the default), S = SSP with staleness S, kAsp = ASP (no clocks).
  int64_t staleness = 0;
  int64_t memory_limit_mb = 4096;

  std::string config_text;    // the model config as given (transforms are read from it)
  std::string config_origin;  // its path, for messages

  int resolved_threads() const;
  // batch_size, or the model's default when 0: 1 for the sparse models, 256 for deep ones.
  int resolved_batch_size() const;
  // Text handed to a parser at a time when reading training data: a batch never spans two
  // parsed blocks, so deep models' blocks are sized to hold many batches (4 KiB of text per
  // example of a batch, at least the reader's default 1 MiB). The local trainer and the
  // distributed workers read with the same size, so one worker reproduces a local run.
  size_t training_chunk_bytes() const;
  // The optimizer to use: as configured, or the model's default when none was named
  // (averaged SGD for the perceptron, Adam for deep models, AdaGrad otherwise).
  OptimizerConfig resolved_optimizer() const;
  // The deep models' dense-layer optimizer: as configured, else Adam.
  OptimizerConfig resolved_dense_optimizer() const;
};

inline constexpr int64_t kAsp = -1;
inline constexpr int kMaxAutoEpochs = 20;
inline constexpr double kAutoEpochsMinGain = 0.01;
// Deep models train on mini-batches of this many examples unless told otherwise.
inline constexpr int kDefaultDeepBatch = 256;

// "bsp" → 0, "ssp:S" → S (S >= 0), "asp" → kAsp; InvalidArgument naming the value otherwise.
absl::StatusOr<int64_t> ParseConsistency(const std::string& text);

// Applies the keys of a model config YAML to *config. Unknown keys, wrong types and bad values
// are InvalidArgument naming `origin` and the key.
absl::Status ApplyConfigYaml(const std::string& text, const std::string& origin,
                             TrainConfig* config);

// Checks the merged settings (files named, ranges) before anything runs.
absl::Status ValidateTrainConfig(const TrainConfig& config);

}  // namespace parasol
