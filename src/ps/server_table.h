// A parameter server's shard of one sparse table: rows of `dim` weights plus optimizer state,
// created on first touch with the model's initialiser, updated by the same Optimizer the
// single-machine trainer uses. Thread-safe: Pull and Push may run concurrently from any number
// of request threads; rows are guarded by lock stripes, so a pulled row is never torn.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "model/model.h"
#include "model/sparse_table.h"
#include "optim/optimizer.h"

namespace parasol {

struct ServerTableConfig {
  std::string name = "weights";
  ModelSpec model;            // row width and initial weights
  OptimizerConfig optimizer;  // the update rule applied to pushed gradients
};

struct ServerTableStats {
  std::string name;
  int dim = 0;
  uint64_t rows = 0;
  uint64_t bytes = 0;
  uint64_t pulled_keys = 0;
  uint64_t pushed_keys = 0;
};

class ServerTable {
 public:
  static absl::StatusOr<std::unique_ptr<ServerTable>> Create(const ServerTableConfig& config);

  const std::string& name() const { return config_.name; }
  int dim() const { return model_->dim(); }

  // Writes keys.size() * dim() weights into `out`, row-major, creating absent rows.
  // REQUIRES: out.size() == keys.size() * dim().
  void Pull(absl::Span<const uint64_t> keys, absl::Span<float> out);

  // Applies one optimizer step per key with its dim() gradients. A key listed twice gets two
  // steps (workers aggregate duplicates before sending). InvalidArgument when
  // grads.size() != keys.size() * dim() or a gradient is not finite; nothing is applied then.
  absl::Status Push(absl::Span<const uint64_t> keys, absl::Span<const float> grads);

  ServerTableStats Stats() const;

  // Calls fn(key, row) for every row (dim weights, then optimizer state), each row read under
  // its stripe lock. Concurrent pushes may land before or after a given row is visited.
  void ForEachRow(const std::function<void(uint64_t, const float*)>& fn);

  // The rows (weights then optimizer state) for checkpoints and tests. Not concurrent with Push.
  const SparseTable& table() const { return *table_; }
  const Optimizer& optimizer() const { return *optimizer_; }

 private:
  static constexpr int kStripes = 256;
  ServerTable(ServerTableConfig config, std::unique_ptr<Model> model,
              std::unique_ptr<Optimizer> optimizer);
  std::mutex& StripeOf(uint64_t key) { return stripes_[ShardHash(key) % kStripes].mu; }
  static uint64_t ShardHash(uint64_t key) { return (key * 0x9e3779b97f4a7c15ULL) >> 32; }

  const ServerTableConfig config_;
  const std::unique_ptr<Model> model_;
  const std::unique_ptr<Optimizer> optimizer_;
  std::unique_ptr<SparseTable> table_;
  struct alignas(64) Stripe {
    std::mutex mu;
  };
  std::unique_ptr<Stripe[]> stripes_;
  std::atomic<uint64_t> steps_{0};
  std::atomic<uint64_t> pulled_{0}, pushed_{0};
};

}  // namespace parasol
