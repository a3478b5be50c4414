#include "storage/model_dir.h"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "storage/checkpoint_dir.h"
#include "storage/manifest_json.h"
#include "storage/table_file.h"

namespace parasol {
namespace {

namespace fs = std::filesystem;

constexpr char kTableFile[] = "weights.bin";

}  // namespace

absl::Status SaveModelDir(const std::string& dir, const ModelManifest& manifest,
                          const SparseTable& table, const Optimizer& optimizer, uint64_t steps) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return absl::UnavailableError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
  ASSIGN_OR_RETURN(const int dim, ModelDim(manifest.spec));
  const int state_dim = dim * optimizer.state_per_weight();
  if (table.row_floats() != dim + state_dim) {
    return absl::InternalError("table row width does not match model and optimizer");
  }
  ASSIGN_OR_RETURN(const TableFile file,
                   WriteTableFile((fs::path(dir) / kTableFile).string(), table.SortedRows(), dim,
                                  state_dim, &optimizer, steps));
  ModelManifest m = manifest;
  m.optimizer = optimizer.config();
  return WriteModelManifest(dir, m, dim, state_dim, file);
}

absl::StatusOr<LoadedModel> LoadModelDir(const std::string& dir, bool with_state,
                                         const std::function<bool(uint64_t)>& keep) {
  ASSIGN_OR_RETURN(const ParsedManifest p, ReadManifest(dir));
  LoadedModel loaded;
  loaded.manifest = p.mf;
  ASSIGN_OR_RETURN(loaded.model, Model::Create(p.mf.spec));
  loaded.state_floats = with_state ? p.state_dim : 0;
  loaded.table =
      std::make_unique<SparseTable>(p.dim + loaded.state_floats, [](uint64_t, float* row) {});
  auto read = [&](const std::string& in_dir, const TableFile& f) {
    return ReadTableFile((fs::path(in_dir) / f.file).string(), p.dim, p.state_dim, f.rows,
                         f.checksum, with_state, loaded.table.get(), keep);
  };
  if (!p.sharded) {
    RETURN_IF_ERROR(read(dir, p.table));
    return loaded;
  }
  // A checkpoint: each shard's whole file, then its deltas, oldest first.
  ASSIGN_OR_RETURN(CheckpointInfo top, ParseCheckpoint(p));
  ASSIGN_OR_RETURN(const auto shards,
                   ResolveDeltaChain(dir, p.where, std::move(top), p.dim, p.state_dim));
  for (const std::vector<ShardFile>& files : shards) {
    for (const ShardFile& f : files) RETURN_IF_ERROR(read(f.dir, f.file));
  }
  return loaded;
}

}  // namespace parasol
