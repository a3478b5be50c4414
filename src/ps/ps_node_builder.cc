#include "ps/ps_node_builder.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "ps/checkpoint.h"
#include "ps/shard_map.h"
#include "storage/checkpoint_dir.h"
#include "storage/model_dir.h"

namespace parasol {
namespace {

// Loads `table`'s range from checkpoint `dir` when the checkpoint has it (a dense table added
// since starts from its initial weights).
absl::Status RestoreDense(const std::string& dir, const CheckpointInfo& info, DenseTable* table) {
  for (const DenseTableCheckpoint& d : info.dense) {
    if (d.name != table->name()) continue;
    std::vector<float> weights, state;
    RETURN_IF_ERROR(LoadDenseTable(dir, d, &weights, &state));
    RETURN_IF_ERROR(table->Restore(weights, state));
    log::Info("ps server: restored dense table {} [{}, {}) from {}", d.name, table->range().begin,
              table->range().end, dir);
    return absl::OkStatus();
  }
  log::Info("ps server: {} has no dense table {}; it starts from initial weights", dir,
            table->name());
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<PsNode>> BuildPsNode(const PsNodeOptions& given) {
  PsNodeOptions options = given;
  if (options.restore_latest) {
    if (options.checkpoint_root.empty()) {
      return absl::InvalidArgumentError("--restore-latest needs --checkpoint-dir");
    }
    auto latest = LatestCheckpoint(options.checkpoint_root);
    if (latest.ok()) {
      options.restore = *latest;
      options.restore_clocks = true;
    } else if (latest.status().code() != absl::StatusCode::kNotFound) {
      return latest.status();
    }
  }
  ASSIGN_OR_RETURN(std::unique_ptr<ServerTable> table, ServerTable::Create(options.table));
  if (options.num_shards < 1 || options.shard < 0 || options.shard >= options.num_shards) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--shard ", options.shard, " is not in [0, --num-shards ", options.num_shards, ")"));
  }
  absl::StatusOr<CheckpointInfo> restored_from = absl::NotFoundError("no restore");
  std::vector<float> loaded_dense, loaded_dense_state;  // a deep model directory's layers
  if (!options.restore.empty()) {
    // Only this server's keys are kept while reading (not the whole checkpoint first).
    const ShardMap map(options.num_shards);
    const int shard = options.shard;
    ASSIGN_OR_RETURN(LoadedModel loaded,
                     LoadModelDir(options.restore, /*with_state=*/true,
                                  [&](uint64_t key) { return map.ServerOf(key) == shard; }));
    restored_from = ReadCheckpointInfo(options.restore);
    loaded_dense = std::move(loaded.dense);
    loaded_dense_state = std::move(loaded.dense_state);
    // Deltas may follow only when this server holds exactly a shard of that checkpoint.
    const bool same_layout =
        restored_from.ok() && static_cast<int>(restored_from->shards.size()) == options.num_shards;
    const std::string name =
        std::filesystem::path(options.restore).lexically_normal().filename().string();
    RETURN_IF_ERROR(
        table->Restore(loaded, options.shard, options.num_shards, same_layout ? name : ""));
    log::Info("ps server: restored {} rows (shard {} of {}) from {}", table->Stats().rows,
              options.shard, options.num_shards, options.restore);
  }
  if (IsDeep(options.table.model.type)) {
    // The deep model's layers: one dense table, starting as the single-machine trainer starts.
    ASSIGN_OR_RETURN(auto model, Model::Create(options.table.model));
    auto initial = std::make_shared<std::vector<float>>(model->dense_size());
    model->InitDense(initial->data());
    for (const DenseTableSpec& spec : options.dense) {
      if (spec.name == kDenseTableName) {
        return absl::InvalidArgumentError(
            absl::StrCat("--dense ", spec.name, ": that name is the deep model's own dense table"));
      }
    }
    options.dense.push_back(
        {kDenseTableName, initial->size(), options.table.dense_optimizer, std::move(initial)});
  }
  std::vector<std::unique_ptr<DenseTable>> dense;
  for (const DenseTableSpec& spec : options.dense) {
    if (spec.name == options.table.name) {
      return absl::InvalidArgumentError(absl::StrCat(
          "dense table '", spec.name, "': the sparse table is already called '", spec.name, "'"));
    }
    DenseTableConfig config;
    config.name = spec.name;
    config.size = spec.size;
    config.init_scale = options.table.model.init_scale;
    config.seed = options.table.model.seed;
    config.optimizer = spec.optimizer.value_or(options.table.optimizer);
    config.initial = spec.initial;
    ASSIGN_OR_RETURN(std::unique_ptr<DenseTable> d,
                     DenseTable::Create(config, options.shard, options.num_shards));
    if (restored_from.ok()) {
      RETURN_IF_ERROR(RestoreDense(options.restore, *restored_from, d.get()));
    } else if (!loaded_dense.empty() && spec.name == kDenseTableName) {
      // A model directory (not a checkpoint): its dense layers, with their optimizer state.
      RETURN_IF_ERROR(d->Restore(loaded_dense, loaded_dense_state));
      log::Info("ps server: restored dense table {} [{}, {}) from {}", spec.name, d->range().begin,
                d->range().end, options.restore);
    }
    dense.push_back(std::move(d));
  }
  std::vector<std::unique_ptr<ServerTable>> tables;
  tables.push_back(std::move(table));
  auto node =
      std::make_unique<PsNode>(std::move(tables), std::move(dense), options.checkpoint_root);
  if (options.restore_clocks && restored_from.ok()) {
    node->RestoreClocks(restored_from->worker_clocks);
  }
  return node;
}

}  // namespace parasol
