// Servable::ApplyDelta under load: requests reading rows while deltas are applied in place see
// every row whole (all of one delta's values), never half old and half new, in every precision
// of the served rows.
#include "serve/servable.h"

#include <algorithm>
#include <atomic>
#include <thread>

#include "gtest/gtest.h"
#include "serve/test_models.h"

namespace parasol {
namespace {

namespace fs = std::filesystem;

constexpr int kK = 31;  // FM factors: rows of 32 floats, 128 bytes
constexpr uint64_t kKeys = 2000;

// Checkpoint `id` of an FM model whose rows (keys 1..kKeys) all hold `value` in every float;
// a delta over checkpoint id - 1 unless id is 1.
void WriteFmCheckpoint(const fs::path& dir, int64_t id, float value) {
  fs::create_directories(dir);
  ModelSpec spec;
  spec.type = ModelType::kFm;
  spec.k = kK;
  const std::vector<float> row(1 + kK, value);
  std::vector<std::pair<uint64_t, const float*>> rows;
  for (uint64_t key = 1; key <= kKeys; ++key) rows.emplace_back(key, row.data());
  auto file = WriteTableFile((dir / "weights-0-of-1.bin").string(), rows, 1 + kK, 0, nullptr, 0);
  ASSERT_TRUE(file.ok()) << file.status();
  file->delta = id > 1;
  OptimizerConfig optimizer;
  optimizer.name = "sgd";
  CheckpointInfo info;
  info.id = id;
  info.previous = id > 1 ? CheckpointDirName(id - 1) : "";
  info.shards = {*file};
  info.worker_clocks = {-1};
  ASSERT_TRUE(WriteCheckpointManifest(dir.string(),
                                      BuildManifest(spec, optimizer, InputSpec{}, 0, "{}"), info)
                  .ok());
}

TEST(ServableTest, ConcurrentLookupsNeverSeeAHalfAppliedRow) {
  testing::TempDir tmp;
  constexpr int kDeltas = 80;
  for (int id = 1; id <= kDeltas + 1; ++id) {
    ASSERT_NO_FATAL_FAILURE(WriteFmCheckpoint(tmp.path() / std::to_string(id), id, float(id)));
  }
  // Every precision of the served rows (rows of one value are exact in fp16 and int8 alike).
  for (RowPrecision precision : {RowPrecision::kFp32, RowPrecision::kFp16, RowPrecision::kInt8}) {
    SCOPED_TRACE(RowPrecisionName(precision));
    auto servable = Servable::Load((tmp.path() / "1").string(), 1, {precision});
    ASSERT_TRUE(servable.ok()) << servable.status();
    Servable& s = **servable;
    ASSERT_EQ(s.dim(), 1 + kK);
    ASSERT_EQ(s.checkpoint_id(), 1);

    std::vector<uint64_t> keys;
    for (uint64_t key = 1; key <= kKeys; ++key) keys.push_back(key);
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> torn{0}, lookups{0};
    auto reader = [&] {
      std::vector<float> values(keys.size() * s.dim());
      std::unique_ptr<bool[]> found(new bool[keys.size()]);
      while (!stop.load()) {
        s.Lookup(keys, values.data(), found.get());
        for (size_t i = 0; i < keys.size(); ++i) {
          const float* row = values.data() + i * s.dim();
          if (!found[i] || std::count(row, row + s.dim(), row[0]) != s.dim()) ++torn;
        }
        ++lookups;
      }
    };
    std::vector<std::thread> readers;
    for (int t = 0; t < 2; ++t) readers.emplace_back(reader);
    for (int id = 2; id <= kDeltas + 1; ++id) {
      auto rows = s.ApplyDelta((tmp.path() / std::to_string(id)).string());
      ASSERT_TRUE(rows.ok()) << rows.status();
      EXPECT_EQ(*rows, kKeys);
    }
    stop = true;
    for (auto& t : readers) t.join();
    EXPECT_EQ(torn.load(), 0u) << "in " << lookups.load() << " lookups of " << kKeys << " rows";
    EXPECT_GT(lookups.load(), 0u);
    EXPECT_EQ(s.checkpoint_id(), kDeltas + 1);
    std::vector<float> values(s.dim());
    bool found = false;
    s.Lookup(absl::MakeConstSpan(&keys[kKeys / 2], 1), values.data(), &found);
    EXPECT_TRUE(found);
    EXPECT_EQ(values[kK], float(kDeltas + 1));
    // Applying the last delta again is refused: the version is past its base now.
    auto again = s.ApplyDelta((tmp.path() / std::to_string(kDeltas + 1)).string());
    EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition);
  }
}

}  // namespace
}  // namespace parasol
