#include "common/hash.h"

#include <xxhash.h>

namespace parasol {
using hash_internal::Mix;

uint64_t FeatureKey(uint32_t field, std::string_view value) {
  return XXH3_64bits_withSeed(value.data(), value.size(), (uint64_t{field} << 1));
}

uint64_t CombineKeys(uint64_t a, uint64_t b) { return Mix(a * 0x9e3779b97f4a7c15ULL + b); }

float HashUniform(uint64_t seed, uint64_t key, uint32_t index) {
  const uint64_t h = Mix(Mix(seed ^ key) + index);
  // Top 24 bits → [0, 1) exactly representable, then to [-1, 1).
  return static_cast<float>(h >> 40) * (2.0f / 16777216.0f) - 1.0f;
}

}  // namespace parasol
