// Worker clocks for bounded-staleness consistency (SSP; BSP is staleness 0; ASP, any negative
// staleness, records clocks without waiting).
// After finishing its batch c, a worker calls Advance(w, c), which returns once every other
// unfinished worker has finished batch c - staleness, so no worker runs more than `staleness`
// batches ahead of the slowest. Finish(w) takes a worker out (its shard is done).
// Thread-safe; Advance blocks the calling thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace parasol {

class ClockTable {
 public:
  // InvalidArgument when the worker count or index is out of range or differs from an earlier
  // call; DeadlineExceeded when the wait exceeds `timeout` (a stuck or dead peer).
  absl::Status Advance(int worker, int num_workers, int64_t clock, int64_t staleness,
                       std::chrono::milliseconds timeout);
  absl::Status Finish(int worker, int num_workers);

  // Epoch coordination (distributed validation and early stopping). ReachEpoch records that
  // `worker` finished epoch `epoch` and returns once every unfinished worker has (so worker 0
  // validates every update of the epoch); Decide posts whether training stops after `epoch`;
  // AwaitDecision returns that decision once posted. DeadlineExceeded after `timeout`.
  absl::Status ReachEpoch(int worker, int num_workers, int64_t epoch,
                          std::chrono::milliseconds timeout);
  void Decide(int64_t epoch, bool stop);
  absl::StatusOr<bool> AwaitDecision(int64_t epoch, std::chrono::milliseconds timeout);

  // Batches finished per worker (-1: finished; empty before any worker called), for checkpoints
  // and for a restarted worker to find where it stopped.
  std::vector<int64_t> Snapshot();
  // Takes clocks from a checkpoint (Snapshot's format); Advance calls move them on from there.
  void Restore(const std::vector<int64_t>& clocks);

 private:
  absl::Status Join(int worker, int num_workers);  // REQUIRES: mu_ held
  int64_t SlowestLocked() const;

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<int64_t> clocks_;        // per worker; INT64_MAX once finished
  std::vector<int64_t> epochs_;        // per worker: epochs finished
  std::map<int64_t, bool> decisions_;  // epoch → stop after it
};

}  // namespace parasol
