#include "distributed/checkpoint_schedule.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace parasol {
namespace {

std::chrono::steady_clock::duration Seconds(double s) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(s));
}

}  // namespace

absl::StatusOr<CheckpointSchedule> ParseCheckpointSchedule(const std::string& text,
                                                           const std::string& flag) {
  CheckpointSchedule schedule;
  if (text.empty()) return schedule;
  const bool in_seconds = text.back() == 's';
  const std::string number = in_seconds ? text.substr(0, text.size() - 1) : text;
  bool ok;
  if (in_seconds) {
    ok = absl::SimpleAtod(number, &schedule.seconds) && schedule.seconds > 0;
  } else {
    ok = absl::SimpleAtoi(number, &schedule.steps) && schedule.steps > 0;
  }
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": '", text, "' is neither seconds ('30s') nor batches ('500')"));
  }
  return schedule;
}

ScheduledCheckpoints::ScheduledCheckpoints(CheckpointSchedule schedule,
                                           std::unique_ptr<CheckpointCoordinator> coordinator,
                                           PsTransport* transport, std::string who)
    : schedule_(schedule),
      coordinator_(std::move(coordinator)),
      transport_(transport),
      who_(std::move(who)),
      next_checkpoint_(std::chrono::steady_clock::now() + Seconds(schedule.seconds)),
      next_poll_(std::chrono::steady_clock::now()) {}

void ScheduledCheckpoints::Tick() {
  const auto now = std::chrono::steady_clock::now();
  if (schedule_.seconds > 0 && now >= next_checkpoint_) {
    TakeNow();
    next_checkpoint_ = now + Seconds(schedule_.seconds);
  }
  if (schedule_.steps > 0 && now >= next_poll_) {
    next_poll_ = now + std::chrono::milliseconds(200);
    auto clocks = WorkerClocks(*transport_);
    if (!clocks.ok()) return;
    if (batches_seen_.size() < clocks->size()) batches_seen_.resize(clocks->size(), 0);
    int64_t total = 0;
    for (size_t w = 0; w < clocks->size(); ++w) {
      batches_seen_[w] = std::max(batches_seen_[w], (*clocks)[w]);  // -1 (finished) keeps the last
      total += batches_seen_[w];
    }
    if (total - batches_at_checkpoint_ >= schedule_.steps && TakeNow()) {
      batches_at_checkpoint_ = total;
    }
  }
}

bool ScheduledCheckpoints::TakeNow() {
  auto dir = coordinator_->Take();
  if (dir.ok()) {
    log::Info("{}: checkpoint {}", who_, *dir);
  } else {  // the job goes on; the latest whole checkpoint stays what it was
    log::Warn("{}: checkpoint failed: {}", who_, dir.status().ToString());
  }
  return dir.ok();
}

}  // namespace parasol
