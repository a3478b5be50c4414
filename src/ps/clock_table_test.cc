#include "ps/clock_table.h"

#include <atomic>
#include <thread>

#include "gtest/gtest.h"

namespace parasol {
namespace {

using std::chrono::milliseconds;

TEST(ClockTableTest, BspKeepsEveryWorkerWithinOneBatch) {
  ClockTable clocks;
  constexpr int kWorkers = 3, kBatches = 200;
  std::atomic<int> done[kWorkers] = {};
  std::atomic<int> max_spread{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < kWorkers; ++w) {
    threads.emplace_back([&, w] {
      for (int c = 1; c <= kBatches; ++c) {
        // "Train" batch c, then check nobody is more than one batch behind us.
        done[w] = c;
        int slowest = kBatches;
        for (int o = 0; o < kWorkers; ++o) slowest = std::min(slowest, done[o].load());
        int spread = c - slowest;
        int seen = max_spread.load();
        while (spread > seen && !max_spread.compare_exchange_weak(seen, spread)) {
        }
        ASSERT_TRUE(clocks.Advance(w, kWorkers, c, /*staleness=*/0, milliseconds(10000)).ok());
      }
      ASSERT_TRUE(clocks.Finish(w, kWorkers).ok());
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_LE(max_spread.load(), 1);  // BSP: one batch at most (a worker mid-batch)
}

TEST(ClockTableTest, SspLetsAWorkerRunAheadByTheStalenessOnly) {
  ClockTable clocks;
  // Worker 1 never advances: worker 0 may finish batches 1 and 2 (staleness 2) but not 3.
  EXPECT_TRUE(clocks.Advance(0, 2, 1, 2, milliseconds(1000)).ok());
  EXPECT_TRUE(clocks.Advance(0, 2, 2, 2, milliseconds(1000)).ok());
  const absl::Status blocked = clocks.Advance(0, 2, 3, 2, milliseconds(50));
  EXPECT_EQ(blocked.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_NE(blocked.message().find("slowest worker (clock 0"), std::string::npos) << blocked;
  // Once worker 1 is done, nobody waits for it.
  EXPECT_TRUE(clocks.Finish(1, 2).ok());
  EXPECT_TRUE(clocks.Advance(0, 2, 100, 0, milliseconds(1000)).ok());
}

TEST(ClockTableTest, AspRecordsClocksWithoutWaitingAndSnapshotsRestore) {
  ClockTable clocks;
  // Worker 1 never advances, yet ASP (negative staleness) never waits.
  EXPECT_TRUE(clocks.Advance(0, 2, 50, -1, milliseconds(10)).ok());
  EXPECT_EQ(clocks.Snapshot(), (std::vector<int64_t>{50, 0}));
  EXPECT_TRUE(clocks.Finish(0, 2).ok());
  EXPECT_EQ(clocks.Snapshot(), (std::vector<int64_t>{-1, 0}));
  ClockTable restored;
  restored.Restore({-1, 7});
  // Worker 0 finished, worker 1 at 7: worker 1 may go on to 8 under BSP.
  EXPECT_TRUE(restored.Advance(1, 2, 8, 0, milliseconds(1000)).ok());
  EXPECT_EQ(restored.Snapshot(), (std::vector<int64_t>{-1, 8}));
}

TEST(ClockTableTest, InconsistentWorkerCountsAreRejected) {
  ClockTable clocks;
  EXPECT_TRUE(clocks.Advance(0, 2, 1, 5, milliseconds(10)).ok());
  EXPECT_EQ(clocks.Advance(0, 3, 2, 5, milliseconds(10)).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(clocks.Finish(2, 2).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace parasol
