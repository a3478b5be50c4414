#include "ps/dense_table.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/hash.h"
#include "common/status_macros.h"

namespace parasol {

IndexRange DenseRange(uint64_t size, int shard, int num_shards) {
  const uint64_t n = static_cast<uint64_t>(num_shards), s = static_cast<uint64_t>(shard);
  const uint64_t base = size / n, extra = size % n;
  IndexRange r;
  r.begin = s * base + std::min(s, extra);
  r.end = r.begin + base + (s < extra ? 1 : 0);
  return r;
}

absl::StatusOr<std::unique_ptr<DenseTable>> DenseTable::Create(const DenseTableConfig& config,
                                                               int shard, int num_shards) {
  if (config.name.empty()) return absl::InvalidArgumentError("dense table name must not be empty");
  if (config.size == 0) {
    return absl::InvalidArgumentError(absl::StrCat("dense table '", config.name, "': size 0"));
  }
  if (num_shards < 1 || shard < 0 || shard >= num_shards) {
    return absl::InvalidArgumentError(absl::StrCat("dense table '", config.name, "': shard ", shard,
                                                   " is not in [0, ", num_shards, ")"));
  }
  if (config.initial != nullptr && config.initial->size() != config.size) {
    return absl::InvalidArgumentError(
        absl::StrCat("dense table '", config.name, "': ", config.initial->size(),
                     " initial weights for a table of ", config.size));
  }
  if (!(config.init_scale >= 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("dense table '", config.name, "': init_scale must be >= 0"));
  }
  ASSIGN_OR_RETURN(auto optimizer, CreateOptimizer(config.optimizer));
  return std::unique_ptr<DenseTable>(
      new DenseTable(config, DenseRange(config.size, shard, num_shards), std::move(optimizer)));
}

DenseTable::DenseTable(DenseTableConfig config, IndexRange range,
                       std::unique_ptr<Optimizer> optimizer)
    : config_(std::move(config)),
      range_(range),
      optimizer_(std::move(optimizer)),
      weights_(range.size()),
      state_(range.size() * optimizer_->state_per_weight()),
      locks_(new std::mutex[(range.size() + kBlock - 1) / kBlock + 1]) {
  for (uint64_t i = 0; i < range_.size(); ++i) {
    const uint64_t index = range_.begin + i;
    if (config_.initial != nullptr) {
      weights_[i] = (*config_.initial)[index];
      continue;
    }
    weights_[i] =
        config_.init_scale == 0 ? 0.0f : config_.init_scale * HashUniform(config_.seed, index, 0);
  }
  optimizer_->InitState(weights_.data(), state_.data(), static_cast<int>(range_.size()));
}

absl::Status DenseTable::CheckRange(uint64_t offset, uint64_t length, const char* what) const {
  if (offset < range_.begin || offset > range_.end || length > range_.end - offset) {
    return absl::OutOfRangeError(absl::StrCat(
        "dense table '", config_.name, "': ", what, " of [", offset, ", ", offset + length,
        ") is outside this server's range [", range_.begin, ", ", range_.end, ")"));
  }
  return absl::OkStatus();
}

template <typename Fn>
void DenseTable::ForEachBlock(uint64_t offset, uint64_t length, Fn&& fn) const {
  uint64_t at = offset - range_.begin;
  const uint64_t end = at + length;
  while (at < end) {
    const uint64_t block = at / kBlock;
    const uint64_t stop = std::min(end, (block + 1) * kBlock);
    std::lock_guard<std::mutex> lock(locks_[block]);
    fn(at, stop);
    at = stop;
  }
}

absl::Status DenseTable::Pull(uint64_t offset, absl::Span<float> out) const {
  RETURN_IF_ERROR(CheckRange(offset, out.size(), "pull"));
  const uint64_t first = offset - range_.begin;
  ForEachBlock(offset, out.size(), [&](uint64_t b, uint64_t e) {
    std::copy(weights_.begin() + b, weights_.begin() + e, out.begin() + (b - first));
  });
  pulled_.fetch_add(out.size(), std::memory_order_relaxed);
  return absl::OkStatus();
}

absl::Status DenseTable::Push(uint64_t offset, absl::Span<const float> grads) {
  RETURN_IF_ERROR(CheckRange(offset, grads.size(), "push"));
  for (size_t i = 0; i < grads.size(); ++i) {
    if (!std::isfinite(grads[i])) {
      return absl::InvalidArgumentError(absl::StrCat(
          "dense table '", config_.name, "': gradient of index ", offset + i, " is not finite"));
    }
  }
  const uint64_t step = steps_.fetch_add(1, std::memory_order_relaxed) + 1;
  const uint64_t first = offset - range_.begin;
  const int s = optimizer_->state_per_weight();
  ForEachBlock(offset, grads.size(), [&](uint64_t b, uint64_t e) {
    optimizer_->Update(weights_.data() + b, state_.data() + b * s, grads.data() + (b - first),
                       static_cast<int>(e - b), step);
  });
  pushed_.fetch_add(grads.size(), std::memory_order_relaxed);
  return absl::OkStatus();
}

DenseTableStats DenseTable::Stats() const {
  DenseTableStats s;
  s.name = config_.name;
  s.size = config_.size;
  s.range = range_;
  s.state_per_weight = optimizer_->state_per_weight();
  s.bytes = (weights_.size() + state_.size()) * sizeof(float);
  s.pulled = pulled_.load(std::memory_order_relaxed);
  s.pushed = pushed_.load(std::memory_order_relaxed);
  return s;
}

std::vector<float> DenseTable::CheckpointRows() const {
  const int s = optimizer_->state_per_weight();
  std::vector<float> rows(range_.size() * (1 + s));
  ForEachBlock(range_.begin, range_.size(), [&](uint64_t b, uint64_t e) {
    for (uint64_t i = b; i < e; ++i) {
      float* row = rows.data() + i * (1 + s);
      row[0] = weights_[i];
      std::copy_n(state_.data() + i * s, s, row + 1);
    }
  });
  return rows;
}

absl::Status DenseTable::Restore(absl::Span<const float> weights, absl::Span<const float> state) {
  const uint64_t s = static_cast<uint64_t>(optimizer_->state_per_weight());
  if (weights.size() != config_.size || state.size() != config_.size * s) {
    return absl::InvalidArgumentError(
        absl::StrCat("dense table '", config_.name, "': a checkpoint of ", weights.size(),
                     " weights and ", state.size(), " state floats does not fit size ",
                     config_.size, " with ", s, " state floats per weight"));
  }
  ForEachBlock(range_.begin, range_.size(), [&](uint64_t b, uint64_t e) {
    std::copy(weights.begin() + range_.begin + b, weights.begin() + range_.begin + e,
              weights_.begin() + b);
    std::copy(state.begin() + (range_.begin + b) * s, state.begin() + (range_.begin + e) * s,
              state_.begin() + b * s);
  });
  return absl::OkStatus();
}

}  // namespace parasol
