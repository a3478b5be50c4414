#include "train/train_config.h"

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace parasol {
namespace {

TEST(TrainConfigTest, AppliesEveryKnownKey) {
  TrainConfig c;
  const std::string yaml = R"(
model: fm
k: 4
optimizer: ftrl
lr: 0.2
l1: 0.5
l2: 0.01
epochs: 3
threads: 2
seed: 9
early_stopping: 0
batch_size: 32
format: csv
schema: schema.yaml
hash_bits: 20
max_bad_lines: 5
transforms:
  - {type: normalize, field: x, method: zscore}
)";
  ASSERT_TRUE(ApplyConfigYaml(yaml, "/cfg/model.yaml", &c).ok());
  EXPECT_EQ(c.model.type, ModelType::kFm);
  EXPECT_EQ(c.model.k, 4);
  EXPECT_EQ(c.optimizer.name, "ftrl");
  EXPECT_FLOAT_EQ(c.optimizer.lr, 0.2f);
  EXPECT_FLOAT_EQ(c.optimizer.l1, 0.5f);
  EXPECT_FLOAT_EQ(c.optimizer.l2, 0.01f);
  EXPECT_EQ(c.epochs, 3);
  EXPECT_EQ(c.threads, 2);
  EXPECT_EQ(c.model.seed, 9u);
  EXPECT_EQ(c.early_stopping, 0);
  EXPECT_EQ(c.batch_size, 32);
  EXPECT_EQ(c.format, DataFormat::kCsv);
  EXPECT_EQ(c.schema_path, "/cfg/schema.yaml");  // relative to the config file
  EXPECT_EQ(c.hash_bits, 20);
  EXPECT_EQ(c.max_bad_lines, 5);
  EXPECT_EQ(c.config_text, yaml);
}

TEST(TrainConfigTest, ConsistencyModes) {
  EXPECT_EQ(*ParseConsistency("bsp"), 0);
  EXPECT_EQ(*ParseConsistency("ssp:3"), 3);
  EXPECT_EQ(*ParseConsistency("asp"), kAsp);
  for (const char* bad : {"ssp", "ssp:-1", "ssp:x", "sync"}) {
    auto st = ParseConsistency(bad);
    ASSERT_FALSE(st.ok()) << bad;
    EXPECT_NE(st.status().message().find(bad), std::string::npos);
  }
  TrainConfig c;
  ASSERT_TRUE(ApplyConfigYaml("consistency: ssp:2\n", "m.yaml", &c).ok());
  EXPECT_EQ(c.staleness, 2);
}

TEST(TrainConfigTest, UnknownKeyIsNamed) {
  TrainConfig c;
  auto st = ApplyConfigYaml("model: lr\nlearning_rate: 0.1\n", "m.yaml", &c);
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(absl::StartsWith(st.message(), "m.yaml:2: learning_rate: unknown key (known here: "))
      << st;
  EXPECT_NE(st.message().find("lr, l1"), std::string::npos);
}

TEST(TrainConfigTest, MisspelledKeySuggestsTheRightOne) {
  TrainConfig c;
  auto st = ApplyConfigYaml("model: lr\nepcohs: 3\n", "m.yaml", &c);
  EXPECT_EQ(st.message(), "m.yaml:2: epcohs: unknown key, did you mean 'epochs'?");
  EXPECT_EQ(c.model.type, TrainConfig().model.type);  // a refused config changes nothing
}

TEST(TrainConfigTest, WrongTypeIsNamed) {
  TrainConfig c;
  auto st = ApplyConfigYaml("epochs: many\n", "m.yaml", &c);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.message(), "m.yaml:1: epochs: expected an integer, got 'many'");
}

TEST(TrainConfigTest, UnknownModelAndFormatAreRejected) {
  TrainConfig c;
  EXPECT_FALSE(ApplyConfigYaml("model: svm\n", "m.yaml", &c).ok());
  EXPECT_FALSE(ApplyConfigYaml("format: parquet\n", "m.yaml", &c).ok());
  EXPECT_FALSE(ApplyConfigYaml("[1, 2]\n", "m.yaml", &c).ok());
  EXPECT_FALSE(ApplyConfigYaml("model: [\n", "m.yaml", &c).ok());
}

TEST(TrainConfigTest, ValidationNamesTheProblem) {
  TrainConfig c;
  c.train_path = "t";
  c.out_dir = "o";
  EXPECT_TRUE(ValidateTrainConfig(c).ok());
  c.epochs = 0;  // auto
  EXPECT_TRUE(ValidateTrainConfig(c).ok());
  c.epochs = -1;
  EXPECT_NE(ValidateTrainConfig(c).message().find("epochs"), std::string::npos);
  c.epochs = 1;
  c.format = DataFormat::kCsv;
  EXPECT_NE(ValidateTrainConfig(c).message().find("schema"), std::string::npos);
  c.format = DataFormat::kLibsvm;
  c.hash_bits = 64;
  EXPECT_NE(ValidateTrainConfig(c).message().find("hash_bits"), std::string::npos);
}

TEST(TrainConfigTest, PerceptronDefaultsToAveragedUpdates) {
  TrainConfig c;
  EXPECT_EQ(c.resolved_optimizer().name, "adagrad");
  c.model.type = ModelType::kPerceptron;
  EXPECT_EQ(c.resolved_optimizer().name, "averaged");
  c.train_path = "t";
  c.out_dir = "o";
  c.optimizer.name = "adam";
  EXPECT_FALSE(ValidateTrainConfig(c).ok());
}

}  // namespace
}  // namespace parasol
