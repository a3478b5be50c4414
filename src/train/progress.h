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

class Progress {
 public:
  // `metrics_path` empty: no metrics log. `interactive`: draw a bar (else log lines).
  Progress(const std::string& metrics_path, bool interactive);
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
