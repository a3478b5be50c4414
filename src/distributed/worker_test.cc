// Distributed training in one process: servers are PsNodes behind an InProcessTransport, so a
// worker, checkpoints, a restart of every server from a checkpoint and the worker's resume run
// without processes or ports.
#include "distributed/worker.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "data/gen.h"
#include "gtest/gtest.h"
#include "model/sparse_table.h"
#include "ps/checkpoint.h"
#include "ps/clock_table.h"
#include "ps/ps_node_builder.h"
#include "ps/transport.h"
#include "train/training_input.h"

namespace parasol {
namespace {

namespace fs = std::filesystem;

class InProcessJobTest : public ::testing::Test {
 protected:
  static constexpr int kServers = 2;

  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("worker_test_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    GenOptions gen;
    gen.rows = 3000;
    gen.features = 12;
    gen.vocab = 5000;
    ASSERT_TRUE(GenerateLibsvm(gen, (dir_ / "train.svm").string()).ok());
    config_.train_path = (dir_ / "train.svm").string();
    config_.model.type = ModelType::kFm;
    config_.model.k = 4;
    config_.optimizer.name = "adagrad";
    config_.optimizer.lr = 0.05f;
    config_.epochs = 2;
    config_.batch_size = 64;
    config_.staleness = 0;  // BSP: one worker is deterministic
    auto prepared = PrepareTraining(config_);
    ASSERT_TRUE(prepared.ok()) << prepared.status();
    prepared_ = *std::move(prepared);
  }
  void TearDown() override { fs::remove_all(dir_); }

  PsNodeOptions NodeOptions(int shard, const std::string& restore) const {
    PsNodeOptions options;
    options.table.model = prepared_.spec;
    options.table.optimizer = config_.resolved_optimizer();
    options.dense.push_back({"mlp", 100, std::nullopt, nullptr});
    options.checkpoint_root = (dir_ / "ckpt").string();
    options.restore = restore;
    options.shard = shard;
    options.num_shards = kServers;
    options.restore_clocks = !restore.empty();
    return options;
  }

  // Starts (or restarts, from `restore`) every server and points the transport at them.
  void StartServers(const std::string& restore) {
    std::vector<PsNode*> raw;
    for (int s = 0; s < kServers; ++s) {
      auto node = BuildPsNode(NodeOptions(s, restore));
      ASSERT_TRUE(node.ok()) << node.status();
      if (transport_ != nullptr) transport_->SetNode(s, node->get());
      nodes_[s] = *std::move(node);  // the old node goes only once nothing points at it
      raw.push_back(nodes_[s].get());
    }
    if (transport_ == nullptr) transport_ = std::make_unique<InProcessTransport>(raw);
  }

  // Every row of the servers' sparse table, weights and optimizer state.
  std::unique_ptr<SparseTable> Rows() {
    auto optimizer = CreateOptimizer(config_.resolved_optimizer());
    const int dim = (*Model::Create(prepared_.spec))->dim();
    auto table = std::make_unique<SparseTable>(dim * (1 + (*optimizer)->state_per_weight()),
                                               [](uint64_t, float*) {});
    const absl::Status exported = ExportTable(*transport_, "weights", table.get());
    EXPECT_TRUE(exported.ok()) << exported;
    return table;
  }

  // Worker `worker` of a two-worker job with this staleness.
  WorkerOptions OneOfTwo(int worker, int64_t staleness) const {
    WorkerOptions options;
    options.train = config_;
    options.train.staleness = staleness;
    options.worker_index = worker;
    options.num_workers = 2;
    return options;
  }

  ModelManifest Manifest() const {
    return BuildManifest(prepared_.spec, config_.resolved_optimizer(), prepared_.input, 0, "{}");
  }

  fs::path dir_;
  TrainConfig config_;
  PreparedTraining prepared_;
  std::unique_ptr<PsNode> nodes_[kServers];
  std::unique_ptr<InProcessTransport> transport_;
};

TEST_F(InProcessJobTest, RestartFromCheckpointAndResumeGivesTheUninterruptedModel) {
  WorkerOptions options;
  options.train = config_;

  // The reference: one uninterrupted run.
  StartServers("");
  auto reference_run = RunWorker(options, prepared_.input, prepared_.spec, *transport_);
  ASSERT_TRUE(reference_run.ok()) << reference_run.status();
  const std::unique_ptr<SparseTable> reference = Rows();
  ASSERT_GT(reference->size(), 1000u);

  // The same job again on fresh servers: a checkpoint after batch 30, then the worker dies at
  // batch 45, its updates after the checkpoint lost with every server.
  transport_.reset();
  fs::remove_all(dir_ / "ckpt");
  StartServers("");
  CheckpointCoordinator coordinator((dir_ / "ckpt").string(), Manifest(), transport_.get());
  options.after_clock = [&](int64_t clock) -> absl::Status {
    if (clock == 30) return coordinator.Take().status();
    if (clock == 45) return absl::AbortedError("killed");
    return absl::OkStatus();
  };
  auto killed = RunWorker(options, prepared_.input, prepared_.spec, *transport_);
  ASSERT_EQ(killed.status().code(), absl::StatusCode::kAborted) << killed.status();
  auto latest = LatestCheckpoint((dir_ / "ckpt").string());
  ASSERT_TRUE(latest.ok()) << latest.status();

  // Every server restarts from the checkpoint (server 0 takes the clocks back); the worker
  // resumes after the 30 batches the checkpoint holds.
  for (int s = 0; s < kServers; ++s) transport_->SetNode(s, nullptr);
  StartServers(*latest);
  options.after_clock = nullptr;
  options.resume = true;
  auto resumed = RunWorker(options, prepared_.input, prepared_.spec, *transport_);
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  EXPECT_EQ(resumed->resumed_after, 30);
  EXPECT_GT(resumed->examples, 0u);
  EXPECT_LT(resumed->examples, reference_run->examples);

  // Bit for bit the uninterrupted model, optimizer state included.
  const std::unique_ptr<SparseTable> got = Rows();
  ASSERT_EQ(got->size(), reference->size());
  size_t differing = 0;
  reference->ForEach([&](uint64_t key, const float* want) {
    const float* row = got->Find(key);
    if (row == nullptr || !std::equal(want, want + reference->row_floats(), row)) ++differing;
  });
  EXPECT_EQ(differing, 0u);
}

TEST_F(InProcessJobTest, ADownServerFailsTheWorkerWithUnavailable) {
  StartServers("");
  transport_->SetNode(1, nullptr);
  WorkerOptions options;
  options.train = config_;
  auto run = RunWorker(options, prepared_.input, prepared_.spec, *transport_);
  EXPECT_EQ(run.status().code(), absl::StatusCode::kUnavailable) << run.status();
}

TEST_F(InProcessJobTest, CheckpointsCarryDenseTablesAndWorkerClocks) {
  StartServers("");
  WorkerOptions options;
  options.train = config_;
  options.train.epochs = 1;
  CheckpointCoordinator coordinator((dir_ / "ckpt").string(), Manifest(), transport_.get());
  std::string taken;
  options.after_clock = [&](int64_t clock) -> absl::Status {
    if (clock != 10) return absl::OkStatus();
    auto dir = coordinator.Take();
    if (dir.ok()) taken = *dir;
    return dir.status();
  };
  ASSERT_TRUE(RunWorker(options, prepared_.input, prepared_.spec, *transport_).ok());
  auto info = ReadCheckpointInfo(taken);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->shards.size(), static_cast<size_t>(kServers));
  EXPECT_EQ(info->worker_clocks, std::vector<int64_t>{10});
  ASSERT_EQ(info->dense.size(), 1u);
  EXPECT_EQ(info->dense[0].name, "mlp");
  EXPECT_EQ(info->dense[0].size, 100u);
  auto manifest = ReadModelManifest(taken);
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  EXPECT_GT(manifest->feature_count, 1000);
}

// The spread between the fastest and the slowest unfinished worker, as server 0 records clocks.
int64_t Spread(const std::vector<int64_t>& clocks) {
  int64_t lo = INT64_MAX, hi = INT64_MIN;
  for (int64_t c : clocks) {
    if (c < 0) continue;  // finished
    lo = std::min(lo, c);
    hi = std::max(hi, c);
  }
  return lo == INT64_MAX ? 0 : hi - lo;
}

TEST_F(InProcessJobTest, BspAndSspBoundTheClockSpreadAtServerZero) {
  for (const int64_t staleness : {int64_t{0}, int64_t{2}}) {
    transport_.reset();
    StartServers("");
    std::atomic<int64_t> widest{0};
    auto run = [&](int worker) {
      WorkerOptions options = OneOfTwo(worker, staleness);
      options.after_clock = [&](int64_t) -> absl::Status {
        auto clocks = WorkerClocks(*transport_);
        if (!clocks.ok()) return clocks.status();
        int64_t seen = Spread(*clocks), prev = widest.load();
        while (seen > prev && !widest.compare_exchange_weak(prev, seen)) {
        }
        return absl::OkStatus();
      };
      return RunWorker(options, prepared_.input, prepared_.spec, *transport_);
    };
    auto other = std::async(std::launch::async, run, 1);
    auto mine = run(0);
    ASSERT_TRUE(mine.ok()) << mine.status();
    ASSERT_TRUE(other.get().ok());
    // A worker records clock c, then waits until the other finished c - staleness: the other
    // may be seen at most staleness + 1 behind.
    EXPECT_LE(widest.load(), staleness + 1) << "staleness " << staleness;
  }
}

TEST_F(InProcessJobTest, ValidatingWorkersMoveTogetherAndStopEarlyTogether) {
  // Labels without signal and a large learning rate: validation logloss is best early and then
  // only worsens, so early stopping (patience 2) ends the job well before its 12 epochs.
  GenOptions gen;
  gen.rows = 1000;
  gen.features = 12;
  gen.vocab = 5000;
  gen.seed = 9;
  ASSERT_TRUE(GenerateLibsvm(gen, (dir_ / "valid.svm").string()).ok());
  config_.valid_path = (dir_ / "valid.svm").string();
  config_.epochs = 12;
  config_.early_stopping = 2;
  config_.optimizer.lr = 1.0f;
  StartServers("");
  std::vector<int> improved;  // epochs worker 0 reported as best so far
  auto run = [&](int worker) {
    WorkerOptions options = OneOfTwo(worker, /*staleness=*/kAsp);  // no batch-level waiting
    if (worker == 0) {
      options.on_best = [&](int epoch) {
        improved.push_back(epoch);
        return absl::OkStatus();
      };
    }
    return RunWorker(options, prepared_.input, prepared_.spec, *transport_);
  };
  auto other = std::async(std::launch::async, run, 1);
  auto mine = run(0);
  ASSERT_TRUE(mine.ok()) << mine.status();
  auto theirs = other.get();
  ASSERT_TRUE(theirs.ok()) << theirs.status();
  // Both stopped after the same epoch, early, patience epochs after the best one.
  EXPECT_GT(mine->stopped_after, 0);
  EXPECT_EQ(mine->stopped_after, theirs->stopped_after);
  EXPECT_LT(mine->stopped_after, 12);
  EXPECT_EQ(mine->stopped_after, mine->best_epoch + 2);
  ASSERT_FALSE(improved.empty());
  EXPECT_EQ(improved.back(), mine->best_epoch);
  // Each worker trained exactly stopped_after epochs of its share.
  EXPECT_EQ(mine->examples + theirs->examples, 3000u * mine->stopped_after);
}

TEST_F(InProcessJobTest, AspNeverWaitsForASlowWorker) {
  StartServers("");
  std::promise<void> held, release;
  std::shared_future<void> released = release.get_future().share();
  auto run = [&](int worker) {
    WorkerOptions options = OneOfTwo(worker, kAsp);
    if (worker == 1) {
      // Worker 1 stops at its first recorded clock until the test releases it.
      options.after_clock = [&held, released, first = true](int64_t) mutable {
        if (first) {
          first = false;
          held.set_value();
          released.wait();
        }
        return absl::OkStatus();
      };
    }
    return RunWorker(options, prepared_.input, prepared_.spec, *transport_);
  };
  auto slow = std::async(std::launch::async, run, 1);
  ASSERT_EQ(held.get_future().wait_for(std::chrono::seconds(60)), std::future_status::ready);
  // Worker 0 trains its whole share while worker 1 is held.
  auto fast = run(0);
  auto clocks = WorkerClocks(*transport_);
  release.set_value();
  const auto slow_run = slow.get();
  ASSERT_TRUE(fast.ok()) << fast.status();
  ASSERT_TRUE(slow_run.ok()) << slow_run.status();
  ASSERT_TRUE(clocks.ok());
  ASSERT_EQ(clocks->size(), 2u);
  EXPECT_EQ((*clocks)[0], -1);              // finished...
  EXPECT_EQ((*clocks)[1], kAspClockEvery);  // ...while worker 1 was held at its first clock
}

}  // namespace
}  // namespace parasol
