#include "ps/server_table.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "ps/shard_map.h"

namespace parasol {

absl::StatusOr<std::unique_ptr<ServerTable>> ServerTable::Create(const ServerTableConfig& config) {
  if (config.name.empty()) return absl::InvalidArgumentError("table name must not be empty");
  if (!(config.ttl_seconds >= 0)) {
    return absl::InvalidArgumentError("ttl_seconds must be >= 0");
  }
  ASSIGN_OR_RETURN(auto model, Model::Create(config.model));
  ASSIGN_OR_RETURN(auto optimizer, CreateOptimizer(config.optimizer));
  return std::unique_ptr<ServerTable>(
      new ServerTable(config, std::move(model), std::move(optimizer)));
}

namespace {

double SteadySeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

ServerTable::ServerTable(ServerTableConfig config, std::unique_ptr<Model> model,
                         std::unique_ptr<Optimizer> optimizer)
    : config_(std::move(config)),
      model_(std::move(model)),
      optimizer_(std::move(optimizer)),
      row_floats_(model_->dim() * (1 + optimizer_->state_per_weight())),
      start_(config_.clock ? config_.clock() : SteadySeconds()),
      stripes_(new Stripe[kStripes]) {
  if (config_.min_count > 1) sketch_ = std::make_unique<CountMinSketch>(config_.sketch_width);
  table_ = NewTable();
}

std::unique_ptr<SparseTable> ServerTable::NewTable() const {
  const int dim = model_->dim(), at = row_floats_;
  const Model* m = model_.get();
  const Optimizer* o = optimizer_.get();
  return std::make_unique<SparseTable>(row_floats_ + 1, [m, o, dim, at](uint64_t key, float* row) {
    m->InitRow(key, row);
    o->InitState(row, row + dim, dim);
    SetTick(row, at, 0);
  });
}

uint32_t ServerTable::NowTick() const {
  const double now = config_.clock ? config_.clock() : SteadySeconds();
  const double ticks = std::max(0.0, (now - start_) * 100.0) + 1.0;
  return static_cast<uint32_t>(std::min(ticks, 4.0e9));
}

uint32_t ServerTable::TickOf(const float* row, int at) {
  uint32_t tick;
  std::memcpy(&tick, row + at, sizeof(tick));
  return tick;
}

void ServerTable::SetTick(float* row, int at, uint32_t tick) {
  std::memcpy(row + at, &tick, sizeof(tick));
}

namespace {

// Random keys miss the cache twice (hash slot, then row), so both are fetched ahead: slots
// kSlotAhead keys ahead, rows (resolved and prefetched) kRowAhead keys ahead of their use.
// resolve(key) gives the row or nullptr; fn(i, row) consumes it.
constexpr size_t kSlotAhead = 16, kRowAhead = 8, kRing = 16;  // kRing >= kRowAhead, power of 2

template <typename Resolve, typename Fn>
void ForEachRowPipelined(const SparseTable& table, absl::Span<const uint64_t> keys,
                         Resolve&& resolve, Fn&& fn) {
  float* ring[kRing];
  const size_t n = keys.size();
  auto fetch = [&](size_t i) {
    float* row = resolve(keys[i]);
    if (row != nullptr) __builtin_prefetch(row);
    ring[i % kRing] = row;
  };
  for (size_t i = 0; i < std::min(n, kSlotAhead); ++i) table.Prefetch(keys[i]);
  for (size_t i = 0; i < std::min(n, kRowAhead); ++i) fetch(i);
  for (size_t i = 0; i < n; ++i) {
    if (i + kSlotAhead < n) table.Prefetch(keys[i + kSlotAhead]);
    if (i + kRowAhead < n) fetch(i + kRowAhead);
    fn(i, ring[i % kRing]);
  }
}

}  // namespace

void ServerTable::Pull(absl::Span<const uint64_t> keys, absl::Span<float> out) {
  const int d = dim();
  std::shared_lock<std::shared_mutex> table_lock(table_mu_);
  const SparseTable& table = *table_;
  ForEachRowPipelined(
      table, keys, [&](uint64_t key) { return const_cast<float*>(table.Find(key)); },
      [&](size_t i, const float* row) {
        if (row == nullptr) {
          model_->InitRow(keys[i], out.data() + i * d);
          return;
        }
        const std::atomic<uint32_t>& version = StripeFor(keys[i]).version;
        while (true) {
          const uint32_t before = version.load(std::memory_order_acquire);
          if (before & 1u) continue;  // a push is writing a row of this stripe
          std::memcpy(out.data() + i * d, row, sizeof(float) * d);
          std::atomic_thread_fence(std::memory_order_acquire);
          if (version.load(std::memory_order_relaxed) == before) break;
        }
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
  const uint32_t tick = NowTick();
  uint64_t dropped = 0;
  std::shared_lock<std::shared_mutex> table_lock(table_mu_);
  SparseTable& table = *table_;
  ForEachRowPipelined(
      table, keys,
      [&](uint64_t key) -> float* {
        if (sketch_ == nullptr) return table.FindOrInsert(key);
        if (const float* row = table.Find(key)) return const_cast<float*>(row);
        return sketch_->Add(key) >= config_.min_count ? table.FindOrInsert(key) : nullptr;
      },
      [&](size_t i, float* row) {
        if (row == nullptr) {
          ++dropped;
          return;
        }
        Stripe& stripe = StripeFor(keys[i]);
        std::lock_guard<std::mutex> lock(stripe.mu);
        const uint32_t v = stripe.version.load(std::memory_order_relaxed);
        stripe.version.store(v + 1, std::memory_order_relaxed);
        std::atomic_thread_fence(std::memory_order_release);
        optimizer_->Update(row, row + d, grads.data() + i * d, static_cast<int>(d), step);
        SetTick(row, row_floats_, tick);
        stripe.version.store(v + 2, std::memory_order_release);
      });
  pushed_.fetch_add(keys.size() - dropped, std::memory_order_relaxed);
  if (dropped > 0) unadmitted_.fetch_add(dropped, std::memory_order_relaxed);
  return absl::OkStatus();
}

void ServerTable::ForEachRow(const std::function<void(uint64_t, const float*)>& fn) {
  std::vector<float> copy(row_floats_);
  std::shared_lock<std::shared_mutex> table_lock(table_mu_);
  for (const auto& [key, row] : table_->SortedRows()) {
    {
      std::lock_guard<std::mutex> lock(StripeOf(key));
      std::memcpy(copy.data(), row, sizeof(float) * copy.size());
    }
    fn(key, copy.data());
  }
}

uint64_t ServerTable::EvictExpired() {
  if (config_.ttl_seconds <= 0) return 0;
  const uint32_t now = NowTick();
  const double ttl_ticks = config_.ttl_seconds * 100.0;
  if (now <= ttl_ticks) return 0;
  const uint32_t cutoff = now - static_cast<uint32_t>(ttl_ticks);
  const int at = row_floats_;
  uint64_t expired = 0;
  {
    std::shared_lock<std::shared_mutex> table_lock(table_mu_);
    table_->ForEach([&](uint64_t, const float* row) { expired += TickOf(row, at) < cutoff; });
  }
  if (expired == 0) return 0;
  // Rows never move in a SparseTable, so survivors are copied into a new one. The checkpoint
  // lock (taken first, as ForEachCheckpointRow does) keeps a delta from missing these deletions.
  std::lock_guard<std::mutex> checkpoint_lock(checkpoint_mu_);
  std::unique_lock<std::shared_mutex> table_lock(table_mu_);
  auto fresh = NewTable();
  uint64_t dropped = 0;
  table_->ForEach([&](uint64_t key, const float* row) {
    if (TickOf(row, at) < cutoff) {
      ++dropped;
    } else {
      fresh->Put(key, row);
    }
  });
  table_ = std::move(fresh);
  evicted_.fetch_add(dropped, std::memory_order_relaxed);
  last_eviction_tick_ = now;
  return dropped;
}

bool ServerTable::ForEachCheckpointRow(const std::string& name, const std::string& previous,
                                       const std::function<void(uint64_t, const float*)>& fn) {
  std::lock_guard<std::mutex> checkpoint_lock(checkpoint_mu_);
  const uint32_t start_tick = NowTick();
  // `previous` is named only once complete, so a pending checkpoint it names is now committed.
  if (!previous.empty() && previous == pending_.name) committed_ = pending_;
  const uint32_t since = committed_.tick;
  const bool delta =
      !previous.empty() && previous == committed_.name && last_eviction_tick_ < since;
  {
    std::shared_lock<std::shared_mutex> table_lock(table_mu_);
    for (const auto& [key, row] : table_->SortedRows()) {
      std::lock_guard<std::mutex> lock(StripeOf(key));
      if (delta && TickOf(row, row_floats_) < since) continue;
      fn(key, row);
    }
  }
  pending_ = {name, start_tick};
  return delta;
}

absl::Status ServerTable::Restore(const LoadedModel& loaded, int shard, int num_shards,
                                  const std::string& checkpoint) {
  const ModelSpec& spec = loaded.manifest.spec;
  if (spec.type != config_.model.type || loaded.model->dim() != dim() ||
      loaded.manifest.optimizer.name != optimizer_->config().name) {
    return absl::InvalidArgumentError(absl::StrCat(
        "table '", config_.name, "': the checkpoint holds a ", ModelTypeName(spec.type),
        " model (dim ", loaded.model->dim(), ") trained with ", loaded.manifest.optimizer.name,
        "; this server runs ", ModelTypeName(config_.model.type), " (dim ", dim(), ") with ",
        optimizer_->config().name));
  }
  if (dim() + loaded.state_floats != row_floats_) {
    return absl::InvalidArgumentError("restore needs the checkpoint's optimizer state");
  }
  if (shard < 0 || shard >= num_shards) {
    return absl::InvalidArgumentError(
        absl::StrCat("shard ", shard, " is not in [0, ", num_shards, ")"));
  }
  const ShardMap map(num_shards);
  auto fresh = NewTable();
  std::vector<float> row(row_floats_ + 1);
  SetTick(row.data(), row_floats_, 0);
  loaded.table->ForEach([&](uint64_t key, const float* r) {
    if (map.ServerOf(key) != shard) return;
    std::memcpy(row.data(), r, sizeof(float) * row_floats_);
    fresh->Put(key, row.data());
  });
  std::lock_guard<std::mutex> checkpoint_lock(checkpoint_mu_);
  std::unique_lock<std::shared_mutex> table_lock(table_mu_);
  table_ = std::move(fresh);
  committed_ = {checkpoint, NowTick()};
  pending_ = {};
  last_eviction_tick_ = 0;
  return absl::OkStatus();
}

bool ServerTable::Contains(uint64_t key) const {
  std::shared_lock<std::shared_mutex> table_lock(table_mu_);
  return table_->Find(key) != nullptr;
}

ServerTableStats ServerTable::Stats() const {
  ServerTableStats s;
  s.name = config_.name;
  s.dim = model_->dim();
  {
    std::shared_lock<std::shared_mutex> table_lock(table_mu_);
    s.rows = table_->size();
    s.bytes = table_->bytes() + (sketch_ ? sketch_->bytes() : 0);
  }
  s.pulled_keys = pulled_.load();
  s.pushed_keys = pushed_.load();
  s.evicted_rows = evicted_.load();
  s.unadmitted_keys = unadmitted_.load();
  return s;
}

}  // namespace parasol
