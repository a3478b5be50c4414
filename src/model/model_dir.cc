#include "model/model_dir.h"

#include <unistd.h>
#include <xxhash.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/hash.h"
#include "common/status_macros.h"

namespace parasol {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr char kTableMagic[8] = {'P', 'S', 'L', 'T', 'A', 'B', 'L', 'E'};
constexpr uint32_t kTableVersion = 1;
constexpr char kTableFile[] = "weights.bin";

struct TableHeader {
  char magic[8];
  uint32_t version;
  uint32_t dim;
  uint32_t state_dim;
  uint32_t reserved;
  uint64_t rows;
};
static_assert(sizeof(TableHeader) == 32);

std::string Hex(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

// Writes bytes through a running checksum.
class ChecksumWriter {
 public:
  ChecksumWriter(std::FILE* f) : f_(f) { XXH3_64bits_reset(state_); }
  ~ChecksumWriter() { XXH3_freeState(state_); }
  bool Write(const void* data, size_t n) {
    if (n == 0) return true;  // an empty section (e.g. SGD's state) may have no buffer at all
    XXH3_64bits_update(state_, data, n);
    return std::fwrite(data, 1, n, f_) == n;
  }
  uint64_t digest() const { return XXH3_64bits_digest(state_); }

 private:
  std::FILE* f_;
  XXH3_state_t* state_ = XXH3_createState();
};

absl::Status WriteTableUnder(const std::string& path,
                             absl::Span<const std::pair<uint64_t, const float*>> rows, int dim,
                             int state_dim, const Optimizer* finalize, uint64_t steps,
                             uint64_t* checksum_out) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) {
    return absl::UnavailableError(absl::StrCat("cannot create ", path, ": ", std::strerror(errno)));
  }
  std::vector<uint64_t> keys(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) keys[i] = rows[i].first;
  TableHeader header{};
  std::memcpy(header.magic, kTableMagic, sizeof(kTableMagic));
  header.version = kTableVersion;
  header.dim = dim;
  header.state_dim = state_dim;
  header.rows = keys.size();
  bool ok;
  {
    ChecksumWriter out(f);
    // Each section is assembled in memory and written (and checksummed) in one call.
    std::vector<float> weights(rows.size() * dim), state(rows.size() * state_dim);
    for (size_t i = 0; i < rows.size(); ++i) {
      const float* row = rows[i].second;
      if (finalize != nullptr) {
        finalize->Finalize(row, row + dim, dim, steps, weights.data() + i * dim);
      } else {
        std::memcpy(weights.data() + i * dim, row, sizeof(float) * dim);
      }
      if (state_dim > 0) {
        std::memcpy(state.data() + i * state_dim, row + dim, sizeof(float) * state_dim);
      }
    }
    ok = out.Write(&header, sizeof(header)) && out.Write(keys.data(), keys.size() * 8) &&
         out.Write(weights.data(), weights.size() * sizeof(float)) &&
         out.Write(state.data(), state.size() * sizeof(float));
    *checksum_out = out.digest();
  }
  ok = ok && std::fwrite(checksum_out, 8, 1, f) == 1;
  ok = (std::fflush(f) == 0) && ok;
  ok = (fsync(fileno(f)) == 0) && ok;
  ok = (std::fclose(f) == 0) && ok;
  if (!ok) {
    return absl::UnavailableError(absl::StrCat("cannot write ", path, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status WriteFileAtomically(const fs::path& path, const std::string& contents) {
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << contents;
    out.flush();
    if (!out) return absl::UnavailableError(absl::StrCat("cannot write ", tmp.string()));
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec)
    return absl::UnavailableError(
        absl::StrCat("cannot rename to ", path.string(), ": ", ec.message()));
  return absl::OkStatus();
}

json OptimizerToJson(const OptimizerConfig& o) {
  return {{"name", o.name},
          {"lr", o.lr},
          {"l1", o.l1},
          {"l2", o.l2},
          {"ftrl_beta", o.ftrl_beta},
          {"adam_beta1", o.adam_beta1},
          {"adam_beta2", o.adam_beta2},
          {"epsilon", o.epsilon}};
}

// Reads a required member of `obj`, failing with a message naming the manifest path and field.
template <typename T>
absl::Status Get(const json& obj, const char* key, const std::string& where, T* out) {
  auto it = obj.find(key);
  if (it == obj.end()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": missing field '", key, "'"));
  }
  try {
    *out = it->get<T>();
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": field '", key, "': ", e.what()));
  }
  return absl::OkStatus();
}

absl::Status ReadTable(const std::string& path, int dim, int state_dim, uint64_t rows,
                       uint64_t checksum, bool with_state, SparseTable* table,
                       const std::function<bool(uint64_t)>& keep = nullptr) {
  std::error_code ec;
  const uint64_t size = fs::file_size(path, ec);
  if (ec) return absl::NotFoundError(absl::StrCat("cannot read ", path, ": ", ec.message()));
  const uint64_t expected = sizeof(TableHeader) + rows * (8 + 4ull * (dim + state_dim)) + 8;
  if (size != expected) {
    return absl::DataLossError(absl::StrCat(path, ": size ", size, " bytes, expected ", expected,
                                            " for ", rows, " rows (truncated or half-written)"));
  }
  std::ifstream in(path, std::ios::binary);
  std::vector<char> bytes(size);
  if (!in.read(bytes.data(), size)) {
    return absl::DataLossError(absl::StrCat(path, ": read failed"));
  }
  uint64_t stored;
  std::memcpy(&stored, bytes.data() + size - 8, 8);
  const uint64_t actual = XXH3_64bits(bytes.data(), size - 8);
  if (stored != actual || stored != checksum) {
    return absl::DataLossError(absl::StrCat(path, ": checksum mismatch (file ", Hex(actual),
                                            ", recorded ", Hex(stored), ", manifest ",
                                            Hex(checksum), ")"));
  }
  TableHeader header;
  std::memcpy(&header, bytes.data(), sizeof(header));
  if (std::memcmp(header.magic, kTableMagic, sizeof(kTableMagic)) != 0 ||
      header.version != kTableVersion || header.dim != static_cast<uint32_t>(dim) ||
      header.state_dim != static_cast<uint32_t>(state_dim) || header.rows != rows) {
    return absl::DataLossError(absl::StrCat(path, ": header does not match the manifest"));
  }
  const char* keys = bytes.data() + sizeof(TableHeader);
  const char* weights = keys + rows * 8;
  const char* state = weights + rows * 4 * dim;
  std::vector<float> row(table->row_floats());
  for (uint64_t i = 0; i < rows; ++i) {
    uint64_t key;
    std::memcpy(&key, keys + i * 8, 8);
    if (keep && !keep(key)) continue;
    std::memcpy(row.data(), weights + i * 4 * dim, 4 * dim);
    if (with_state) std::memcpy(row.data() + dim, state + i * 4 * state_dim, 4 * state_dim);
    table->Put(key, row.data());
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<TableFile> WriteTableFile(const std::string& path,
                                         absl::Span<const std::pair<uint64_t, const float*>> rows,
                                         int dim, int state_dim, const Optimizer* finalize,
                                         uint64_t steps) {
  for (size_t i = 1; i < rows.size(); ++i) {
    if (rows[i - 1].first >= rows[i].first) {
      return absl::InternalError(absl::StrCat(path, ": rows are not sorted by key"));
    }
  }
  const std::string tmp = path + ".tmp";
  TableFile out;
  RETURN_IF_ERROR(WriteTableUnder(tmp, rows, dim, state_dim, finalize, steps, &out.checksum));
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return absl::UnavailableError(absl::StrCat("cannot rename ", tmp, ": ", ec.message()));
  out.file = fs::path(path).filename().string();
  out.rows = rows.size();
  return out;
}

namespace {

json TableFileJson(const TableFile& t) {
  return {{"file", t.file}, {"rows", t.rows}, {"checksum", Hex(t.checksum)}, {"delta", t.delta}};
}

// The manifest with `table` (its file entries) as the one table.
json ManifestJson(const ModelManifest& manifest, int dim, int state_dim, json table) {
  json training = json::parse(manifest.training_json, nullptr, /*allow_exceptions=*/false);
  if (training.is_discarded()) training = json::object();
  json transforms = manifest.transforms_json.empty()
                        ? json(nullptr)
                        : json::parse(manifest.transforms_json, nullptr, false);
  table["name"] = "weights";
  table["kind"] = "sparse";
  table["dim"] = dim;
  table["state_dim"] = state_dim;
  return {
      {"format", "parasol-model"},
      {"format_version", kModelFormatVersion},
      {"model",
       {{"type", ModelTypeName(manifest.spec.type)},
        {"k", manifest.spec.k},
        {"fields", manifest.spec.num_fields},
        {"init_scale", manifest.spec.init_scale},
        {"seed", manifest.spec.seed},
        {"dim", dim}}},
      {"optimizer", OptimizerToJson(manifest.optimizer)},
      {"input",
       {{"format", manifest.data_format},
        {"hash_bits", manifest.hash_bits},
        {"transforms", transforms}}},
      {"tables", json::array({table})},
      {"feature_count", manifest.feature_count},
      {"training", training},
  };
}

absl::StatusOr<int> ModelDim(const ModelSpec& spec) {
  ASSIGN_OR_RETURN(auto model, Model::Create(spec));
  return model->dim();
}

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
  json t = TableFileJson(file);
  t.erase("delta");
  return WriteFileAtomically(fs::path(dir) / "manifest.json",
                             ManifestJson(m, dim, state_dim, std::move(t)).dump(2) + "\n");
}

absl::Status WriteCheckpointManifest(const std::string& dir, const ModelManifest& manifest,
                                     const CheckpointInfo& checkpoint) {
  ASSIGN_OR_RETURN(auto optimizer, CreateOptimizer(manifest.optimizer));
  ASSIGN_OR_RETURN(const int dim, ModelDim(manifest.spec));
  json shards = json::array();
  uint64_t rows = 0;
  for (const TableFile& f : checkpoint.shards) {
    shards.push_back(TableFileJson(f));
    rows += f.rows;
  }
  json m = ManifestJson(manifest, dim, dim * optimizer->state_per_weight(),
                        {{"shards", shards}, {"rows", rows}});
  for (const DenseTableCheckpoint& d : checkpoint.dense) {
    json files = json::array();
    for (const TableFile& f : d.shards) files.push_back(TableFileJson(f));
    m["tables"].push_back({{"name", d.name},
                           {"kind", "dense"},
                           {"size", d.size},
                           {"dim", 1},
                           {"state_dim", d.state_dim},
                           {"shards", files}});
  }
  m["checkpoint"] = {{"id", checkpoint.id},
                     {"previous", checkpoint.previous},
                     {"worker_clocks", checkpoint.worker_clocks}};
  return WriteFileAtomically(fs::path(dir) / "manifest.json", m.dump(2) + "\n");
}

namespace {

// A manifest read and checked (everything but the table files themselves).
struct ParsedManifest {
  std::string where;  // DIR/manifest.json, for messages
  json m;
  ModelManifest mf;
  int dim = 0, state_dim = 0;
};

absl::StatusOr<ParsedManifest> ReadManifest(const std::string& dir) {
  ParsedManifest p;
  p.where = (fs::path(dir) / "manifest.json").string();
  const std::string& where = p.where;
  std::ifstream in(where);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("no model at ", dir, ": cannot read ", where,
                                            " (is this a directory written by "
                                            "'parasol train --out'?)"));
  }
  p.m = json::parse(in, nullptr, /*allow_exceptions=*/false);
  const json& m = p.m;
  if (m.is_discarded() || !m.is_object()) {
    return absl::DataLossError(absl::StrCat(where, ": not valid JSON"));
  }
  int version = 0;
  RETURN_IF_ERROR(Get(m, "format_version", where, &version));
  if (version != kModelFormatVersion) {
    return absl::FailedPreconditionError(absl::StrCat(where, ": format_version ", version,
                                                      " is not supported (this build reads ",
                                                      kModelFormatVersion, ")"));
  }
  ModelManifest& mf = p.mf;
  json model, optimizer, input, tables;
  RETURN_IF_ERROR(Get(m, "model", where, &model));
  RETURN_IF_ERROR(Get(m, "optimizer", where, &optimizer));
  RETURN_IF_ERROR(Get(m, "input", where, &input));
  RETURN_IF_ERROR(Get(m, "tables", where, &tables));
  std::string type;
  RETURN_IF_ERROR(Get(model, "type", where + " model", &type));
  ASSIGN_OR_RETURN(mf.spec.type, ParseModelType(type));
  RETURN_IF_ERROR(Get(model, "k", where + " model", &mf.spec.k));
  RETURN_IF_ERROR(Get(model, "fields", where + " model", &mf.spec.num_fields));
  RETURN_IF_ERROR(Get(model, "init_scale", where + " model", &mf.spec.init_scale));
  RETURN_IF_ERROR(Get(model, "seed", where + " model", &mf.spec.seed));
  const std::string owhere = where + " optimizer";
  RETURN_IF_ERROR(Get(optimizer, "name", owhere, &mf.optimizer.name));
  RETURN_IF_ERROR(Get(optimizer, "lr", owhere, &mf.optimizer.lr));
  RETURN_IF_ERROR(Get(optimizer, "l1", owhere, &mf.optimizer.l1));
  RETURN_IF_ERROR(Get(optimizer, "l2", owhere, &mf.optimizer.l2));
  RETURN_IF_ERROR(Get(optimizer, "ftrl_beta", owhere, &mf.optimizer.ftrl_beta));
  RETURN_IF_ERROR(Get(optimizer, "adam_beta1", owhere, &mf.optimizer.adam_beta1));
  RETURN_IF_ERROR(Get(optimizer, "adam_beta2", owhere, &mf.optimizer.adam_beta2));
  RETURN_IF_ERROR(Get(optimizer, "epsilon", owhere, &mf.optimizer.epsilon));
  RETURN_IF_ERROR(Get(input, "format", where + " input", &mf.data_format));
  RETURN_IF_ERROR(Get(input, "hash_bits", where + " input", &mf.hash_bits));
  if (input.contains("transforms") && !input["transforms"].is_null()) {
    mf.transforms_json = input["transforms"].dump();
  }
  RETURN_IF_ERROR(Get(m, "feature_count", where, &mf.feature_count));
  if (m.contains("training")) mf.training_json = m["training"].dump();

  ASSIGN_OR_RETURN(auto model_obj, Model::Create(mf.spec));
  ASSIGN_OR_RETURN(auto opt, CreateOptimizer(mf.optimizer));
  // The model's sparse table first; a checkpoint may list the servers' dense tables after it.
  if (!tables.is_array() || tables.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": 'tables' must list the table"));
  }
  for (size_t t = 1; t < tables.size(); ++t) {
    std::string kind;
    RETURN_IF_ERROR(Get(tables[t], "kind", absl::StrCat(where, " tables[", t, "]"), &kind));
    if (kind != "dense" || !m.contains("checkpoint")) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": tables[", t, "] must be a dense table of a checkpoint"));
    }
  }
  const std::string twhere = where + " tables[0]";
  RETURN_IF_ERROR(Get(tables[0], "dim", twhere, &p.dim));
  RETURN_IF_ERROR(Get(tables[0], "state_dim", twhere, &p.state_dim));
  if (p.dim != model_obj->dim() || p.state_dim != p.dim * opt->state_per_weight()) {
    return absl::InvalidArgumentError(absl::StrCat(
        twhere, ": dim ", p.dim, " / state_dim ", p.state_dim, " do not match model '", type,
        "' (dim ", model_obj->dim(), ") and optimizer '", mf.optimizer.name, "'"));
  }
  return p;
}

absl::Status CheckPlainName(const std::string& name, const std::string& where) {
  if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..") {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": '", name, "' must be a plain file name"));
  }
  return absl::OkStatus();
}

absl::StatusOr<TableFile> ParseTableFile(const json& t, const std::string& where) {
  TableFile f;
  std::string checksum_hex;
  RETURN_IF_ERROR(Get(t, "file", where, &f.file));
  RETURN_IF_ERROR(Get(t, "rows", where, &f.rows));
  RETURN_IF_ERROR(Get(t, "checksum", where, &checksum_hex));
  if (t.contains("delta")) RETURN_IF_ERROR(Get(t, "delta", where, &f.delta));
  RETURN_IF_ERROR(CheckPlainName(f.file, where));
  f.checksum = std::strtoull(checksum_hex.c_str(), nullptr, 16);
  return f;
}

absl::StatusOr<CheckpointInfo> ParseCheckpoint(const ParsedManifest& p) {
  if (!p.m.contains("checkpoint")) {
    return absl::NotFoundError(absl::StrCat(p.where, ": not a checkpoint (no 'checkpoint')"));
  }
  const json& c = p.m["checkpoint"];
  const std::string where = p.where + " checkpoint";
  CheckpointInfo info;
  RETURN_IF_ERROR(Get(c, "id", where, &info.id));
  RETURN_IF_ERROR(Get(c, "previous", where, &info.previous));
  RETURN_IF_ERROR(Get(c, "worker_clocks", where, &info.worker_clocks));
  if (!info.previous.empty()) RETURN_IF_ERROR(CheckPlainName(info.previous, where));
  json shards;
  RETURN_IF_ERROR(Get(p.m["tables"][0], "shards", p.where + " tables[0]", &shards));
  if (!shards.is_array() || shards.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(p.where, ": 'shards' must be a list"));
  }
  for (size_t s = 0; s < shards.size(); ++s) {
    ASSIGN_OR_RETURN(TableFile f,
                     ParseTableFile(shards[s], absl::StrCat(p.where, " shards[", s, "]")));
    info.shards.push_back(std::move(f));
  }
  for (size_t t = 1; t < p.m["tables"].size(); ++t) {
    const json& d = p.m["tables"][t];
    const std::string twhere = absl::StrCat(p.where, " tables[", t, "]");
    DenseTableCheckpoint table;
    json files;
    RETURN_IF_ERROR(Get(d, "name", twhere, &table.name));
    RETURN_IF_ERROR(Get(d, "size", twhere, &table.size));
    RETURN_IF_ERROR(Get(d, "state_dim", twhere, &table.state_dim));
    RETURN_IF_ERROR(Get(d, "shards", twhere, &files));
    if (!files.is_array() || files.empty() || table.state_dim < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(twhere, ": 'shards' must be a list and 'state_dim' >= 0"));
    }
    for (size_t s = 0; s < files.size(); ++s) {
      ASSIGN_OR_RETURN(TableFile f,
                       ParseTableFile(files[s], absl::StrCat(twhere, " shards[", s, "]")));
      table.shards.push_back(std::move(f));
    }
    info.dense.push_back(std::move(table));
  }
  return info;
}

// Deltas chain back to a whole shard file; longer chains mean a cycle in 'previous'.
constexpr int kMaxDeltaChain = 100000;

}  // namespace

absl::StatusOr<ModelManifest> ReadModelManifest(const std::string& dir) {
  ASSIGN_OR_RETURN(ParsedManifest p, ReadManifest(dir));
  return std::move(p.mf);
}

absl::StatusOr<CheckpointInfo> ReadCheckpointInfo(const std::string& dir) {
  ASSIGN_OR_RETURN(const ParsedManifest p, ReadManifest(dir));
  return ParseCheckpoint(p);
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
    return ReadTable((fs::path(in_dir) / f.file).string(), p.dim, p.state_dim, f.rows, f.checksum,
                     with_state, loaded.table.get(), keep);
  };
  const json& t = p.m["tables"][0];
  if (!t.contains("shards")) {
    ASSIGN_OR_RETURN(const TableFile f, ParseTableFile(t, p.where + " tables[0]"));
    RETURN_IF_ERROR(read(dir, f));
    return loaded;
  }
  // The chain of checkpoints, newest first, read once: far enough back that every shard
  // reaches a whole file. Then each shard applies its files oldest first.
  std::vector<std::pair<std::string, CheckpointInfo>> chain;
  ASSIGN_OR_RETURN(CheckpointInfo top, ParseCheckpoint(p));
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
    if (prev.dim != p.dim || prev.state_dim != p.state_dim) {
      return absl::DataLossError(
          absl::StrCat(prev.where, ": table dimensions differ from ", p.where));
    }
    ASSIGN_OR_RETURN(CheckpointInfo prev_info, ParseCheckpoint(prev));
    if (prev_info.shards.size() != shards) {
      return absl::DataLossError(absl::StrCat(prev.where, ": ", prev_info.shards.size(),
                                              " shards, but the delta in ", dir, " has ", shards));
    }
    chain.emplace_back(prev_dir, std::move(prev_info));
  }
  for (size_t s = 0; s < shards; ++s) {
    for (size_t at = first_whole[s] + 1; at-- > 0;) {
      RETURN_IF_ERROR(read(chain[at].first, chain[at].second.shards[s]));
    }
  }
  return loaded;
}

absl::Status LoadDenseTable(const std::string& dir, const DenseTableCheckpoint& table,
                            std::vector<float>* weights, std::vector<float>* state) {
  SparseTable rows(1 + table.state_dim, [](uint64_t, float*) {});
  for (const TableFile& f : table.shards) {
    RETURN_IF_ERROR(ReadTable((fs::path(dir) / f.file).string(), 1, table.state_dim, f.rows,
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
