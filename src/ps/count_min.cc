#include "ps/count_min.h"

#include <algorithm>
#include <limits>

#include "ps/shard_map.h"

namespace parasol {

CountMinSketch::CountMinSketch(uint64_t width) {
  uint64_t w = 1024;
  while (w < width) w <<= 1;
  mask_ = w - 1;
  counters_.reset(new std::atomic<uint16_t>[kDepth * w]);
  for (uint64_t i = 0; i < kDepth * w; ++i) counters_[i].store(0, std::memory_order_relaxed);
}

uint64_t CountMinSketch::Slot(uint64_t key, int row) const {
  // Independent-enough hashes per row: the key offset by a row constant, then mixed (the input
  // differs from the shard map's own use, so a server's keys still spread over every counter).
  const uint64_t h = ShardMap::Mixed(key + 0x9e3779b97f4a7c15ULL * static_cast<uint64_t>(row + 1));
  return static_cast<uint64_t>(row) * (mask_ + 1) + (h & mask_);
}

uint32_t CountMinSketch::Add(uint64_t key) {
  uint32_t estimate = std::numeric_limits<uint32_t>::max();
  for (int r = 0; r < kDepth; ++r) {
    std::atomic<uint16_t>& c = counters_[Slot(key, r)];
    uint16_t v = c.load(std::memory_order_relaxed);
    while (v < std::numeric_limits<uint16_t>::max()) {  // saturating increment
      if (c.compare_exchange_weak(v, v + 1, std::memory_order_relaxed)) {
        ++v;
        break;
      }
    }
    estimate = std::min<uint32_t>(estimate, v);
  }
  return estimate;
}

uint32_t CountMinSketch::Estimate(uint64_t key) const {
  uint32_t estimate = std::numeric_limits<uint32_t>::max();
  for (int r = 0; r < kDepth; ++r) {
    estimate =
        std::min<uint32_t>(estimate, counters_[Slot(key, r)].load(std::memory_order_relaxed));
  }
  return estimate;
}

}  // namespace parasol
