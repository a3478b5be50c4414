// Which parameter server owns a key: servers own contiguous ranges of the mixed key space, so
// keys spread evenly even when --hash-bits leaves only low bits set. A ShardMap is an immutable
// value; thread-safe.
#pragma once

#include <cstdint>

namespace parasol {

class ShardMap {
 public:
  explicit ShardMap(int num_servers) : num_servers_(num_servers < 1 ? 1 : num_servers) {}

  int num_servers() const { return num_servers_; }

  // The server in [0, num_servers) that owns `key`: server i owns the mixed keys in
  // [i * 2^64 / n, (i + 1) * 2^64 / n).
  int ServerOf(uint64_t key) const {
    const unsigned __int128 scaled = static_cast<unsigned __int128>(Mixed(key)) * num_servers_;
    return static_cast<int>(scaled >> 64);
  }

  // A bijection on 64-bit keys (the murmur3 finaliser); part of the checkpoint layout. Kept
  // distinct from SparseTable's internal mixer on purpose: if both took their top bits from
  // the same mix, all keys of one server would land in 1/S of its table's shards.
  static uint64_t Mixed(uint64_t key) {
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdULL;
    key ^= key >> 33;
    key *= 0xc4ceb9fe1a85ec53ULL;
    key ^= key >> 33;
    return key;
  }

 private:
  int num_servers_;
};

}  // namespace parasol
