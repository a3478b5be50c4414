// A hash table from 64-bit feature keys to fixed-width float rows (weights followed by optimizer
// state), built for many threads training at once.
//
// Thread-safety: Find and FindOrInsert may be called concurrently from any number of threads.
// Lookups of existing keys take no lock (they probe an immutable-until-replaced index published
// with release/acquire); inserts lock one of kShards shards. Rows never move once created, so a
// returned pointer stays valid for the table's lifetime. Writes *into* rows by concurrent learners
// are unsynchronised by design (Hogwild-style updates, as in the trainers we compete with); the
// single-threaded trainer is exactly deterministic. ForEach must not run concurrently with
// FindOrInsert.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace parasol {

class SparseTable {
 public:
  // Fills a newly created row of `row_floats` floats for `key`.
  using RowInit = std::function<void(uint64_t key, float* row)>;

  SparseTable(int row_floats, RowInit init);
  ~SparseTable();
  SparseTable(const SparseTable&) = delete;
  SparseTable& operator=(const SparseTable&) = delete;

  int row_floats() const { return row_floats_; }

  // Returns the row of `key`, or nullptr when absent.
  const float* Find(uint64_t key) const;
  // Returns the row of `key`, creating and initialising it first when absent.
  float* FindOrInsert(uint64_t key);
  // Hints that `key` will be looked up soon: prefetches the slot its probe starts at.
  void Prefetch(uint64_t key) const {
    const uint64_t h = Spread(key);
    const Index* index = shards_[h >> (64 - kShardBits)].index.load(std::memory_order_acquire);
    __builtin_prefetch(&index->slots[h & index->mask]);
  }
  // Sizes the index for about `rows` rows at once, so that a loader filling an empty table does
  // not grow it step by step (each step keeps the smaller index alive: readers may still probe
  // it). Only for a table nothing has been inserted into yet, and before any concurrent use;
  // does nothing otherwise.
  void Reserve(size_t rows);
  // Inserts `key` with the given contents (overwriting an existing row); used by loaders.
  void Put(uint64_t key, const float* row);
  // Gives `key` the given contents by copy-on-write: a new row is filled first, then published
  // in the key's slot with one release store, so a concurrent Find sees the old row or the new
  // one, whole, never a mix. The old row's memory stays allocated (readers may still hold it)
  // until the table is destroyed; it counts in bytes(). For tables read while they are updated
  // (the model server's in-place deltas); may run concurrently with Find, not with ForEach.
  void Replace(uint64_t key, const float* row);

  size_t size() const;
  // Memory held by rows and indexes, in bytes.
  size_t bytes() const;

  // Calls fn(key, row) for every row, in no particular order.
  void ForEach(const std::function<void(uint64_t key, const float* row)>& fn) const;
  // (key, row) pairs in increasing key order (deterministic files): one pass, no lookups.
  std::vector<std::pair<uint64_t, const float*>> SortedRows() const;

  static constexpr int kShardBits = 6;
  static constexpr int kShards = 1 << kShardBits;

 private:
  struct Slot {
    std::atomic<uint64_t> key{0};
    std::atomic<float*> row{nullptr};  // nullptr marks an empty slot
  };
  struct Index {
    explicit Index(size_t capacity) : mask(capacity - 1), slots(new Slot[capacity]) {}
    size_t mask;
    std::unique_ptr<Slot[]> slots;
  };
  struct alignas(64) Shard {
    std::atomic<Index*> index{nullptr};
    mutable std::mutex mu;  // guards everything below
    size_t count = 0;
    std::vector<std::unique_ptr<Index>> indexes;  // current one last; older ones are kept until
                                                  // destruction because readers may still probe
    std::vector<std::unique_ptr<float[]>> chunks;
    size_t chunk_bytes = 0;  // allocated in `chunks`
    float* chunk_next = nullptr;
    size_t chunk_rows_left = 0;
  };

  static uint64_t Spread(uint64_t key) {
    // Keys are hashes already, but --hash-bits leaves only low bits: mix so that both the shard
    // (top bits) and the slot (low bits) are well distributed.
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdULL;
    key ^= key >> 33;
    return key;
  }
  static float* Probe(const Index& index, uint64_t key, uint64_t h);
  // Inserts `key` unless present, its row filled from `values` (or by init_ when null) before
  // it is published; returns the key's row.
  float* InsertLocked(Shard& shard, uint64_t key, uint64_t h, const float* values = nullptr);
  float* AllocateRowLocked(Shard& shard);
  void GrowLocked(Shard& shard);

  const int row_floats_;
  const RowInit init_;
  std::unique_ptr<Shard[]> shards_;
};

}  // namespace parasol
