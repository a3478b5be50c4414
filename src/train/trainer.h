// The single-machine trainer: reads training data (text or binary cache) on reader threads and
// trains on `threads` learner threads that update one shared SparseTable (Hogwild-style), for a
// number of epochs, validating after each one with early stopping, and writes the model
// directory. With threads = 1 and a fixed seed the result is exactly reproducible.
// Train() is re-entrant: separate calls share nothing.
// Validation scores the live weights. For the averaged perceptron the written model holds the
// averaged weights instead, so its scores differ from the validation figures (for every other
// model they are identical).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "train/train_config.h"

namespace parasol {

struct TrainSummary {
  uint64_t examples = 0;  // examples trained on, over all epochs
  int epochs_run = 0;
  int best_epoch = 0;                              // the epoch whose model was written
  double train_loss = 0;                           // progressive logistic loss of the last epoch
  std::optional<double> valid_auc, valid_logloss;  // of the best epoch
  double seconds = 0;
  uint64_t features = 0;  // rows in the table, bias excluded
  std::string bad_lines;  // summary of skipped lines, empty when none
};

// Runs training as configured. `interactive` draws a progress bar on stderr (else log lines).
// `report_path` non-empty: each epoch's metrics line (OUT/metrics.jsonl) is also appended there
// (the control plane's $PARASOL_METRICS_FILE).
absl::StatusOr<TrainSummary> Train(const TrainConfig& config, bool interactive,
                                   const std::string& report_path = "");

}  // namespace parasol
