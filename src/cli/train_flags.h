// Training flags shared by `parasol train`, `parasol ps worker` and `parasol cluster`: the
// options, and their merge over a model config file (flags win). Not thread-safe (CLI parsing).
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "absl/status/statusor.h"
#include "train/train_config.h"

namespace parasol {

struct TrainFlags {
  TrainConfig config;
  std::string config_path, model, optimizer, format, consistency;
  CLI::Option *lr, *l1, *l2, *k, *epochs, *threads, *seed, *hash_bits, *max_bad, *early, *schema,
      *batch;
};

// Adds the training options to `cmd`; --out is required when `out_required`.
void AddTrainOptions(CLI::App* cmd, TrainFlags& flags, bool out_required);

// The config file (if any) with the given flags applied over it, validated (--out only when
// `out_required`). Every error is a usage error (naming the flag, key or file).
absl::StatusOr<TrainConfig> ResolveTrainConfig(const TrainFlags& flags, bool out_required);

}  // namespace parasol
