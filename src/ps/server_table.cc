#include "ps/server_table.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace parasol {

absl::StatusOr<std::unique_ptr<ServerTable>> ServerTable::Create(const ServerTableConfig& config) {
  if (config.name.empty()) return absl::InvalidArgumentError("table name must not be empty");
  ASSIGN_OR_RETURN(auto model, Model::Create(config.model));
  ASSIGN_OR_RETURN(auto optimizer, CreateOptimizer(config.optimizer));
  return std::unique_ptr<ServerTable>(
      new ServerTable(config, std::move(model), std::move(optimizer)));
}

ServerTable::ServerTable(ServerTableConfig config, std::unique_ptr<Model> model,
                         std::unique_ptr<Optimizer> optimizer)
    : config_(std::move(config)),
      model_(std::move(model)),
      optimizer_(std::move(optimizer)),
      stripes_(new Stripe[kStripes]) {
  const int dim = model_->dim();
  const Model* m = model_.get();
  const Optimizer* o = optimizer_.get();
  table_ = std::make_unique<SparseTable>(dim * (1 + o->state_per_weight()),
                                         [m, o, dim](uint64_t key, float* row) {
                                           m->InitRow(key, row);
                                           o->InitState(row, row + dim, dim);
                                         });
}

namespace {

// Random keys miss the cache twice (hash slot, then row), so both are fetched ahead: slots
// kSlotAhead keys ahead, rows (resolved and prefetched) kRowAhead keys ahead of their use.
constexpr size_t kSlotAhead = 16, kRowAhead = 8, kRing = 16;  // kRing >= kRowAhead, power of 2

template <typename Fn>
void ForEachRowPipelined(SparseTable& table, absl::Span<const uint64_t> keys, Fn&& fn) {
  float* ring[kRing];
  const size_t n = keys.size();
  auto resolve = [&](size_t i) {
    float* row = table.FindOrInsert(keys[i]);
    __builtin_prefetch(row);
    ring[i % kRing] = row;
  };
  for (size_t i = 0; i < std::min(n, kSlotAhead); ++i) table.Prefetch(keys[i]);
  for (size_t i = 0; i < std::min(n, kRowAhead); ++i) resolve(i);
  for (size_t i = 0; i < n; ++i) {
    if (i + kSlotAhead < n) table.Prefetch(keys[i + kSlotAhead]);
    if (i + kRowAhead < n) resolve(i + kRowAhead);
    fn(i, ring[i % kRing]);
  }
}

}  // namespace

void ServerTable::Pull(absl::Span<const uint64_t> keys, absl::Span<float> out) {
  const int d = dim();
  ForEachRowPipelined(*table_, keys, [&](size_t i, float* row) {
    std::lock_guard<std::mutex> lock(StripeOf(keys[i]));
    std::memcpy(out.data() + i * d, row, sizeof(float) * d);
  });
  pulled_.fetch_add(keys.size(), std::memory_order_relaxed);
}

absl::Status ServerTable::Push(absl::Span<const uint64_t> keys, absl::Span<const float> grads) {
  const size_t d = static_cast<size_t>(dim());
  if (grads.size() != keys.size() * d) {
    return absl::InvalidArgumentError(absl::StrCat("table '", config_.name, "': ", keys.size(),
                                                   " keys need ", keys.size() * d,
                                                   " gradients (dim ", d, "), got ", grads.size()));
  }
  for (size_t i = 0; i < grads.size(); ++i) {
    if (!std::isfinite(grads[i])) {
      return absl::InvalidArgumentError(absl::StrCat("table '", config_.name, "': gradient ", i,
                                                     " (key ", keys[i / d], ") is not finite"));
    }
  }
  const uint64_t step = steps_.fetch_add(1, std::memory_order_relaxed) + 1;
  ForEachRowPipelined(*table_, keys, [&](size_t i, float* row) {
    std::lock_guard<std::mutex> lock(StripeOf(keys[i]));
    optimizer_->Update(row, row + d, grads.data() + i * d, static_cast<int>(d), step);
  });
  pushed_.fetch_add(keys.size(), std::memory_order_relaxed);
  return absl::OkStatus();
}

void ServerTable::ForEachRow(const std::function<void(uint64_t, const float*)>& fn) {
  std::vector<float> copy(table_->row_floats());
  for (const auto& [key, row] : table_->SortedRows()) {
    {
      std::lock_guard<std::mutex> lock(StripeOf(key));
      std::memcpy(copy.data(), row, sizeof(float) * copy.size());
    }
    fn(key, copy.data());
  }
}

ServerTableStats ServerTable::Stats() const {
  ServerTableStats s;
  s.name = config_.name;
  s.dim = model_->dim();
  s.rows = table_->size();
  s.bytes = table_->bytes();
  s.pulled_keys = pulled_.load();
  s.pushed_keys = pushed_.load();
  return s;
}

}  // namespace parasol
