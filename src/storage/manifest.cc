#include "storage/manifest.h"

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "storage/manifest_json.h"

namespace parasol {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

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

json TableFileJson(const TableFile& t) {
  return {{"file", t.file},
          {"rows", t.rows},
          {"checksum", ChecksumHex(t.checksum)},
          {"delta", t.delta}};
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

}  // namespace

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

bool HasShards(const ParsedManifest& p) { return p.m["tables"][0].contains("shards"); }

absl::StatusOr<TableFile> ParseModelTableFile(const ParsedManifest& p) {
  return ParseTableFile(p.m["tables"][0], p.where + " tables[0]");
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

absl::StatusOr<int> ModelDim(const ModelSpec& spec) {
  ASSIGN_OR_RETURN(auto model, Model::Create(spec));
  return model->dim();
}

absl::Status WriteModelManifest(const std::string& dir, const ModelManifest& manifest, int dim,
                                int state_dim, const TableFile& table) {
  json t = TableFileJson(table);
  t.erase("delta");
  return WriteFileAtomically(fs::path(dir) / "manifest.json",
                             ManifestJson(manifest, dim, state_dim, std::move(t)).dump(2) + "\n");
}

absl::Status WriteShardedManifest(const std::string& dir, const ModelManifest& manifest, int dim,
                                  int state_dim, const CheckpointInfo& checkpoint) {
  json shards = json::array();
  uint64_t rows = 0;
  for (const TableFile& f : checkpoint.shards) {
    shards.push_back(TableFileJson(f));
    rows += f.rows;
  }
  json m = ManifestJson(manifest, dim, state_dim, {{"shards", shards}, {"rows", rows}});
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

absl::StatusOr<ModelManifest> ReadModelManifest(const std::string& dir) {
  ASSIGN_OR_RETURN(ParsedManifest p, ReadManifest(dir));
  return std::move(p.mf);
}

}  // namespace parasol
