// A count-min sketch of key frequencies for feature admission: Add(key) counts one sighting and
// returns an estimate of the key's sightings so far that never undercounts (collisions only
// inflate it). Counters saturate at 65535. Thread-safe (relaxed atomic saturating increments).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

namespace parasol {

class CountMinSketch {
 public:
  // `width` counters per row (rounded up to a power of two), kDepth rows.
  explicit CountMinSketch(uint64_t width);

  uint32_t Add(uint64_t key);
  uint32_t Estimate(uint64_t key) const;
  size_t bytes() const { return sizeof(std::atomic<uint16_t>) * kDepth * (mask_ + 1); }

  static constexpr int kDepth = 4;

 private:
  uint64_t Slot(uint64_t key, int row) const;

  uint64_t mask_;
  std::unique_ptr<std::atomic<uint16_t>[]> counters_;  // kDepth rows of mask_ + 1
};

}  // namespace parasol
