// A parameter server's shard of one sparse table: rows of `dim` weights plus optimizer state,
// created on a key's first admitted push with the model's initialiser, updated by the same
// Optimizer the single-machine trainer uses. Thread-safe: Pull and Push may run concurrently from
// any number of request threads; writers lock stripes of rows and readers check a per-stripe
// version (a seqlock), so a pulled row is never torn.
//
// Memory bounds: with `min_count` > 1 a key gets a row only at its min_count-th pushed sighting
// (counted in a count-min sketch; earlier gradients are dropped and pulls answer the initial
// weights); with `ttl_seconds` > 0, EvictExpired() drops rows not updated for that long.
// Each row carries the time of its last update (10 ms ticks), which also selects the rows of an
// incremental checkpoint.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "model/model.h"
#include "model/sparse_table.h"
#include "optim/optimizer.h"
#include "ps/count_min.h"
#include "storage/model_dir.h"

namespace parasol {

struct ServerTableConfig {
  std::string name = "weights";
  ModelSpec model;            // row width and initial weights
  OptimizerConfig optimizer;  // the update rule applied to pushed gradients
  // Deep models: the dense layers' update rule (their table, kDenseTableName, is added by
  // BuildPsNode).
  OptimizerConfig dense_optimizer{.name = "adam"};
  uint32_t min_count = 0;  // admission: pushed sightings before a key gets a row (0, 1: at once)
  uint64_t sketch_width = 1 << 22;  // count-min counters per row when min_count > 1
  double ttl_seconds = 0;           // eviction of rows not updated for this long; 0: never
  // Seconds on a monotonic clock; tests substitute their own. Default: steady_clock.
  std::function<double()> clock;
};

struct ServerTableStats {
  std::string name;
  int dim = 0;
  uint64_t rows = 0;
  uint64_t bytes = 0;  // rows, indexes and the admission sketch
  uint64_t pulled_keys = 0;
  uint64_t pushed_keys = 0;
  uint64_t evicted_rows = 0;     // by TTL, since start
  uint64_t unadmitted_keys = 0;  // pushed gradients dropped because the key was not admitted yet
};

class ServerTable {
 public:
  static absl::StatusOr<std::unique_ptr<ServerTable>> Create(const ServerTableConfig& config);

  const std::string& name() const { return config_.name; }
  int dim() const { return model_->dim(); }
  // Floats per row as exported and checkpointed: dim weights, then optimizer state.
  int row_floats() const { return row_floats_; }
  const Optimizer& optimizer() const { return *optimizer_; }
  double ttl_seconds() const { return config_.ttl_seconds; }

  // Writes keys.size() * dim() weights into `out`, row-major. An absent key answers the model's
  // initial weights without creating a row. REQUIRES: out.size() == keys.size() * dim().
  void Pull(absl::Span<const uint64_t> keys, absl::Span<float> out);

  // Applies one optimizer step per key with its dim() gradients. A key listed twice gets two
  // steps (workers aggregate duplicates before sending). InvalidArgument when
  // grads.size() != keys.size() * dim() or a gradient is not finite; nothing is applied then.
  absl::Status Push(absl::Span<const uint64_t> keys, absl::Span<const float> grads);

  ServerTableStats Stats() const;
  // Whether `key` has a row.
  bool Contains(uint64_t key) const;

  // Calls fn(key, row) for every row in key order (row_floats() floats), each row copied under
  // its stripe lock. Concurrent pushes may land before or after a given row is visited.
  void ForEachRow(const std::function<void(uint64_t, const float*)>& fn);

  // Drops rows whose last update is older than ttl_seconds; returns how many. No-op without TTL.
  uint64_t EvictExpired();

  // Checkpoints (the table writes no files; ps/shard_writer.h does): decides whether checkpoint
  // `name` can be a delta over `previous` — only the rows updated since the checkpoint named
  // `previous`, when this table wrote or restored that one and nothing was evicted since — and
  // calls fn(key, row) in key order for every row it must hold (row_floats() floats). fn runs
  // under the row's stripe lock and must only copy the row. Returns whether it is a delta.
  // `name` becomes a valid `previous` for the next call.
  bool ForEachCheckpointRow(const std::string& name, const std::string& previous,
                            const std::function<void(uint64_t, const float*)>& fn);

  // Loads the rows of `loaded` (with optimizer state) that ShardMap(num_shards) gives to
  // `shard`, replacing this table's rows. With `checkpoint` non-empty, the next WriteCheckpoint
  // may write a delta over it (the caller says the shard layout is unchanged).
  absl::Status Restore(const LoadedModel& loaded, int shard, int num_shards,
                       const std::string& checkpoint);

 private:
  static constexpr int kStripes = 256;
  ServerTable(ServerTableConfig config, std::unique_ptr<Model> model,
              std::unique_ptr<Optimizer> optimizer);
  struct Stripe;
  std::mutex& StripeOf(uint64_t key) { return stripes_[ShardHash(key) % kStripes].mu; }
  Stripe& StripeFor(uint64_t key) { return stripes_[ShardHash(key) % kStripes]; }
  static uint64_t ShardHash(uint64_t key) { return (key * 0x9e3779b97f4a7c15ULL) >> 32; }
  uint32_t NowTick() const;  // 10 ms ticks since start, from 1
  static uint32_t TickOf(const float* row, int at);
  static void SetTick(float* row, int at, uint32_t tick);
  std::unique_ptr<SparseTable> NewTable() const;

  const ServerTableConfig config_;
  const std::unique_ptr<Model> model_;
  const std::unique_ptr<Optimizer> optimizer_;
  const int row_floats_;  // dim weights + state; the stored row has one more float: the tick
  const double start_;
  std::unique_ptr<CountMinSketch> sketch_;  // only with min_count > 1
  // Shared by Pull/Push/ForEachRow/ForEachCheckpointRow, exclusive while EvictExpired or Restore
  // replace the table. Lock order: checkpoint_mu_, then table_mu_, then a stripe.
  mutable std::shared_mutex table_mu_;
  std::unique_ptr<SparseTable> table_;
  // Writers of a row hold `mu` and make `version` odd while they write (a seqlock); Pull copies
  // a row without locking and copies again if the version moved, so readers never write shared
  // memory (a mutex per pulled key cost ~10% of a server's cycles).
  struct alignas(64) Stripe {
    std::mutex mu;
    std::atomic<uint32_t> version{0};
  };
  std::unique_ptr<Stripe[]> stripes_;
  std::atomic<uint64_t> steps_{0};
  std::atomic<uint64_t> pulled_{0}, pushed_{0}, evicted_{0}, unadmitted_{0};
  // Incremental checkpoints: rows with a tick >= the baseline of the named checkpoint changed
  // since it. `pending` was written but may not have become complete; `committed` is known good.
  std::mutex checkpoint_mu_;
  struct Baseline {
    std::string name;
    uint32_t tick = 0;
  } committed_, pending_;
  uint32_t last_eviction_tick_ = 0;  // guarded by checkpoint_mu_; a delta must not span it
};

}  // namespace parasol
