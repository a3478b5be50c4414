// Feature hashing: every feature becomes a 64-bit key derived from (field, value). Stateless and
// thread-safe. Training, the parameter server and the model server must compute identical keys,
// so these functions are part of the model format: changing them breaks every saved model.
#pragma once

#include <cstdint>
#include <string_view>

namespace parasol {

namespace hash_internal {
// splitmix64 finaliser: a cheap bijective mixer with full avalanche.
inline uint64_t Mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}
}  // namespace hash_internal

// Key of a feature whose value is an integer id (libsvm index, bucket number, ...). Inline: it
// runs once per parsed feature.
inline uint64_t FeatureKey(uint32_t field, uint64_t id) {
  return hash_internal::Mix(id ^ hash_internal::Mix((uint64_t{field} << 1) | 1));
}

// Key of a feature whose value is a string (a categorical value, a crossed tuple, ...).
uint64_t FeatureKey(uint32_t field, std::string_view value);

// Combines two keys into one (used by crosses and combinehash); order-sensitive.
uint64_t CombineKeys(uint64_t a, uint64_t b);

// Reserved key of the model's global bias row. Feature keys never equal it when --hash-bits is
// used (keys are < 2^B <= 2^63); with full 64-bit keys a collision has probability 2^-64.
inline constexpr uint64_t kBiasKey = ~uint64_t{0};

// Applies --hash-bits B: keeps the low B bits (B in [1, 63]); B = 0 keeps the full key.
inline uint64_t MaskKey(uint64_t key, int hash_bits) {
  return hash_bits == 0 ? key : (key & ((uint64_t{1} << hash_bits) - 1));
}

// A deterministic float in [-1, 1) derived from (seed, key, index): initial weights depend only
// on the key, never on which thread or server created the row.
float HashUniform(uint64_t seed, uint64_t key, uint32_t index);

}  // namespace parasol
