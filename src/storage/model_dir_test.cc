#include "storage/model_dir.h"

#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"

namespace parasol {
namespace {

namespace fs = std::filesystem;

class ModelDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("model_dir_" +
            std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
  }
  fs::path dir_;
};

struct Trained {
  ModelManifest manifest;
  std::unique_ptr<Model> model;
  std::unique_ptr<Optimizer> optimizer;
  std::unique_ptr<SparseTable> table;
};

Trained MakeTrained(const std::string& optimizer_name) {
  Trained t;
  t.manifest.spec.type = ModelType::kFm;
  t.manifest.spec.k = 3;
  t.manifest.optimizer.name = optimizer_name;
  t.model = *Model::Create(t.manifest.spec);
  t.optimizer = *CreateOptimizer(t.manifest.optimizer);
  const int dim = t.model->dim();
  const int state = dim * t.optimizer->state_per_weight();
  t.table = std::make_unique<SparseTable>(dim + state, [&t, dim](uint64_t key, float* row) {
    t.model->InitRow(key, row);
    t.optimizer->InitState(row, row + dim, dim);
  });
  for (uint64_t k = 0; k < 500; ++k) {
    float* row = t.table->FindOrInsert(k * 31 + 5);
    std::vector<float> g(dim, 0.01f * (k % 7));
    t.optimizer->Update(row, row + dim, g.data(), dim, k + 1);
  }
  t.manifest.feature_count = 500;
  t.manifest.training_json = R"({"examples": 500})";
  return t;
}

TEST_F(ModelDirTest, SaveThenLoadGivesIdenticalRows) {
  Trained t = MakeTrained("adagrad");
  ASSERT_TRUE(SaveModelDir(dir_, t.manifest, *t.table, *t.optimizer, 500).ok());
  auto loaded = LoadModelDir(dir_, /*with_state=*/true);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->manifest.spec.type, ModelType::kFm);
  EXPECT_EQ(loaded->manifest.spec.k, 3);
  EXPECT_EQ(loaded->manifest.optimizer.name, "adagrad");
  EXPECT_EQ(loaded->manifest.feature_count, 500);
  EXPECT_EQ(loaded->table->size(), 500u);
  const int width = t.table->row_floats();
  t.table->ForEach([&](uint64_t key, const float* row) {
    const float* got = loaded->table->Find(key);
    ASSERT_NE(got, nullptr);
    for (int j = 0; j < width; ++j) ASSERT_EQ(got[j], row[j]) << key << " " << j;
  });
  // Without state, only the weights are loaded.
  auto weights_only = LoadModelDir(dir_, /*with_state=*/false);
  ASSERT_TRUE(weights_only.ok());
  EXPECT_EQ(weights_only->table->row_floats(), 4);
}

TEST_F(ModelDirTest, AKeyFilterStoresOnlyTheKeysItAccepts) {
  Trained t = MakeTrained("adagrad");
  ASSERT_TRUE(SaveModelDir(dir_, t.manifest, *t.table, *t.optimizer, 500).ok());
  auto odd = LoadModelDir(dir_, /*with_state=*/true, [](uint64_t key) { return key % 2 == 1; });
  ASSERT_TRUE(odd.ok()) << odd.status();
  size_t want = 0;
  t.table->ForEach([&](uint64_t key, const float* row) {
    const float* got = odd->table->Find(key);
    if (key % 2 == 0) {
      EXPECT_EQ(got, nullptr) << key;
      return;
    }
    ++want;
    ASSERT_NE(got, nullptr) << key;
    EXPECT_EQ(got[0], row[0]);
  });
  EXPECT_GT(want, 0u);
  EXPECT_EQ(odd->table->size(), want);
}

TEST_F(ModelDirTest, AveragedOptimizerExportsAveragedWeights) {
  Trained t = MakeTrained("averaged");
  ASSERT_TRUE(SaveModelDir(dir_, t.manifest, *t.table, *t.optimizer, 500).ok());
  auto loaded = LoadModelDir(dir_, false);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const float* live = t.table->Find(5 + 31 * 3);
  std::vector<float> expected(4);
  t.optimizer->Finalize(live, live + 4, 4, 500, expected.data());
  const float* got = loaded->table->Find(5 + 31 * 3);
  for (int j = 0; j < 4; ++j) EXPECT_EQ(got[j], expected[j]);
  EXPECT_NE(got[0], live[0]);
}

TEST_F(ModelDirTest, TruncatedTableIsRejectedWithTheFileName) {
  Trained t = MakeTrained("ftrl");
  ASSERT_TRUE(SaveModelDir(dir_, t.manifest, *t.table, *t.optimizer, 500).ok());
  const fs::path table = dir_ / "weights.bin";
  fs::resize_file(table, fs::file_size(table) - 100);
  auto loaded = LoadModelDir(dir_, false);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(loaded.status().message().find("weights.bin"), std::string::npos);
}

TEST_F(ModelDirTest, CorruptedTableFailsTheChecksum) {
  Trained t = MakeTrained("sgd");
  ASSERT_TRUE(SaveModelDir(dir_, t.manifest, *t.table, *t.optimizer, 500).ok());
  std::fstream f(dir_ / "weights.bin", std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(200);
  f.put('\x7f');
  f.close();
  auto loaded = LoadModelDir(dir_, false);
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.status().message().find("checksum"), std::string::npos);
}

TEST_F(ModelDirTest, MissingManifestAndMissingFieldAreNamed) {
  auto missing = LoadModelDir(dir_, false);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("manifest.json"), std::string::npos);

  Trained t = MakeTrained("sgd");
  ASSERT_TRUE(SaveModelDir(dir_, t.manifest, *t.table, *t.optimizer, 500).ok());
  std::ifstream in(dir_ / "manifest.json");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t pos = text.find("\"feature_count\"");
  ASSERT_NE(pos, std::string::npos);
  text.replace(pos, 15, "\"feature_cnt\"");
  std::ofstream(dir_ / "manifest.json") << text;
  auto bad = LoadModelDir(dir_, false);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            (dir_ / "manifest.json").string() +
                ": feature_count: required (is 'feature_cnt' a misspelling?)");
}

TEST_F(ModelDirTest, ManifestFieldsAreTyped) {
  Trained t = MakeTrained("sgd");
  ASSERT_TRUE(SaveModelDir(dir_, t.manifest, *t.table, *t.optimizer, 500).ok());
  std::ifstream in(dir_ / "manifest.json");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t pos = text.find("\"hash_bits\": ");
  ASSERT_NE(pos, std::string::npos);
  text.insert(pos + 13, "\"many\", \"old\": ");  // "hash_bits": "many", "old": N
  std::ofstream(dir_ / "manifest.json") << text;
  auto bad = LoadModelDir(dir_, false);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message(), (dir_ / "manifest.json").string() +
                                        ": input.hash_bits: expected an integer, got the string "
                                        "\"many\"");
}

}  // namespace
}  // namespace parasol
