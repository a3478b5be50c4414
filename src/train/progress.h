// Training progress for people and programs: a live bar on a terminal (examples/s, loss, ETA),
// plain log lines when stderr is not a terminal, and a JSON-lines metrics log in the output
// directory. Counters are atomics updated by learner threads; one background thread renders.
// Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace parasol {

// One line of the metrics log, as `parasol train` writes it per epoch and distributed workers
// per epoch of their share (and as the control plane reads it, control/metrics_log.h):
// {"event": "epoch", "epoch": E, "step": S, "examples": N, "loss": L, "examples_per_sec": R,
//  "seconds": T[, "valid_auc": A, "valid_logloss": G]} — `step` counts examples trained so far.
struct EpochMetrics {
  int epoch = 0;
  uint64_t step = 0;
  uint64_t examples = 0;  // in this epoch
  double loss = 0;        // mean over the epoch's examples
  double seconds = 0;     // the epoch's
  std::optional<double> valid_auc, valid_logloss;
};
std::string EpochMetricsLine(const EpochMetrics& m);

// Appends `line` and a newline to `path` (created if absent), opened for this line only, so
// several runs of a restarted process add to one log; false when it cannot be written.
bool AppendMetricsLine(const std::string& path, const std::string& line);

// The environment variable through which the control plane names the file a replica appends its
// metrics lines to (control/metrics_log.h).
inline constexpr char kMetricsFileEnv[] = "PARASOL_METRICS_FILE";

class Progress {
 public:
  // `metrics_path` empty: no metrics log (rewritten from the start). `interactive`: draw a bar
  // (else log lines). `report_path` non-empty: every metrics line is also appended there.
  Progress(const std::string& metrics_path, bool interactive, std::string report_path = "");
  ~Progress();

  // Starts an epoch; `expected_examples` 0 when unknown (first pass over a stream).
  void BeginEpoch(int epoch, int epochs, uint64_t expected_examples);
  // While set, the share of the epoch's input read so far (in [0, 1], or < 0 when unknown): it
  // drives the bar and the ETA when the epoch's example count is not known yet. Pass nullptr
  // to clear before the source goes away.
  void SetInputFraction(std::function<double()> fraction);
  // Called by learners after each block.
  void Add(uint64_t examples, double loss_sum);
  // Ends the epoch and writes its metrics line; validation values when there was a validation.
  void EndEpoch(std::optional<double> valid_auc, std::optional<double> valid_logloss);
  // A free-form message, printed without breaking the bar.
  void Log(const std::string& message);

  uint64_t total_examples() const { return total_examples_.load(); }
  double epoch_loss() const;

 private:
  void Loop();
  void Render();  // REQUIRES: mu_ held
  void WriteMetricsLine(const std::string& json);

  const bool interactive_;
  const std::string report_path_;
  std::FILE* metrics_ = nullptr;
  std::mutex mu_;  // guards rendering, the metrics file and the epoch fields below
  std::condition_variable cv_;
  bool stop_ = false;
  bool in_epoch_ = false;
  int epoch_ = 0, epochs_ = 0;
  uint64_t expected_ = 0;
  std::function<double()> input_fraction_;
  uint64_t examples_per_epoch_ = 0;  // learned from the first epoch, for later ETAs
  std::chrono::steady_clock::time_point epoch_start_, last_line_, last_epoch_line_;
  std::atomic<uint64_t> epoch_examples_{0};
  std::atomic<uint64_t> total_examples_{0};
  std::atomic<double> epoch_loss_sum_{0};
  uint64_t logged_examples_ = 0;
  double logged_loss_sum_ = 0;
  std::thread thread_;
};

}  // namespace parasol
