#include "ps/server_table.h"

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

void ServerTable::Pull(absl::Span<const uint64_t> keys, absl::Span<float> out) {
  const int d = dim();
  for (size_t i = 0; i < keys.size(); ++i) {
    float* row = table_->FindOrInsert(keys[i]);
    std::lock_guard<std::mutex> lock(StripeOf(keys[i]));
    std::memcpy(out.data() + i * d, row, sizeof(float) * d);
  }
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
  for (size_t i = 0; i < keys.size(); ++i) {
    float* row = table_->FindOrInsert(keys[i]);
    std::lock_guard<std::mutex> lock(StripeOf(keys[i]));
    optimizer_->Update(row, row + d, grads.data() + i * d, static_cast<int>(d), step);
  }
  pushed_.fetch_add(keys.size(), std::memory_order_relaxed);
  return absl::OkStatus();
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
