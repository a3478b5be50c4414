// Deep models on the parameter server, in one process: embeddings in the sparse table, the dense
// layers in the servers' dense table. One worker with one thread reproduces `parasol train` bit
// for bit (dropout included), and a checkpoint restores onto another number of servers.
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "common/hash.h"
#include "common/status_macros.h"
#include "distributed/worker.h"
#include "gtest/gtest.h"
#include "predict/predictor.h"
#include "ps/checkpoint.h"
#include "ps/ps_node_builder.h"
#include "ps/transport.h"
#include "serve/servable.h"
#include "storage/checkpoint_dir.h"
#include "storage/model_dir.h"
#include "train/trainer.h"
#include "train/training_input.h"

namespace parasol {
namespace {

namespace fs = std::filesystem;

class DeepWorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("deep_worker_test_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    // Four fields, a label that depends on a product of two of them.
    std::ofstream out(dir_ / "train.ffm");
    for (int i = 0; i < 1500; ++i) {
      const uint64_t h = hash_internal::Mix(i + 17);
      const int a = h % 7, b = (h >> 8) % 5, c = (h >> 16) % 11, d = (h >> 24) % 3;
      out << (((a + b) % 2) ^ (d == 0)) << " 0:" << a << ":1 1:" << 10 + b << ":1 2:" << 20 + c
          << ":0.5 3:" << 40 + d << ":1\n";
    }
    out.close();
    config_.train_path = (dir_ / "train.ffm").string();
    config_.model.type = ModelType::kDcn;
    config_.model.embedding_dim = 4;
    config_.model.hidden = {8, 8};
    config_.model.cross_layers = 2;
    config_.model.dropout = 0.2f;
    config_.batch_size = 50;
    config_.epochs = 2;
    config_.threads = 1;
    config_.early_stopping = 0;
    config_.staleness = 0;
    auto prepared = PrepareTraining(config_);
    ASSERT_TRUE(prepared.ok()) << prepared.status();
    prepared_ = *std::move(prepared);
  }
  void TearDown() override { fs::remove_all(dir_); }

  void StartServers(int count, const std::string& restore) {
    nodes_.clear();
    std::vector<PsNode*> raw;
    for (int s = 0; s < count; ++s) {
      PsNodeOptions options;
      options.table.model = prepared_.spec;
      options.table.optimizer = config_.resolved_optimizer();
      options.table.dense_optimizer = config_.resolved_dense_optimizer();
      options.checkpoint_root = (dir_ / "ckpt").string();
      options.restore = restore;
      options.shard = s;
      options.num_shards = count;
      options.restore_clocks = !restore.empty();
      auto node = BuildPsNode(options);
      ASSERT_TRUE(node.ok()) << node.status();
      nodes_.push_back(*std::move(node));
      raw.push_back(nodes_.back().get());
    }
    transport_ = std::make_unique<InProcessTransport>(raw);
  }

  // Checkpoints of the running servers into DIR/ckpt, with the deep model's manifest.
  CheckpointCoordinator Coordinator() const {
    ModelManifest manifest =
        BuildManifest(prepared_.spec, config_.resolved_optimizer(), prepared_.input, 0, "{}");
    manifest.dense_optimizer = config_.resolved_dense_optimizer();
    return CheckpointCoordinator((dir_ / "ckpt").string(), manifest, transport_.get());
  }

  absl::StatusOr<LoadedModel> WriteAndLoad(const std::string& name) {
    TrainConfig c = config_;
    c.out_dir = (dir_ / name).string();
    RETURN_IF_ERROR(WriteModelFromServers(c, prepared_.input, prepared_.spec, *transport_, 0));
    return LoadModelDir(c.out_dir, /*with_state=*/true);
  }

  static void ExpectSameModel(const LoadedModel& want, const LoadedModel& got) {
    EXPECT_EQ(want.dense, got.dense);
    EXPECT_EQ(want.dense_state, got.dense_state);
    ASSERT_EQ(want.table->size(), got.table->size());
    size_t differing = 0;
    want.table->ForEach([&](uint64_t key, const float* row) {
      const float* other = got.table->Find(key);
      if (other == nullptr || !std::equal(row, row + want.table->row_floats(), other)) ++differing;
    });
    EXPECT_EQ(differing, 0u);
  }

  fs::path dir_;
  TrainConfig config_;
  PreparedTraining prepared_;
  std::vector<std::unique_ptr<PsNode>> nodes_;
  std::unique_ptr<InProcessTransport> transport_;
};

TEST_F(DeepWorkerTest, OneWorkerEqualsTheSingleMachineTrainerBitForBit) {
  TrainConfig local = config_;
  local.out_dir = (dir_ / "local").string();
  auto trained = Train(local, false);
  ASSERT_TRUE(trained.ok()) << trained.status();
  auto want = LoadModelDir(local.out_dir, /*with_state=*/true);
  ASSERT_TRUE(want.ok()) << want.status();

  StartServers(2, "");
  WorkerOptions options;
  options.train = config_;
  auto run = RunWorker(options, prepared_.input, prepared_.spec, *transport_);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->examples, trained->examples);
  auto got = WriteAndLoad("distributed");
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_FALSE(got->dense.empty());
  ExpectSameModel(*want, *got);
}

TEST_F(DeepWorkerTest, TwoWorkersTrainTheLayersUnderEveryConsistencyMode) {
  auto model = Model::Create(prepared_.spec);
  ASSERT_TRUE(model.ok());
  std::vector<float> initial((*model)->dense_size());
  (*model)->InitDense(initial.data());
  for (const int64_t staleness : {int64_t{0}, int64_t{2}, kAsp}) {
    SCOPED_TRACE(staleness);
    StartServers(2, "");
    auto run = [&](int worker) {
      WorkerOptions options;
      options.train = config_;
      options.train.staleness = staleness;
      options.worker_index = worker;
      options.num_workers = 2;
      return RunWorker(options, prepared_.input, prepared_.spec, *transport_);
    };
    auto other = std::async(std::launch::async, run, 1);
    auto mine = run(0);
    auto theirs = other.get();
    ASSERT_TRUE(mine.ok()) << mine.status();
    ASSERT_TRUE(theirs.ok()) << theirs.status();
    EXPECT_EQ(mine->examples + theirs->examples, 1500u * config_.epochs);
    auto got = WriteAndLoad("modes");
    ASSERT_TRUE(got.ok()) << got.status();
    ASSERT_EQ(got->dense.size(), initial.size());
    size_t moved = 0;
    for (size_t i = 0; i < initial.size(); ++i) moved += got->dense[i] != initial[i];
    EXPECT_GT(moved, initial.size() / 2);  // both workers' gradients reached the layers
    for (float w : got->dense) ASSERT_TRUE(std::isfinite(w));
  }
}

TEST_F(DeepWorkerTest, ACheckpointRestoresOntoAnotherServerCount) {
  StartServers(2, "");
  CheckpointCoordinator coordinator = Coordinator();
  WorkerOptions options;
  options.train = config_;
  ASSERT_TRUE(RunWorker(options, prepared_.input, prepared_.spec, *transport_).ok());
  auto want = WriteAndLoad("before");
  ASSERT_TRUE(want.ok()) << want.status();
  auto taken = coordinator.Take();
  ASSERT_TRUE(taken.ok()) << taken.status();
  auto latest = LatestCheckpoint((dir_ / "ckpt").string());
  ASSERT_TRUE(latest.ok()) << latest.status();
  // The checkpoint is a model directory with the dense layers too.
  auto as_model = LoadModelDir(*latest, /*with_state=*/true);
  ASSERT_TRUE(as_model.ok()) << as_model.status();
  EXPECT_EQ(as_model->dense, want->dense);

  StartServers(3, *latest);
  auto got = WriteAndLoad("after");
  ASSERT_TRUE(got.ok()) << got.status();
  ExpectSameModel(*want, *got);
}

TEST_F(DeepWorkerTest, AServedVersionTakesADeltaWithItsLayers) {
  StartServers(2, "");
  CheckpointCoordinator coordinator = Coordinator();
  WorkerOptions options;
  options.train = config_;
  std::string first, second;
  options.after_clock = [&](int64_t clock) -> absl::Status {
    if (clock != 10 && clock != 40) return absl::OkStatus();
    auto taken = coordinator.Take();
    if (!taken.ok()) return taken.status();
    (clock == 10 ? first : second) = *taken;
    return absl::OkStatus();
  };
  ASSERT_TRUE(RunWorker(options, prepared_.input, prepared_.spec, *transport_).ok());
  ASSERT_FALSE(second.empty());

  auto served = Servable::Load(first, 1);
  ASSERT_TRUE(served.ok()) << served.status();
  auto applied = (*served)->ApplyDelta(second);
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_GT(*applied, 0u);
  // The served version now scores as the later checkpoint loaded whole: rows and layers.
  auto later = Predictor::Load(second);
  ASSERT_TRUE(later.ok()) << later.status();
  size_t compared = 0;
  ASSERT_TRUE((*later)
                  ->PredictFile(config_.train_path, 1,
                                [&](const ExampleBlock& block, const std::vector<float>& want) {
                                  std::vector<float> got;
                                  (*served)->Score(block, &got);
                                  EXPECT_EQ(got, want);
                                  compared += got.size();
                                })
                  .ok());
  EXPECT_EQ(compared, 1500u);
}

}  // namespace
}  // namespace parasol
