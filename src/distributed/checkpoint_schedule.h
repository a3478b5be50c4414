// Checkpoints of a running distributed job on a schedule: every N seconds of wall time or every N
// worker batches (all workers together, as server 0 records them). Worker 0 of every distributed
// job drives it (`parasol ps worker --checkpoint-every`), whether `parasol cluster` or the control
// plane's `kind: train` runs the job.
// Thread-compatible: one caller drives it.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "ps/checkpoint.h"
#include "ps/transport.h"

namespace parasol {

struct CheckpointSchedule {
  double seconds = 0;  // every this many seconds of wall time; 0: not by time
  int64_t steps = 0;   // every this many worker batches; 0: not by batches
  bool enabled() const { return seconds > 0 || steps > 0; }
};

// "30s" → every 30 seconds, "500" → every 500 worker batches, "" → never. InvalidArgument naming
// `flag` otherwise.
absl::StatusOr<CheckpointSchedule> ParseCheckpointSchedule(const std::string& text,
                                                           const std::string& flag);

class ScheduledCheckpoints {
 public:
  // `coordinator` writes the checkpoints; `transport` (not owned) reads server 0's worker clocks
  // for a batch schedule. `who` prefixes the log lines ("worker 0").
  ScheduledCheckpoints(CheckpointSchedule schedule,
                       std::unique_ptr<CheckpointCoordinator> coordinator, PsTransport* transport,
                       std::string who);

  // Takes a checkpoint when one is due. Call it often (it reads clocks at most every 200 ms).
  void Tick();
  // Takes one now (e.g. at the end of the job). A failure is logged and leaves the latest whole
  // checkpoint as it was: the job goes on. Returns whether it succeeded.
  bool TakeNow();

 private:
  const CheckpointSchedule schedule_;
  std::unique_ptr<CheckpointCoordinator> coordinator_;
  PsTransport* const transport_;
  const std::string who_;
  std::chrono::steady_clock::time_point next_checkpoint_, next_poll_;
  std::vector<int64_t> batches_seen_;
  int64_t batches_at_checkpoint_ = 0;
};

}  // namespace parasol
