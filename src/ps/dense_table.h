// A parameter server's share of a dense table: `size` floats in all (the weights of a dense
// layer, say), split over the servers by contiguous index range — server s of n holds
// DenseRange(size, s, n) — with the same Optimizer the single-machine trainer uses applied to
// pushed gradients on the server. Thread-safe: pulls and pushes from any number of request
// threads; blocks of kBlock floats are locked one at a time, so a pulled block is never torn
// (a pull of several blocks may see a concurrent push on some of them: the same guarantee the
// sparse table gives per row).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "optim/optimizer.h"

namespace parasol {

struct IndexRange {
  uint64_t begin = 0, end = 0;  // [begin, end)
  uint64_t size() const { return end - begin; }
};

// The indexes of a `size`-float dense table that server `shard` of `num_shards` holds: even
// contiguous ranges, the first `size % num_shards` one longer.
IndexRange DenseRange(uint64_t size, int shard, int num_shards);

struct DenseTableConfig {
  std::string name;
  uint64_t size = 0;          // floats in the whole table (all servers)
  float init_scale = 0;       // initial weights uniform in [-init_scale, init_scale]; 0: zeros
  uint64_t seed = 0;          // of the initial weights (a hash of seed and index: any layout
                              // of servers starts from the same table)
  OptimizerConfig optimizer;  // the update rule applied to pushed gradients
  // When set (size floats): the whole table's initial weights, instead of init_scale and seed
  // (a deep model's layers start as DeepModel::InitDense says). Each server takes its range.
  std::shared_ptr<const std::vector<float>> initial;
};

// What a worker or a checkpoint needs to know of a dense table.
struct DenseTableInfo {
  std::string name;
  uint64_t size = 0;
  int state_per_weight = 0;
};

struct DenseTableStats {
  std::string name;
  uint64_t size = 0;  // of the whole table
  int state_per_weight = 0;
  IndexRange range;  // held here
  uint64_t bytes = 0;
  uint64_t pulled = 0, pushed = 0;  // floats
};

class DenseTable {
 public:
  // InvalidArgument for an empty name, size 0, a bad shard or a bad optimizer.
  static absl::StatusOr<std::unique_ptr<DenseTable>> Create(const DenseTableConfig& config,
                                                            int shard, int num_shards);

  const std::string& name() const { return config_.name; }
  uint64_t size() const { return config_.size; }
  IndexRange range() const { return range_; }
  int state_per_weight() const { return optimizer_->state_per_weight(); }

  // OutOfRange (naming `what`, e.g. "pull") unless [offset, offset + length) is inside range().
  absl::Status CheckRange(uint64_t offset, uint64_t length, const char* what) const;

  // Copies the weights of global indexes [offset, offset + out.size()) into `out`. OutOfRange
  // when that is not inside range().
  absl::Status Pull(uint64_t offset, absl::Span<float> out) const;

  // One optimizer step on global indexes [offset, offset + grads.size()). OutOfRange outside
  // range(), InvalidArgument for a gradient that is not finite; nothing is applied then.
  absl::Status Push(uint64_t offset, absl::Span<const float> grads);

  DenseTableStats Stats() const;

  // A consistent copy of this server's range for a checkpoint (block by block): one row per
  // index of [weight, state_per_weight() floats], range().size() rows. The table writes no files
  // (ps/shard_writer.h does).
  std::vector<float> CheckpointRows() const;

  // Takes this server's range from a whole table read back from a checkpoint (`weights` of
  // size(), `state` of size() * state_per_weight()). InvalidArgument on other sizes.
  absl::Status Restore(absl::Span<const float> weights, absl::Span<const float> state);

 private:
  static constexpr uint64_t kBlock = 4096;  // floats per lock
  DenseTable(DenseTableConfig config, IndexRange range, std::unique_ptr<Optimizer> optimizer);
  // Calls fn(local_begin, local_end) for each block of [offset, offset + length), under its lock.
  template <typename Fn>
  void ForEachBlock(uint64_t offset, uint64_t length, Fn&& fn) const;

  const DenseTableConfig config_;
  const IndexRange range_;
  const std::unique_ptr<Optimizer> optimizer_;
  std::vector<float> weights_;  // range_.size()
  std::vector<float> state_;    // range_.size() * state_per_weight(), interleaved per weight
  std::unique_ptr<std::mutex[]> locks_;  // one per block
  std::atomic<uint64_t> steps_{0};
  mutable std::atomic<uint64_t> pulled_{0};
  std::atomic<uint64_t> pushed_{0};
};

}  // namespace parasol
