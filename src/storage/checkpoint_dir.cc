#include "storage/checkpoint_dir.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "storage/manifest_json.h"

namespace parasol {
namespace {

namespace fs = std::filesystem;

// Deltas chain back to a whole shard file; longer chains mean a cycle in 'previous'.
constexpr int kMaxDeltaChain = 100000;

}  // namespace

std::string CheckpointDirName(int64_t id) {
  char name[32];
  std::snprintf(name, sizeof(name), "ckpt-%06lld", static_cast<long long>(id));
  return name;
}

absl::Status WriteCheckpointManifest(const std::string& dir, const ModelManifest& manifest,
                                     const CheckpointInfo& checkpoint) {
  ASSIGN_OR_RETURN(auto optimizer, CreateOptimizer(manifest.optimizer));
  ASSIGN_OR_RETURN(const int dim, ModelDim(manifest.spec));
  return WriteShardedManifest(dir, manifest, dim, dim * optimizer->state_per_weight(), checkpoint);
}

absl::StatusOr<CheckpointInfo> ReadCheckpointInfo(const std::string& dir) {
  ASSIGN_OR_RETURN(const ParsedManifest p, ReadManifest(dir));
  return ParseCheckpoint(p);
}

absl::StatusOr<std::vector<std::vector<ShardFile>>> ResolveDeltaChain(const std::string& dir,
                                                                      const std::string& where,
                                                                      CheckpointInfo top, int dim,
                                                                      int state_dim) {
  // The chain of checkpoints, newest first, read once: far enough back that every shard
  // reaches a whole file. Then each shard's files are listed oldest first.
  std::vector<std::pair<std::string, CheckpointInfo>> chain;
  const size_t shards = top.shards.size();
  chain.emplace_back(dir, std::move(top));
  // first_whole[s]: index in `chain` of shard s's newest whole file; SIZE_MAX: none yet.
  std::vector<size_t> first_whole(shards, SIZE_MAX);
  size_t missing = shards;
  for (size_t at = 0;; ++at) {
    for (size_t s = 0; s < shards; ++s) {
      if (first_whole[s] == SIZE_MAX && !chain[at].second.shards[s].delta) {
        first_whole[s] = at;
        --missing;
      }
    }
    if (missing == 0) break;
    const auto& [at_dir, at_info] = chain[at];
    if (at_info.previous.empty() || chain.size() > kMaxDeltaChain) {
      return absl::DataLossError(
          absl::StrCat(at_dir, ": a delta shard without a previous checkpoint"));
    }
    const std::string prev_dir = (fs::path(at_dir).parent_path() / at_info.previous).string();
    ASSIGN_OR_RETURN(const ParsedManifest prev, ReadManifest(prev_dir));
    if (prev.dim != dim || prev.state_dim != state_dim) {
      return absl::DataLossError(
          absl::StrCat(prev.where, ": table dimensions differ from ", where));
    }
    ASSIGN_OR_RETURN(CheckpointInfo prev_info, ParseCheckpoint(prev));
    if (prev_info.shards.size() != shards) {
      return absl::DataLossError(absl::StrCat(prev.where, ": ", prev_info.shards.size(),
                                              " shards, but the delta in ", dir, " has ", shards));
    }
    chain.emplace_back(prev_dir, std::move(prev_info));
  }
  std::vector<std::vector<ShardFile>> files(shards);
  for (size_t s = 0; s < shards; ++s) {
    for (size_t at = first_whole[s] + 1; at-- > 0;) {
      files[s].push_back({chain[at].first, chain[at].second.shards[s]});
    }
  }
  return files;
}

absl::StatusOr<CheckpointDelta> ReadCheckpointDelta(const std::string& dir) {
  ASSIGN_OR_RETURN(const ParsedManifest p, ReadManifest(dir));
  CheckpointDelta delta;
  auto info = ParseCheckpoint(p);
  if (absl::IsNotFound(info.status())) {
    return absl::FailedPreconditionError(absl::StrCat(
        p.where, ": not a parameter-server checkpoint (no 'checkpoint'), so not a delta"));
  }
  if (!info.ok()) return info.status();
  delta.checkpoint = std::move(*info);
  if (delta.checkpoint.previous.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat(p.where, ": a whole checkpoint (no 'previous'), not a delta"));
  }
  for (size_t s = 0; s < delta.checkpoint.shards.size(); ++s) {
    if (!delta.checkpoint.shards[s].delta) {
      return absl::FailedPreconditionError(absl::StrCat(
          p.where, ": shard ", s, " (", delta.checkpoint.shards[s].file,
          ") is a whole shard file, which can drop rows; an in-place update applies only delta "
          "shards (serve this checkpoint as a new version instead)"));
    }
  }
  delta.manifest = p.mf;
  delta.dim = p.dim;
  delta.rows = std::make_unique<SparseTable>(p.dim, [](uint64_t, float*) {});
  for (const TableFile& f : delta.checkpoint.shards) {
    RETURN_IF_ERROR(ReadTableFile((fs::path(dir) / f.file).string(), p.dim, p.state_dim, f.rows,
                                  f.checksum, /*with_state=*/false, delta.rows.get()));
  }
  return delta;
}

absl::Status LoadDenseTable(const std::string& dir, const DenseTableCheckpoint& table,
                            std::vector<float>* weights, std::vector<float>* state) {
  SparseTable rows(1 + table.state_dim, [](uint64_t, float*) {});
  for (const TableFile& f : table.shards) {
    RETURN_IF_ERROR(ReadTableFile((fs::path(dir) / f.file).string(), 1, table.state_dim, f.rows,
                                  f.checksum, /*with_state=*/true, &rows));
  }
  if (rows.size() != table.size) {
    return absl::DataLossError(absl::StrCat(dir, ": dense table '", table.name, "' has ",
                                            rows.size(), " indexes stored, expected ", table.size));
  }
  const size_t s = static_cast<size_t>(table.state_dim);
  weights->assign(table.size, 0.0f);
  state->assign(table.size * s, 0.0f);
  for (uint64_t i = 0; i < table.size; ++i) {
    const float* row = rows.Find(i);
    if (row == nullptr) {
      return absl::DataLossError(
          absl::StrCat(dir, ": dense table '", table.name, "' has no index ", i));
    }
    (*weights)[i] = row[0];
    std::copy_n(row + 1, s, state->data() + i * s);
  }
  return absl::OkStatus();
}

}  // namespace parasol
