#include "train/trainer.h"

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/hash.h"
#include "data/gen.h"
#include "gtest/gtest.h"
#include "metrics/metrics.h"
#include "predict/predictor.h"
#include "storage/model_dir.h"

namespace parasol {
namespace {

namespace fs = std::filesystem;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class TrainerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // ctest runs every test case as its own process, possibly in parallel: one dir per process.
    dir_ = fs::path(::testing::TempDir()) / ("trainer_test_" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    GenOptions gen;
    gen.rows = 25000;
    gen.features = 10;
    gen.vocab = 2000;
    gen.seed = 3;
    // One planted model: the first 20000 rows train, the last 5000 validate.
    ASSERT_TRUE(GenerateLibsvm(gen, (dir_ / "all.svm").string()).ok());
    std::ifstream all(dir_ / "all.svm");
    std::ofstream train(dir_ / "train.svm"), valid(dir_ / "valid.svm");
    std::string line;
    for (int i = 0; std::getline(all, line); ++i) (i < 20000 ? train : valid) << line << "\n";
  }

  TrainConfig Config(const std::string& out) const {
    TrainConfig c;
    c.train_path = (dir_ / "train.svm").string();
    c.out_dir = (dir_ / out).string();
    c.threads = 1;
    c.epochs = 1;  // one pass unless a test says otherwise (the default is auto)
    return c;
  }

  static double ValidAuc(const std::string& model_dir) {
    auto predictor = Predictor::Load(model_dir);
    EXPECT_TRUE(predictor.ok()) << predictor.status();
    std::vector<float> probs, labels;
    EXPECT_TRUE((*predictor)
                    ->PredictFile((dir_ / "valid.svm").string(), 1,
                                  [&](const ExampleBlock& b, const std::vector<float>& p) {
                                    probs.insert(probs.end(), p.begin(), p.end());
                                    labels.insert(labels.end(), b.labels().begin(),
                                                  b.labels().end());
                                  })
                    .ok());
    return RocAuc(probs, labels);
  }

  static void TearDownTestSuite() { fs::remove_all(dir_); }

  static fs::path dir_;
};

fs::path TrainerTest::dir_;

TEST_F(TrainerTest, EveryModelLearnsThePlantedSignal) {
  for (const char* name : {"lr", "fm", "ffm", "perceptron"}) {
    TrainConfig c = Config(std::string("learn_") + name);
    c.model.type = *ParseModelType(name);
    c.model.k = 4;
    c.epochs = 2;
    auto summary = Train(c, false);
    ASSERT_TRUE(summary.ok()) << name << ": " << summary.status();
    EXPECT_EQ(summary->examples, 40000u) << name;
    EXPECT_GT(summary->features, 1000u) << name;
    EXPECT_GT(ValidAuc(c.out_dir), 0.70) << name;
  }
}

TEST_F(TrainerTest, OneThreadWithASeedIsExactlyReproducible) {
  TrainConfig a = Config("repro_a");
  a.model.type = ModelType::kFm;
  a.epochs = 2;
  TrainConfig b = a;
  b.out_dir = (dir_ / "repro_b").string();
  ASSERT_TRUE(Train(a, false).ok());
  ASSERT_TRUE(Train(b, false).ok());
  const std::string wa = ReadFile(fs::path(a.out_dir) / "weights.bin");
  EXPECT_FALSE(wa.empty());
  EXPECT_EQ(wa, ReadFile(fs::path(b.out_dir) / "weights.bin"));
  // A different seed gives different initial factors, hence a different model.
  TrainConfig c = a;
  c.out_dir = (dir_ / "repro_c").string();
  c.model.seed = 77;
  ASSERT_TRUE(Train(c, false).ok());
  EXPECT_NE(wa, ReadFile(fs::path(c.out_dir) / "weights.bin"));
}

TEST_F(TrainerTest, ManyThreadsTrainAsWellAsOne) {
  TrainConfig c = Config("threads4");
  c.threads = 4;
  c.epochs = 2;
  auto summary = Train(c, false);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->examples, 40000u);
  TrainConfig one = Config("threads1");
  one.epochs = 2;
  ASSERT_TRUE(Train(one, false).ok());
  EXPECT_NEAR(ValidAuc(c.out_dir), ValidAuc(one.out_dir), 0.01);
}

TEST_F(TrainerTest, CacheGivesTheSameModelAsText) {
  TrainConfig text = Config("nocache");
  text.epochs = 2;
  ASSERT_TRUE(Train(text, false).ok());
  TrainConfig cached = Config("cache1");
  cached.epochs = 2;
  cached.cache_path = (dir_ / "train.cache").string();
  ASSERT_TRUE(Train(cached, false).ok());  // writes the cache
  ASSERT_TRUE(fs::exists(cached.cache_path));
  TrainConfig reuse = cached;
  reuse.out_dir = (dir_ / "cache2").string();
  ASSERT_TRUE(Train(reuse, false).ok());  // reads it
  const std::string expected = ReadFile(fs::path(text.out_dir) / "weights.bin");
  EXPECT_EQ(expected, ReadFile(fs::path(cached.out_dir) / "weights.bin"));
  EXPECT_EQ(expected, ReadFile(fs::path(reuse.out_dir) / "weights.bin"));
}

TEST_F(TrainerTest, ValidationWritesMetricsAndStopsEarly) {
  // Validation labels are the training labels flipped: the better the model fits, the worse the
  // validation loss, so the first epoch is the best and training stops after `patience` more.
  {
    std::ifstream in(dir_ / "train.svm");
    std::ofstream out(dir_ / "flipped.svm");
    std::string line;
    for (int i = 0; i < 3000 && std::getline(in, line); ++i) {
      out << (line[0] == '1' ? '0' : '1') << line.substr(1) << "\n";
    }
  }
  TrainConfig c = Config("early");
  c.valid_path = (dir_ / "flipped.svm").string();
  c.epochs = 10;
  c.early_stopping = 2;
  auto summary = Train(c, false);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->best_epoch, 1);
  EXPECT_EQ(summary->epochs_run, 3);
  ASSERT_TRUE(summary->valid_auc.has_value());
  EXPECT_LT(*summary->valid_auc, 0.5);
  std::ifstream metrics(fs::path(c.out_dir) / "metrics.jsonl");
  int epoch_lines = 0;
  for (std::string line; std::getline(metrics, line);) {
    if (line.find("\"event\": \"epoch\"") != std::string::npos) {
      ++epoch_lines;
      EXPECT_NE(line.find("valid_auc"), std::string::npos) << line;
      EXPECT_NE(line.find("valid_logloss"), std::string::npos) << line;
    }
  }
  EXPECT_EQ(epoch_lines, 3);
  // The written model is epoch 1's.
  auto loaded = LoadModelDir(c.out_dir, false);
  ASSERT_TRUE(loaded.ok());
  EXPECT_NE(loaded->manifest.training_json.find("\"best_epoch\":1"), std::string::npos)
      << loaded->manifest.training_json;
}

TEST_F(TrainerTest, SavedModelPredictsLikeTheTrainedOne) {
  TrainConfig c = Config("saved");
  c.model.type = ModelType::kFm;
  c.valid_path = (dir_ / "valid.svm").string();
  auto summary = Train(c, false);
  ASSERT_TRUE(summary.ok());
  // Validation AUC at training time was computed from the live table; the saved model must
  // reproduce it exactly.
  EXPECT_DOUBLE_EQ(ValidAuc(c.out_dir), *summary->valid_auc);
}

TEST_F(TrainerTest, BadLinesStopOrAreSkippedWithinTheLimit) {
  {
    std::ofstream out(dir_ / "bad.svm");
    out << "1 1:1 2:1\n0 3:1\nmaybe 4:1\n1 5:x\n0 6:1\n";
  }
  TrainConfig c = Config("bad");
  c.train_path = (dir_ / "bad.svm").string();
  auto stopped = Train(c, false);
  ASSERT_FALSE(stopped.ok());
  EXPECT_NE(stopped.status().message().find("bad.svm:3"), std::string::npos) << stopped.status();
  c.max_bad_lines = 2;
  auto skipped = Train(c, false);
  ASSERT_TRUE(skipped.ok()) << skipped.status();
  EXPECT_EQ(skipped->examples, 3u);
  EXPECT_NE(skipped->bad_lines.find("2"), std::string::npos) << skipped->bad_lines;
}

TEST_F(TrainerTest, CriteoInputTrainsFfmWithOneFieldPerColumn) {
  // Label depends on I1 and C1; 13 integer and 26 categorical columns, some empty.
  {
    std::ofstream out(dir_ / "criteo.tsv");
    for (int i = 0; i < 3000; ++i) {
      const int i1 = i % 7;
      const bool positive = (i1 >= 4) != (i % 11 == 0);
      out << (positive ? 1 : 0) << '\t' << i1;
      for (int c = 1; c < 13; ++c) out << '\t' << (c == 5 ? std::string() : std::to_string(i % 3));
      for (int c = 0; c < 26; ++c) {
        char hex[9];
        std::snprintf(hex, sizeof(hex), "%08x", c == 0 ? i % 5 : (i * 31 + c) % 50);
        out << '\t' << (c == 7 ? "" : hex);
      }
      out << '\n';
    }
  }
  TrainConfig c = Config("criteo_ffm");
  c.train_path = (dir_ / "criteo.tsv").string();
  c.format = DataFormat::kCriteo;
  c.model.type = ModelType::kFfm;
  c.model.k = 2;
  c.epochs = 3;
  auto summary = Train(c, false);
  ASSERT_TRUE(summary.ok()) << summary.status();
  auto loaded = LoadModelDir(c.out_dir, false);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->manifest.data_format, "criteo");
  EXPECT_EQ(loaded->manifest.spec.num_fields, 39);
  EXPECT_EQ(loaded->model->dim(), 1 + 39 * 2);
  auto predictor = Predictor::Load(c.out_dir);
  ASSERT_TRUE(predictor.ok());
  std::vector<float> probs, labels;
  ASSERT_TRUE((*predictor)
                  ->PredictFile(c.train_path, 1,
                                [&](const ExampleBlock& b, const std::vector<float>& p) {
                                  probs.insert(probs.end(), p.begin(), p.end());
                                  labels.insert(labels.end(), b.labels().begin(), b.labels().end());
                                })
                  .ok());
  ASSERT_EQ(probs.size(), 3000u);
  EXPECT_GT(RocAuc(probs, labels), 0.8);
}

TEST_F(TrainerTest, MiniBatchesApplySummedGradientsOncePerKey) {
  { std::ofstream(dir_ / "two.svm") << "1 7:1\n1 7:1\n"; }
  auto weight_of_7 = [&](int batch_size) {
    TrainConfig c = Config("batch" + std::to_string(batch_size));
    c.train_path = (dir_ / "two.svm").string();
    c.optimizer.name = "sgd";
    c.optimizer.lr = 0.1f;
    c.batch_size = batch_size;
    EXPECT_TRUE(Train(c, false).ok());
    auto loaded = LoadModelDir(c.out_dir, false);
    EXPECT_TRUE(loaded.ok());
    const uint64_t key = FeatureKey(0, uint64_t{7});
    return std::make_pair(loaded->table->Find(key)[0], loaded->table->Find(kBiasKey)[0]);
  };
  // Both examples see w = 0: gradient (0.5 - 1) each, summed, one step: w = 0.1 * 1.0.
  const auto [w2, b2] = weight_of_7(2);
  EXPECT_FLOAT_EQ(w2, 0.1f);
  EXPECT_FLOAT_EQ(b2, 0.1f);
  // One example at a time: w = 0.05, then the score is 0.1 and the step 0.1 * (1 - σ(0.1)).
  const auto [w1, b1] = weight_of_7(1);
  EXPECT_FLOAT_EQ(w1, 0.05f + 0.1f * (1.0f - Sigmoid(0.1f)));
  EXPECT_FLOAT_EQ(b1, w1);
}

TEST_F(TrainerTest, EmptyInputIsAnErrorNotAnEmptyModel) {
  { std::ofstream(dir_ / "empty.svm") << "\n"; }
  TrainConfig c = Config("empty");
  c.train_path = (dir_ / "empty.svm").string();
  auto result = Train(c, false);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("empty.svm: no examples"), std::string::npos)
      << result.status();
  EXPECT_FALSE(fs::exists(fs::path(c.out_dir) / "manifest.json"));
}

TEST_F(TrainerTest, MissingInputIsAClearError) {
  TrainConfig c = Config("missing");
  c.train_path = (dir_ / "nope.svm").string();
  auto result = Train(c, false);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("nope.svm"), std::string::npos);
}

TEST_F(TrainerTest, AutoEpochsPassUntilTheTrainingLossStopsImproving) {
  TrainConfig c = Config("auto_epochs");
  c.epochs = 0;  // auto, the default
  auto summary = Train(c, false);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_GT(summary->epochs_run, 1);
  EXPECT_LT(summary->epochs_run, kMaxAutoEpochs);
  // Each pass but the last improved the training loss by at least 1%; the last did not.
  std::vector<double> losses;
  std::istringstream metrics(ReadFile(fs::path(c.out_dir) / "metrics.jsonl"));
  for (std::string line; std::getline(metrics, line);) {
    const auto j = nlohmann::json::parse(line);
    if (j["event"] == "epoch") losses.push_back(j["loss"].get<double>());
  }
  ASSERT_EQ(losses.size(), static_cast<size_t>(summary->epochs_run));
  for (size_t e = 1; e + 1 < losses.size(); ++e) {
    EXPECT_GE(losses[e - 1] - losses[e], kAutoEpochsMinGain * losses[e - 1]) << "epoch " << e + 1;
  }
  EXPECT_LT(losses[losses.size() - 2] - losses.back(),
            kAutoEpochsMinGain * losses[losses.size() - 2]);

  // Data that is not kept in memory (and no cache) is read once.
  TrainConfig once = Config("auto_epochs_once");
  once.epochs = 0;
  once.memory_limit_mb = 0;
  auto single = Train(once, false);
  ASSERT_TRUE(single.ok()) << single.status();
  EXPECT_EQ(single->epochs_run, 1);
}

// XOR of two binary fields (libffm lines, plus a noise field): no linear model separates it.
std::string WriteXor(const fs::path& dir, const std::string& name, int rows, uint64_t seed) {
  const fs::path path = dir / name;
  std::ofstream out(path);
  for (int i = 0; i < rows; ++i) {
    const uint64_t h = hash_internal::Mix(seed * 1000003 + i);
    const int a = h & 1, b = (h >> 1) & 1;
    const int noise = static_cast<int>((h >> 8) % 20);
    out << (a ^ b) << " 0:" << a << ":1 1:" << 2 + b << ":1 2:" << 10 + noise << ":1\n";
  }
  return path.string();
}

TrainConfig DeepConfig(const fs::path& dir, const std::string& model, const std::string& out) {
  TrainConfig c;
  c.train_path = WriteXor(dir, "xor_train.ffm", 4000, 1);
  c.valid_path = WriteXor(dir, "xor_valid.ffm", 1000, 2);
  c.out_dir = (dir / out).string();
  c.threads = 1;
  c.model.type = *ParseModelType(model);
  c.model.embedding_dim = 4;
  c.model.hidden = {16, 16};
  c.model.cross_layers = 2;
  c.batch_size = 32;
  c.epochs = 8;
  c.early_stopping = 0;
  c.optimizer.lr = 0.01f;
  c.dense_optimizer.lr = 0.01f;
  return c;
}

TEST_F(TrainerTest, DeepModelsFitTheXorThatLrCannot) {
  TrainConfig lr = DeepConfig(dir_, "lr", "xor_lr");
  lr.optimizer = {};
  lr.batch_size = 0;
  auto linear = Train(lr, false);
  ASSERT_TRUE(linear.ok()) << linear.status();
  EXPECT_LT(*linear->valid_auc, 0.6);
  for (const char* name : {"dnn", "dcn", "wide_deep", "deepfm"}) {
    auto summary = Train(DeepConfig(dir_, name, std::string("xor_") + name), false);
    ASSERT_TRUE(summary.ok()) << name << ": " << summary.status();
    EXPECT_GT(*summary->valid_auc, 0.99) << name;
  }
}

TEST_F(TrainerTest, DeepTrainingIsReproducibleAndTheSavedModelScoresAsTrained) {
  for (int threads : {1, 2}) {
    TrainConfig a = DeepConfig(dir_, "dcn", "repro_a");
    TrainConfig b = DeepConfig(dir_, "dcn", "repro_b");
    a.threads = b.threads = threads;
    a.model.dropout = b.model.dropout = 0.1f;
    a.epochs = b.epochs = 2;
    auto first = Train(a, false);
    auto second = Train(b, false);
    ASSERT_TRUE(first.ok() && second.ok());
    for (const char* file : {"weights.bin", "dense.bin"}) {
      EXPECT_EQ(ReadFile(fs::path(a.out_dir) / file), ReadFile(fs::path(b.out_dir) / file))
          << file << " with " << threads << " threads";
    }
    // The loaded model scores the validation set as the trainer's last validation did.
    auto predictor = Predictor::Load(a.out_dir);
    ASSERT_TRUE(predictor.ok()) << predictor.status();
    std::vector<float> probs, labels;
    ASSERT_TRUE((*predictor)
                    ->PredictFile(a.valid_path, 1,
                                  [&](const ExampleBlock& blk, const std::vector<float>& p) {
                                    probs.insert(probs.end(), p.begin(), p.end());
                                    labels.insert(labels.end(), blk.labels().begin(),
                                                  blk.labels().end());
                                  })
                    .ok());
    EXPECT_NEAR(RocAuc(probs, labels), *first->valid_auc, 1e-9);
    EXPECT_NEAR(LogLoss(probs, labels), *first->valid_logloss, 1e-6);
  }
}

TEST_F(TrainerTest, ADeepModelsBatchesAreNotCutShortByParsedBlocks) {
  // 12,000 libffm rows of 39 fields (~5 MB of text: five of the reader's default 1 MiB chunks)
  // in batches of 4,096: three optimizer steps, which the layers' Adam state counts (β1^t).
  GenOptions gen;
  gen.rows = 12000;
  gen.features = 39;
  gen.vocab = 100000;
  gen.fields = true;
  const fs::path data = dir_ / "wide.ffm";
  ASSERT_TRUE(GenerateLibsvm(gen, data.string()).ok());
  ASSERT_GT(fs::file_size(data), 4u << 20);
  TrainConfig c = Config("big_batches");
  c.train_path = data.string();
  c.model.type = ModelType::kDnn;
  c.model.embedding_dim = 2;
  c.model.hidden = {4};
  c.batch_size = 4096;
  ASSERT_TRUE(Train(c, false).ok());
  auto loaded = LoadModelDir(c.out_dir, /*with_state=*/true);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ASSERT_EQ(loaded->dense_state_floats, 4);  // Adam: m, v, β1^t, β2^t
  const double steps = std::log(loaded->dense_state[2]) / std::log(0.9);
  EXPECT_NEAR(steps, 3.0, 1e-3);
}

TEST_F(TrainerTest, ADeepModelOnLibsvmWithoutFieldsSaysHowToAddThem) {
  TrainConfig c = Config("deep_no_fields");
  c.model.type = ModelType::kDeepFm;
  auto result = Train(c, false);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(result.status().message().find("field:idx:value"), std::string::npos)
      << result.status();
}

}  // namespace
}  // namespace parasol
