#include "serve/serving_table.h"

#include <malloc.h>

#include <algorithm>

#include "common/hash.h"

namespace parasol {

ServingTable::ServingTable(std::unique_ptr<SparseTable> table, int dim, RowPrecision precision)
    : codec_(precision, dim), zeros_(dim, 0.0f) {
  if (const float* bias = table->Find(kBiasKey)) bias_.store(bias[0]);
  if (precision == RowPrecision::kFp32) {
    table_ = std::move(table);
    return;
  }
  table_ = std::make_unique<SparseTable>(
      codec_.words(),
      [words = codec_.words()](uint64_t, float* row) { std::fill(row, row + words, 0.0f); });
  table_->Reserve(table->size());
  std::vector<float> encoded(codec_.words());
  table->ForEach([&](uint64_t key, const float* row) {
    codec_.Encode(row, encoded.data());
    table_->Put(key, encoded.data());
  });
  table.reset();
  // The fp32 rows were carved from 1 MiB chunks that glibc may keep in its heap after the
  // free; hand them back so the process's memory shows the smaller table.
  malloc_trim(0);
}

void ServingTable::Gather(const uint64_t* keys, size_t n, const float** rows,
                          std::vector<float>* scratch) const {
  if (codec_.precision() == RowPrecision::kFp32) {
    for (size_t i = 0; i < n; ++i) {
      const float* row = table_->Find(keys[i]);
      rows[i] = row == nullptr ? zeros_.data() : row;
    }
    return;
  }
  const int d = codec_.dim();
  scratch->resize(n * d);
  for (size_t i = 0; i < n; ++i) {
    const float* stored = table_->Find(keys[i]);
    if (stored == nullptr) {
      rows[i] = zeros_.data();
      continue;
    }
    float* row = scratch->data() + i * d;
    codec_.Decode(stored, row);
    rows[i] = row;
  }
}

void ServingTable::Lookup(absl::Span<const uint64_t> keys, float* values, bool* found) const {
  const SparseTable& table = *table_;
  const int d = codec_.dim();
  const size_t n = keys.size();
  // A lookup is two dependent misses (index slot, then row). Pipeline them over independent
  // keys: prefetch the slot of key i + 2A, resolve key i + A (its slot is in cache by now) and
  // prefetch its row, decode key i's row (in cache by now).
  constexpr size_t kAhead = 8;
  const float* ring[kAhead] = {};
  const size_t last_byte = sizeof(float) * codec_.words() - 1;
  auto resolve = [&](size_t j) {
    const float* row = table.Find(keys[j]);
    if (row != nullptr) {
      // Both ends: a row may straddle two cache lines (32-byte rows do half the time).
      __builtin_prefetch(row);
      __builtin_prefetch(reinterpret_cast<const char*>(row) + last_byte);
    }
    ring[j % kAhead] = row;
  };
  for (size_t j = 0; j < std::min(n, 2 * kAhead); ++j) table.Prefetch(keys[j]);
  for (size_t j = 0; j < std::min(n, kAhead); ++j) resolve(j);
  for (size_t i = 0; i < n; ++i) {
    const float* row = ring[i % kAhead];
    if (i + 2 * kAhead < n) table.Prefetch(keys[i + 2 * kAhead]);
    if (i + kAhead < n) resolve(i + kAhead);
    found[i] = row != nullptr;
    float* out = values + i * d;
    if (row == nullptr) {
      std::fill(out, out + d, 0.0f);
    } else {
      codec_.Decode(row, out);
    }
  }
}

void ServingTable::Replace(uint64_t key, const float* row) {
  if (codec_.precision() == RowPrecision::kFp32) {
    table_->Replace(key, row);
  } else {
    std::vector<float> encoded(codec_.words());
    codec_.Encode(row, encoded.data());
    table_->Replace(key, encoded.data());
  }
  if (key == kBiasKey) bias_.store(row[0], std::memory_order_relaxed);
}

}  // namespace parasol
