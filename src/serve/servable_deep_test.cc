// A deep model's served version under load: deltas swap its dense layers while requests score,
// and every probability a request gets is one that some single version of the layers gives (the
// layers of one delta, never old ones mixed with new ones).
#include <algorithm>
#include <atomic>
#include <random>
#include <set>
#include <thread>

#include "gtest/gtest.h"
#include "model/model.h"
#include "serve/servable.h"
#include "serve/test_models.h"

namespace parasol {
namespace {

namespace fs = std::filesystem;

constexpr int kFields = 3;
constexpr int kEmbedding = 4;
constexpr int kRowDim = 1 + kEmbedding;
constexpr uint64_t kKeys = 50;

ModelSpec DeepSpec() {
  ModelSpec spec;
  spec.type = ModelType::kDeepFm;
  spec.num_fields = kFields;
  spec.embedding_dim = kEmbedding;
  spec.hidden = {16, 16, 16};
  return spec;
}

// Checkpoint `id`: the same embedding rows every time (a delta over id - 1 unless id is 1), and
// dense layers of their own, drawn from seed `id`, so each checkpoint's layers score apart.
void WriteDeepCheckpoint(const fs::path& dir, int64_t id) {
  fs::create_directories(dir);
  const ModelSpec spec = DeepSpec();
  auto model = Model::Create(spec);
  ASSERT_TRUE(model.ok()) << model.status();
  std::mt19937 rng(7);  // rows: the same in every checkpoint
  std::normal_distribution<float> normal(0, 0.3f);
  std::vector<std::vector<float>> rows;
  std::vector<std::pair<uint64_t, const float*>> keyed;
  for (uint64_t key = 0; key <= kKeys; ++key) {
    rows.emplace_back(kRowDim);
    for (float& w : rows.back()) w = normal(rng);
  }
  for (uint64_t key = 0; key <= kKeys; ++key) {
    keyed.emplace_back(key == 0 ? kBiasKey : key, rows[key].data());
  }
  std::sort(keyed.begin(), keyed.end());  // table files are sorted by key
  auto sparse =
      WriteTableFile((dir / "weights-0-of-1.bin").string(), keyed, kRowDim, 0, nullptr, 0);
  ASSERT_TRUE(sparse.ok()) << sparse.status();
  sparse->delta = id > 1;

  std::vector<float> layers((*model)->dense_size());
  (*model)->InitDense(layers.data());
  std::mt19937 layer_rng(static_cast<uint32_t>(id));
  std::normal_distribution<float> noise(0, 0.2f);  // the output layer starts at zero
  for (float& w : layers) w += noise(layer_rng);
  std::vector<std::pair<uint64_t, const float*>> indexed;
  for (size_t i = 0; i < layers.size(); ++i) indexed.emplace_back(i, &layers[i]);
  auto dense = WriteTableFile((dir / "dense-0-of-1.bin").string(), indexed, 1, 0, nullptr, 0);
  ASSERT_TRUE(dense.ok()) << dense.status();

  OptimizerConfig sgd;
  sgd.name = "sgd";
  ModelManifest manifest = BuildManifest(spec, sgd, InputSpec{}, kKeys, "{}");
  manifest.dense_optimizer = sgd;
  CheckpointInfo info;
  info.id = id;
  info.previous = id > 1 ? CheckpointDirName(id - 1) : "";
  info.shards = {*sparse};
  info.worker_clocks = {-1};
  info.dense = {{kDenseTableName, layers.size(), 0, {*dense}}};
  ASSERT_TRUE(WriteCheckpointManifest(dir.string(), manifest, info).ok());
}

std::vector<RawInstance> Requests() {
  std::vector<RawInstance> rows;
  for (int i = 0; i < 20; ++i) {
    RawInstance row;
    row.where = absl::StrCat("instances[", i, "]");
    row.is_text = true;
    row.text = absl::StrCat("0:", 1 + i, ":1 1:", 21 + i, ":1 2:", 41 + i % 10, ":0.5");
    rows.push_back(row);
  }
  return rows;
}

TEST(ServableDeepTest, RequestsNeverScoreWithOldAndNewLayersMixed) {
  testing::TempDir tmp;
  constexpr int kDeltas = 40;
  for (int id = 1; id <= kDeltas + 1; ++id) {
    ASSERT_NO_FATAL_FAILURE(WriteDeepCheckpoint(tmp.path() / CheckpointDirName(id), id));
  }
  const std::vector<RawInstance> requests = Requests();
  const auto dir = [&](int id) { return (tmp.path() / CheckpointDirName(id)).string(); };

  // What each version's layers answer, alone: a version loaded fresh, then its deltas in turn.
  std::set<std::vector<float>> answers;
  std::vector<float> newest;
  {
    auto reference = Servable::Load(dir(1), 1);
    ASSERT_TRUE(reference.ok()) << reference.status();
    for (int id = 1; id <= kDeltas + 1; ++id) {
      if (id > 1) {
        ASSERT_TRUE((*reference)->ApplyDelta(dir(id)).ok());
      }
      auto probs = (*reference)->Predict(requests);
      ASSERT_TRUE(probs.ok()) << probs.status();
      answers.insert(*probs);
      newest = *probs;
    }
  }
  ASSERT_EQ(answers.size(), static_cast<size_t>(kDeltas + 1)) << "the versions must score apart";

  auto servable = Servable::Load(dir(1), 1);
  ASSERT_TRUE(servable.ok()) << servable.status();
  const Servable& s = **servable;
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> mixed{0}, scored{0}, failed{0};
  auto reader = [&] {
    while (!stop.load()) {
      auto probs = s.Predict(requests);
      if (!probs.ok()) {
        ++failed;
      } else if (answers.count(*probs) == 0) {
        ++mixed;
      }
      ++scored;
    }
  };
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t) readers.emplace_back(reader);
  for (int id = 2; id <= kDeltas + 1; ++id) {
    auto applied = (*servable)->ApplyDelta(dir(id));
    ASSERT_TRUE(applied.ok()) << applied.status();
    EXPECT_EQ(*applied, kKeys + 1);
    std::this_thread::yield();
  }
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(mixed.load(), 0u) << "in " << scored.load() << " requests";
  EXPECT_EQ(failed.load(), 0u);
  EXPECT_GT(scored.load(), 0u);
  // After the last delta, the newest layers answer.
  auto last = s.Predict(requests);
  ASSERT_TRUE(last.ok()) << last.status();
  EXPECT_EQ(*last, newest);
}

}  // namespace
}  // namespace parasol
