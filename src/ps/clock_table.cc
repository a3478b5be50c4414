#include "ps/clock_table.h"

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"

namespace parasol {

absl::Status ClockTable::Join(int worker, int num_workers) {
  if (num_workers < 1 || worker < 0 || worker >= num_workers) {
    return absl::InvalidArgumentError(
        absl::StrCat("worker ", worker, " is not in [0, ", num_workers, ")"));
  }
  if (clocks_.empty()) clocks_.assign(num_workers, 0);
  if (static_cast<int>(clocks_.size()) != num_workers) {
    return absl::InvalidArgumentError(absl::StrCat("worker ", worker, " says there are ",
                                                   num_workers, " workers, others said ",
                                                   clocks_.size()));
  }
  return absl::OkStatus();
}

int64_t ClockTable::SlowestLocked() const {
  return *std::min_element(clocks_.begin(), clocks_.end());
}

absl::Status ClockTable::Advance(int worker, int num_workers, int64_t clock, int64_t staleness,
                                 std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  if (absl::Status st = Join(worker, num_workers); !st.ok()) return st;
  clocks_[worker] = std::max(clocks_[worker], clock);
  cv_.notify_all();
  if (staleness < 0) return absl::OkStatus();  // ASP: progress is recorded, nobody waits
  if (!cv_.wait_for(lock, timeout, [&] { return SlowestLocked() >= clock - staleness; })) {
    return absl::DeadlineExceededError(absl::StrCat(
        "worker ", worker, " waited ", timeout.count(), " ms at clock ", clock,
        " for the slowest worker (clock ", SlowestLocked(), ", staleness ", staleness, ")"));
  }
  return absl::OkStatus();
}

absl::Status ClockTable::Finish(int worker, int num_workers) {
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status st = Join(worker, num_workers); !st.ok()) return st;
  clocks_[worker] = std::numeric_limits<int64_t>::max();
  cv_.notify_all();
  return absl::OkStatus();
}

absl::Status ClockTable::ReachEpoch(int worker, int num_workers, int64_t epoch,
                                    std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  if (absl::Status st = Join(worker, num_workers); !st.ok()) return st;
  if (epochs_.size() != clocks_.size()) epochs_.assign(clocks_.size(), 0);
  epochs_[worker] = std::max(epochs_[worker], epoch);
  cv_.notify_all();
  auto all_there = [&] {
    for (size_t w = 0; w < epochs_.size(); ++w) {
      if (epochs_[w] < epoch && clocks_[w] != std::numeric_limits<int64_t>::max()) return false;
    }
    return true;
  };
  if (!cv_.wait_for(lock, timeout, all_there)) {
    return absl::DeadlineExceededError(absl::StrCat("worker ", worker, " waited ", timeout.count(),
                                                    " ms for every worker to finish epoch ",
                                                    epoch));
  }
  return absl::OkStatus();
}

void ClockTable::Decide(int64_t epoch, bool stop) {
  std::lock_guard<std::mutex> lock(mu_);
  decisions_[epoch] = stop;
  cv_.notify_all();
}

absl::StatusOr<bool> ClockTable::AwaitDecision(int64_t epoch, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!cv_.wait_for(lock, timeout, [&] { return decisions_.count(epoch) > 0; })) {
    return absl::DeadlineExceededError(
        absl::StrCat("waited ", timeout.count(), " ms for worker 0's validation of epoch ", epoch));
  }
  return decisions_[epoch];
}

std::vector<int64_t> ClockTable::Snapshot() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<int64_t> out = clocks_;
  for (int64_t& c : out) {
    if (c == std::numeric_limits<int64_t>::max()) c = -1;
  }
  return out;
}

void ClockTable::Restore(const std::vector<int64_t>& clocks) {
  std::lock_guard<std::mutex> lock(mu_);
  clocks_ = clocks;
  for (int64_t& c : clocks_) {
    if (c < 0) c = std::numeric_limits<int64_t>::max();
  }
  cv_.notify_all();
}

}  // namespace parasol
