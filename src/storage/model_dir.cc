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
constexpr char kDenseFile[] = "dense.bin";

// The dense weights as a table file: index i → [w_i, its state].
absl::StatusOr<DenseTableCheckpoint> WriteDenseFile(const std::string& dir,
                                                    const DenseWeights& dense) {
  const int s = dense.optimizer->state_per_weight();
  std::vector<float> rows(static_cast<size_t>(dense.size) * (1 + s));
  std::vector<std::pair<uint64_t, const float*>> index(dense.size);
  for (int64_t i = 0; i < dense.size; ++i) {
    float* row = rows.data() + i * (1 + s);
    row[0] = dense.weights[i];
    std::copy_n(dense.state + i * s, s, row + 1);
    index[i] = {static_cast<uint64_t>(i), row};
  }
  ASSIGN_OR_RETURN(const TableFile file, WriteTableFile((fs::path(dir) / kDenseFile).string(),
                                                        index, 1, s, dense.optimizer, dense.steps));
  return DenseTableCheckpoint{kDenseTableName, static_cast<uint64_t>(dense.size), s, {file}};
}

// The deep model's dense table from the manifest's tables, loaded into *loaded.
absl::Status LoadDense(const std::string& dir, const ParsedManifest& p, bool with_state,
                       LoadedModel* loaded) {
  const int64_t size = loaded->model->dense_size();
  for (const DenseTableCheckpoint& d : p.dense) {
    if (d.name != kDenseTableName) continue;
    if (d.size != static_cast<uint64_t>(size)) {
      return absl::DataLossError(absl::StrCat(p.where, ": dense table '", d.name, "' has ", d.size,
                                              " weights; the model's layers need ", size));
    }
    RETURN_IF_ERROR(LoadDenseTable(dir, d, &loaded->dense, &loaded->dense_state));
    if (with_state) {
      loaded->dense_state_floats = d.state_dim;
    } else {
      loaded->dense_state.clear();
      loaded->dense_state.shrink_to_fit();
    }
    return absl::OkStatus();
  }
  return absl::DataLossError(absl::StrCat(p.where, ": a '", ModelTypeName(p.mf.spec.type),
                                          "' model needs its dense table '", kDenseTableName,
                                          "' in tables"));
}

}  // namespace

absl::Status SaveModelDir(const std::string& dir, const ModelManifest& manifest,
                          const SparseTable& table, const Optimizer& optimizer, uint64_t steps,
                          const DenseWeights* dense) {
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
  std::vector<DenseTableCheckpoint> dense_tables;
  if (dense != nullptr) {
    ASSIGN_OR_RETURN(DenseTableCheckpoint d, WriteDenseFile(dir, *dense));
    dense_tables.push_back(std::move(d));
  }
  return WriteModelManifest(dir, m, dim, state_dim, file, dense_tables);
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
  if (loaded.model->dense_size() > 0) RETURN_IF_ERROR(LoadDense(dir, p, with_state, &loaded));
  if (!p.sharded) {
    if (keep == nullptr) loaded.table->Reserve(p.table.rows);
    RETURN_IF_ERROR(read(dir, p.table));
    return loaded;
  }
  // A checkpoint: each shard's whole file, then its deltas, oldest first.
  ASSIGN_OR_RETURN(CheckpointInfo top, ParseCheckpoint(p));
  ASSIGN_OR_RETURN(const auto shards,
                   ResolveDeltaChain(dir, p.where, std::move(top), p.dim, p.state_dim));
  if (keep == nullptr) {
    uint64_t whole = 0;  // each shard's whole file; deltas mostly replace rows
    for (const std::vector<ShardFile>& files : shards) {
      if (!files.empty()) whole += files.front().file.rows;
    }
    loaded.table->Reserve(whole);
  }
  for (const std::vector<ShardFile>& files : shards) {
    for (const ShardFile& f : files) RETURN_IF_ERROR(read(f.dir, f.file));
  }
  return loaded;
}

}  // namespace parasol
