#include "train/progress.h"

#include <cmath>

#include "absl/strings/str_format.h"
#include "common/log.h"

namespace parasol {
namespace {

std::string FormatDuration(double seconds) {
  if (!(seconds >= 0) || std::isinf(seconds)) return "?";
  const int s = static_cast<int>(seconds + 0.5);
  if (s >= 3600) return absl::StrFormat("%dh%02dm", s / 3600, (s / 60) % 60);
  if (s >= 60) return absl::StrFormat("%dm%02ds", s / 60, s % 60);
  if (seconds < 10) return absl::StrFormat("%.2fs", seconds);
  return absl::StrFormat("%ds", s);
}

std::string FormatRate(double per_second) {
  if (per_second >= 1e6) return absl::StrFormat("%.2fM", per_second / 1e6);
  if (per_second >= 1e3) return absl::StrFormat("%.1fK", per_second / 1e3);
  return absl::StrFormat("%.0f", per_second);
}

std::string JsonNumber(double v) {
  if (!std::isfinite(v)) return "null";
  return absl::StrFormat("%.6g", v);
}

}  // namespace

std::string EpochMetricsLine(const EpochMetrics& m) {
  std::string line = absl::StrFormat(
      R"({"event": "epoch", "epoch": %d, "step": %d, "examples": %d, "loss": %s, )"
      R"("examples_per_sec": %s, "seconds": %s)",
      m.epoch, m.step, m.examples, JsonNumber(m.examples ? m.loss : NAN),
      JsonNumber(m.seconds > 0 ? m.examples / m.seconds : 0), JsonNumber(m.seconds));
  if (m.valid_auc) line += absl::StrFormat(R"(, "valid_auc": %s)", JsonNumber(*m.valid_auc));
  if (m.valid_logloss) {
    line += absl::StrFormat(R"(, "valid_logloss": %s)", JsonNumber(*m.valid_logloss));
  }
  return line + "}";
}

bool AppendMetricsLine(const std::string& path, const std::string& line) {
  std::FILE* f = std::fopen(path.c_str(), "a");
  if (f == nullptr) return false;
  const bool ok = std::fprintf(f, "%s\n", line.c_str()) > 0;
  return std::fclose(f) == 0 && ok;
}

Progress::Progress(const std::string& metrics_path, bool interactive, std::string report_path)
    : interactive_(interactive), report_path_(std::move(report_path)) {
  if (!metrics_path.empty()) metrics_ = std::fopen(metrics_path.c_str(), "w");
  thread_ = std::thread([this] { Loop(); });
}

Progress::~Progress() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  if (metrics_ != nullptr) std::fclose(metrics_);
}

void Progress::BeginEpoch(int epoch, int epochs, uint64_t expected_examples) {
  std::lock_guard<std::mutex> lock(mu_);
  epoch_ = epoch;
  epochs_ = epochs;
  expected_ = expected_examples != 0 ? expected_examples : examples_per_epoch_;
  epoch_examples_ = 0;
  epoch_loss_sum_ = 0;
  logged_examples_ = 0;
  logged_loss_sum_ = 0;
  epoch_start_ = last_line_ = std::chrono::steady_clock::now();
  in_epoch_ = true;
}

void Progress::SetInputFraction(std::function<double()> fraction) {
  std::lock_guard<std::mutex> lock(mu_);
  input_fraction_ = std::move(fraction);
}

void Progress::Add(uint64_t examples, double loss_sum) {
  epoch_examples_.fetch_add(examples, std::memory_order_relaxed);
  total_examples_.fetch_add(examples, std::memory_order_relaxed);
  double old = epoch_loss_sum_.load(std::memory_order_relaxed);
  while (!epoch_loss_sum_.compare_exchange_weak(old, old + loss_sum, std::memory_order_relaxed)) {
  }
}

double Progress::epoch_loss() const {
  const uint64_t n = epoch_examples_.load();
  return n == 0 ? 0 : epoch_loss_sum_.load() / n;
}

void Progress::EndEpoch(std::optional<double> valid_auc, std::optional<double> valid_logloss) {
  std::lock_guard<std::mutex> lock(mu_);
  in_epoch_ = false;
  const uint64_t n = epoch_examples_.load();
  if (examples_per_epoch_ == 0) examples_per_epoch_ = n;
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start_).count();
  WriteMetricsLine(EpochMetricsLine({.epoch = epoch_,
                                     .step = total_examples_.load(),
                                     .examples = n,
                                     .loss = n ? epoch_loss_sum_.load() / n : 0,
                                     .seconds = seconds,
                                     .valid_auc = valid_auc,
                                     .valid_logloss = valid_logloss}));
  std::string summary =
      absl::StrFormat("epoch %d/%d: %d examples in %s (%s/s), loss %.5f", epoch_, epochs_, n,
                      FormatDuration(seconds), FormatRate(seconds > 0 ? n / seconds : 0),
                      n ? epoch_loss_sum_.load() / n : 0.0);
  if (valid_auc) summary += absl::StrFormat(", valid auc %.5f", *valid_auc);
  if (valid_logloss) summary += absl::StrFormat(" logloss %.5f", *valid_logloss);
  // About ten epoch lines per run: the first, the last, every tenth of the run, and any after
  // five quiet seconds. The metrics log has every epoch.
  const int every = std::max(1, (epochs_ + 9) / 10);
  const auto now = std::chrono::steady_clock::now();
  if (epoch_ == 1 || epoch_ == epochs_ || epoch_ % every == 0 ||
      std::chrono::duration<double>(now - last_epoch_line_).count() >= 5) {
    last_epoch_line_ = now;
    log::Info("{}", summary);
  } else if (interactive_) {
    log::ClearTransient();
  }
}

void Progress::Log(const std::string& message) {
  std::lock_guard<std::mutex> lock(mu_);
  log::Info("{}", message);
  if (interactive_ && in_epoch_) Render();
}

void Progress::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, std::chrono::milliseconds(interactive_ ? 250 : 1000));
    if (stop_ || !in_epoch_) continue;
    Render();
  }
}

// REQUIRES: mu_ held.
void Progress::Render() {
  const auto now = std::chrono::steady_clock::now();
  const double elapsed = std::chrono::duration<double>(now - epoch_start_).count();
  const uint64_t n = epoch_examples_.load();
  const double loss_sum = epoch_loss_sum_.load();
  const double rate = elapsed > 0 ? n / elapsed : 0;
  const double loss = n ? loss_sum / n : 0;
  // ETA covers the rest of this epoch and the epochs after it. Without a known example count
  // (a first pass over a stream) the share of input read stands in for progress.
  double fraction = expected_ ? std::min(1.0, static_cast<double>(n) / expected_) : -1;
  if (expected_ == 0 && input_fraction_) fraction = input_fraction_();
  double eta = NAN;
  if (fraction > 0.01 && elapsed > 0) {
    const double epoch_seconds = elapsed / fraction;
    eta = epoch_seconds * (1 - fraction) + epoch_seconds * (epochs_ - epoch_);
  }
  // Every 10 s: a metrics line with the loss since the previous one (and a log line when stderr
  // is not a terminal).
  if (std::chrono::duration<double>(now - last_line_).count() >= 10) {
    last_line_ = now;
    const uint64_t dn = n - logged_examples_;
    const double dloss = dn ? (loss_sum - logged_loss_sum_) / dn : NAN;
    logged_examples_ = n;
    logged_loss_sum_ = loss_sum;
    WriteMetricsLine(absl::StrFormat(
        R"({"event": "progress", "epoch": %d, "step": %d, "examples": %d, "loss": %s, )"
        R"("examples_per_sec": %s})",
        epoch_, total_examples_.load(), n, JsonNumber(dloss), JsonNumber(rate)));
    if (!interactive_) {
      log::Info("epoch {}/{}: {} examples, {} ex/s, loss {:.5f}, ETA {}", epoch_, epochs_, n,
                FormatRate(rate), loss, FormatDuration(eta));
    }
  }
  if (interactive_) {
    const int width = 24, filled = fraction > 0 ? static_cast<int>(fraction * width) : 0;
    log::Transient(absl::StrFormat(
        "epoch %d/%d [%s%s] %s ex, %s ex/s, loss %.5f, ETA %s", epoch_, epochs_,
        std::string(filled, '#'), std::string(width - filled, fraction >= 0 ? '.' : '?'),
        FormatRate(static_cast<double>(n)), FormatRate(rate), loss, FormatDuration(eta)));
  }
}

// REQUIRES: mu_ held.
void Progress::WriteMetricsLine(const std::string& json) {
  if (!report_path_.empty() && !AppendMetricsLine(report_path_, json)) {
    log::Warn("cannot append to the metrics log {}", report_path_);
  }
  if (metrics_ == nullptr) return;
  std::fprintf(metrics_, "%s\n", json.c_str());
  std::fflush(metrics_);
}

}  // namespace parasol
