#include "model/sparse_table.h"

#include <algorithm>
#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace parasol {
namespace {

void InitWithKey(uint64_t key, float* row) {
  row[0] = static_cast<float>(key % 1000);
  row[1] = 0;
}

TEST(SparseTableTest, FindOrInsertCreatesOnceAndFindSeesIt) {
  SparseTable table(2, InitWithKey);
  EXPECT_EQ(table.Find(42), nullptr);
  float* row = table.FindOrInsert(42);
  ASSERT_NE(row, nullptr);
  EXPECT_EQ(row[0], 42.0f);
  row[1] = 7.0f;
  EXPECT_EQ(table.FindOrInsert(42), row);
  EXPECT_EQ(table.Find(42)[1], 7.0f);
  EXPECT_EQ(table.size(), 1u);
}

TEST(SparseTableTest, KeyZeroAndAllOnesAreOrdinaryKeys) {
  SparseTable table(2, InitWithKey);
  table.FindOrInsert(0)[1] = 1;
  table.FindOrInsert(~uint64_t{0})[1] = 2;
  EXPECT_EQ(table.Find(0)[1], 1);
  EXPECT_EQ(table.Find(~uint64_t{0})[1], 2);
}

TEST(SparseTableTest, RowsStayPutWhileTheIndexGrows) {
  SparseTable table(2, InitWithKey);
  std::vector<float*> rows;
  for (uint64_t k = 0; k < 100000; ++k) rows.push_back(table.FindOrInsert(k * 7919));
  for (uint64_t k = 0; k < 100000; ++k) {
    ASSERT_EQ(table.Find(k * 7919), rows[k]) << k;
  }
  EXPECT_EQ(table.size(), 100000u);
  EXPECT_GE(table.bytes(), 100000u * 2 * sizeof(float));
}

TEST(SparseTableTest, ConcurrentInsertsCreateEachKeyExactlyOnce) {
  SparseTable table(2, InitWithKey);
  constexpr int kThreads = 4;
  constexpr uint64_t kKeys = 50000;
  std::vector<std::vector<float*>> seen(kThreads, std::vector<float*>(kKeys));
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Every thread inserts the same keys, in a different order.
      for (uint64_t i = 0; i < kKeys; ++i) {
        const uint64_t k = (t % 2 == 0) ? i : kKeys - 1 - i;
        seen[t][k] = table.FindOrInsert(k);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(table.size(), kKeys);
  for (uint64_t k = 0; k < kKeys; ++k) {
    for (int t = 1; t < kThreads; ++t) ASSERT_EQ(seen[t][k], seen[0][k]) << k;
  }
}

TEST(SparseTableTest, ForEachVisitsEveryRowAndSortedKeysAreSorted) {
  SparseTable table(2, InitWithKey);
  std::set<uint64_t> keys;
  for (uint64_t k = 1; k < 5000; k += 3) {
    table.FindOrInsert(k * 0x9e3779b97f4a7c15ULL);
    keys.insert(k * 0x9e3779b97f4a7c15ULL);
  }
  std::set<uint64_t> visited;
  table.ForEach([&](uint64_t key, const float*) { visited.insert(key); });
  EXPECT_EQ(visited, keys);
  std::vector<uint64_t> sorted;
  for (const auto& [key, row] : table.SortedRows()) sorted.push_back(key);
  EXPECT_EQ(std::vector<uint64_t>(keys.begin(), keys.end()), sorted);
}

TEST(SparseTableTest, PutOverwritesContents) {
  SparseTable table(2, InitWithKey);
  const float values[2] = {3.5f, -1.0f};
  table.Put(9, values);
  EXPECT_EQ(table.Find(9)[0], 3.5f);
  EXPECT_EQ(table.Find(9)[1], -1.0f);
}

// The model server's in-place deltas: readers scoring while rows are replaced (and new keys
// added, growing the index) see each row whole, as before or as after, never a mix.
TEST(SparseTableTest, ReplaceUnderConcurrentFindsNeverShowsATornRow) {
  constexpr int kFloats = 64;  // 256-byte rows: an in-place copy would be seen half done
  constexpr uint64_t kKeys = 512;
  SparseTable table(kFloats, [](uint64_t, float*) {});
  std::vector<float> row(kFloats, 0.0f);
  for (uint64_t k = 0; k < kKeys; ++k) table.Put(k, row.data());
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> torn{0}, reads{0}, seen_new{0};
  auto reader = [&] {
    uint64_t k = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      k = (k * 6364136223846793005ULL + 1442695040888963407ULL);
      const float* r = table.Find((k >> 33) % (2 * kKeys));
      if (r == nullptr) continue;
      const float first = r[0];
      for (int i = 1; i < kFloats; ++i) {
        if (r[i] != first) {
          ++torn;
          break;
        }
      }
      if (first > 0) ++seen_new;
      ++reads;
    }
  };
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t) readers.emplace_back(reader);
  for (int round = 1; round <= 200; ++round) {
    std::fill(row.begin(), row.end(), static_cast<float>(round));
    for (uint64_t k = 0; k < kKeys; ++k) table.Replace(k, row.data());
    // New keys arrive with their contents: never seen uninitialised.
    for (uint64_t k = kKeys + (round - 1) * 2; k < kKeys + round * 2; ++k) {
      table.Replace(k, row.data());
    }
  }
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(torn.load(), 0u) << "of " << reads.load() << " reads";
  EXPECT_GT(seen_new.load(), 0u);
  for (uint64_t k = 0; k < kKeys + 400; ++k) {
    const float* r = table.Find(k);
    ASSERT_NE(r, nullptr) << k;
    EXPECT_EQ(r[kFloats - 1], k < kKeys ? 200.0f : static_cast<float>((k - kKeys) / 2 + 1));
  }
  EXPECT_EQ(table.size(), kKeys + 400);
}

TEST(SparseTableTest, ReserveSizesTheIndexOnceForALoad) {
  constexpr uint64_t kRows = 200000;
  SparseTable grown(2, [](uint64_t, float* row) { row[0] = row[1] = 0; });
  SparseTable reserved(2, [](uint64_t, float* row) { row[0] = row[1] = 0; });
  reserved.Reserve(kRows);
  const float row[2] = {1, 2};
  for (uint64_t key = 0; key < kRows; ++key) {
    grown.Put(key * 7919, row);
    reserved.Put(key * 7919, row);
  }
  ASSERT_EQ(reserved.size(), kRows);
  for (uint64_t key = 0; key < kRows; key += 97) {
    const float* found = reserved.Find(key * 7919);
    ASSERT_NE(found, nullptr) << key;
    EXPECT_EQ(found[1], 2.0f);
  }
  EXPECT_EQ(reserved.Find(3), nullptr);
  // The grown table keeps every smaller index it outgrew; the reserved one has just its own.
  EXPECT_LT(reserved.bytes(), grown.bytes());
  // Reserving a table that has rows changes nothing.
  const size_t before = reserved.bytes();
  reserved.Reserve(10 * kRows);
  EXPECT_EQ(reserved.bytes(), before);
}

}  // namespace
}  // namespace parasol
