#include "model/sparse_table.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace parasol {
namespace {

constexpr size_t kInitialCapacity = 64;  // per shard, a power of two
// Rows are carved out of chunks that start small (tables with few rows stay small) and double up
// to 1 MiB.
constexpr size_t kFirstChunkBytes = 4 << 10;
constexpr size_t kMaxChunkBytes = 1 << 20;

}  // namespace

SparseTable::SparseTable(int row_floats, RowInit init)
    : row_floats_(row_floats), init_(std::move(init)), shards_(new Shard[kShards]) {
  for (int s = 0; s < kShards; ++s) {
    shards_[s].indexes.push_back(std::make_unique<Index>(kInitialCapacity));
    shards_[s].index.store(shards_[s].indexes.back().get(), std::memory_order_release);
  }
}

SparseTable::~SparseTable() = default;

float* SparseTable::Probe(const Index& index, uint64_t key, uint64_t h) {
  for (size_t i = h & index.mask;; i = (i + 1) & index.mask) {
    const Slot& slot = index.slots[i];
    float* row = slot.row.load(std::memory_order_acquire);
    if (row == nullptr) return nullptr;
    if (slot.key.load(std::memory_order_relaxed) == key) return row;
  }
}

const float* SparseTable::Find(uint64_t key) const {
  const uint64_t h = Spread(key);
  const Shard& shard = shards_[h >> (64 - kShardBits)];
  return Probe(*shard.index.load(std::memory_order_acquire), key, h);
}

float* SparseTable::FindOrInsert(uint64_t key) {
  const uint64_t h = Spread(key);
  Shard& shard = shards_[h >> (64 - kShardBits)];
  if (float* row = Probe(*shard.index.load(std::memory_order_acquire), key, h)) return row;
  std::lock_guard<std::mutex> lock(shard.mu);
  return InsertLocked(shard, key, h);
}

void SparseTable::Reserve(size_t rows) {
  // Keys spread over shards binomially: leave room for a few standard deviations above the
  // mean, so that no shard has to grow past its reserved index.
  const double mean = static_cast<double>(rows) / kShards;
  const size_t per_shard = static_cast<size_t>(mean + 4 * std::sqrt(mean)) + 1;
  size_t capacity = kInitialCapacity;
  while (per_shard * 10 > capacity * 7) capacity *= 2;
  for (int s = 0; s < kShards; ++s) {
    Shard& shard = shards_[s];
    std::lock_guard<std::mutex> lock(shard.mu);
    if (shard.count != 0 || shard.indexes.size() != 1 || capacity <= shard.indexes[0]->mask + 1) {
      continue;
    }
    shard.indexes[0] = std::make_unique<Index>(capacity);
    shard.index.store(shard.indexes[0].get(), std::memory_order_release);
  }
}

void SparseTable::Put(uint64_t key, const float* values) {
  const uint64_t h = Spread(key);
  Shard& shard = shards_[h >> (64 - kShardBits)];
  std::lock_guard<std::mutex> lock(shard.mu);
  float* row = InsertLocked(shard, key, h);
  std::memcpy(row, values, sizeof(float) * row_floats_);
}

float* SparseTable::InsertLocked(Shard& shard, uint64_t key, uint64_t h, const float* values) {
  Index* index = shard.index.load(std::memory_order_relaxed);
  if (float* row = Probe(*index, key, h)) return row;  // another thread inserted it meanwhile
  if ((shard.count + 1) * 10 > (index->mask + 1) * 7) {
    GrowLocked(shard);
    index = shard.index.load(std::memory_order_relaxed);
  }
  float* row = AllocateRowLocked(shard);
  if (values != nullptr) {
    std::memcpy(row, values, sizeof(float) * row_floats_);
  } else {
    init_(key, row);
  }

  size_t i = h & index->mask;
  while (index->slots[i].row.load(std::memory_order_relaxed) != nullptr) i = (i + 1) & index->mask;
  index->slots[i].key.store(key, std::memory_order_relaxed);
  index->slots[i].row.store(row, std::memory_order_release);  // publishes key and row contents
  ++shard.count;
  return row;
}

float* SparseTable::AllocateRowLocked(Shard& shard) {
  if (shard.chunk_rows_left == 0) {
    const size_t bytes =
        std::min(kMaxChunkBytes, kFirstChunkBytes << std::min<size_t>(shard.chunks.size(), 8));
    const size_t rows = std::max<size_t>(1, bytes / (sizeof(float) * row_floats_));
    shard.chunks.emplace_back(new float[rows * row_floats_]);
    shard.chunk_bytes += rows * row_floats_ * sizeof(float);
    shard.chunk_next = shard.chunks.back().get();
    shard.chunk_rows_left = rows;
  }
  float* row = shard.chunk_next;
  shard.chunk_next += row_floats_;
  --shard.chunk_rows_left;
  return row;
}

void SparseTable::Replace(uint64_t key, const float* values) {
  const uint64_t h = Spread(key);
  Shard& shard = shards_[h >> (64 - kShardBits)];
  std::lock_guard<std::mutex> lock(shard.mu);
  Index* index = shard.index.load(std::memory_order_relaxed);
  for (size_t i = h & index->mask;; i = (i + 1) & index->mask) {
    Slot& slot = index->slots[i];
    if (slot.row.load(std::memory_order_relaxed) == nullptr) break;
    if (slot.key.load(std::memory_order_relaxed) == key) {
      float* row = AllocateRowLocked(shard);
      std::memcpy(row, values, sizeof(float) * row_floats_);
      slot.row.store(row, std::memory_order_release);  // publishes the filled row
      return;
    }
  }
  InsertLocked(shard, key, h, values);
}

void SparseTable::GrowLocked(Shard& shard) {
  const Index& old = *shard.index.load(std::memory_order_relaxed);
  auto grown = std::make_unique<Index>((old.mask + 1) * 2);
  for (size_t i = 0; i <= old.mask; ++i) {
    float* row = old.slots[i].row.load(std::memory_order_relaxed);
    if (row == nullptr) continue;
    const uint64_t key = old.slots[i].key.load(std::memory_order_relaxed);
    size_t j = Spread(key) & grown->mask;
    while (grown->slots[j].row.load(std::memory_order_relaxed) != nullptr)
      j = (j + 1) & grown->mask;
    grown->slots[j].key.store(key, std::memory_order_relaxed);
    grown->slots[j].row.store(row, std::memory_order_relaxed);
  }
  shard.index.store(grown.get(), std::memory_order_release);
  shard.indexes.push_back(std::move(grown));
}

size_t SparseTable::size() const {
  size_t total = 0;
  for (int s = 0; s < kShards; ++s) {
    std::lock_guard<std::mutex> lock(shards_[s].mu);
    total += shards_[s].count;
  }
  return total;
}

size_t SparseTable::bytes() const {
  size_t total = sizeof(Shard) * kShards;
  for (int s = 0; s < kShards; ++s) {
    const Shard& shard = shards_[s];
    std::lock_guard<std::mutex> lock(shard.mu);
    for (const auto& index : shard.indexes) total += (index->mask + 1) * sizeof(Slot);
    total += shard.chunk_bytes;
  }
  return total;
}

void SparseTable::ForEach(const std::function<void(uint64_t, const float*)>& fn) const {
  for (int s = 0; s < kShards; ++s) {
    const Shard& shard = shards_[s];
    std::lock_guard<std::mutex> lock(shard.mu);
    const Index& index = *shard.index.load(std::memory_order_relaxed);
    for (size_t i = 0; i <= index.mask; ++i) {
      const float* row = index.slots[i].row.load(std::memory_order_relaxed);
      if (row != nullptr) fn(index.slots[i].key.load(std::memory_order_relaxed), row);
    }
  }
}

std::vector<std::pair<uint64_t, const float*>> SparseTable::SortedRows() const {
  std::vector<std::pair<uint64_t, const float*>> rows;
  rows.reserve(size());
  ForEach([&](uint64_t key, const float* row) { rows.emplace_back(key, row); });
  std::sort(rows.begin(), rows.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  return rows;
}

}  // namespace parasol
