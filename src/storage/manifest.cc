#include "storage/manifest.h"

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/config_reader.h"
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
  const ModelSpec& spec = manifest.spec;
  json model = {
      {"type", ModelTypeName(spec.type)}, {"k", spec.k},       {"fields", spec.num_fields},
      {"init_scale", spec.init_scale},    {"seed", spec.seed}, {"dim", dim}};
  const bool deep = IsDeep(spec.type);
  if (deep) {
    model["embedding_dim"] = spec.embedding_dim;
    model["hidden"] = spec.hidden;
    model["dropout"] = spec.dropout;
    model["cross_layers"] = spec.cross_layers;
    model["dcn_structure"] = spec.dcn_stacked ? "stacked" : "parallel";
    model["pooling"] = spec.pooling == Pooling::kMean ? "mean" : "sum";
  }
  json out = {
      {"format", "parasol-model"},
      {"format_version", deep ? kDeepModelFormatVersion : kModelFormatVersion},
      {"model", model},
      {"optimizer", OptimizerToJson(manifest.optimizer)},
      {"input",
       {{"format", manifest.data_format},
        {"hash_bits", manifest.hash_bits},
        {"transforms", transforms}}},
      {"tables", json::array({table})},
      {"feature_count", manifest.feature_count},
      {"training", training},
  };
  if (deep) out["dense_optimizer"] = OptimizerToJson(manifest.dense_optimizer);
  return out;
}

std::string ReadPlainName(const config::Node& node) {
  const std::string name = node.As<std::string>();
  if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..") {
    node.Fail("'" + name + "' must be a plain file name");
  }
  return name;
}

TableFile ReadTableFile(const config::Node& node, bool delta_allowed) {
  const config::Map t = node.AsMap();
  TableFile f;
  f.file = ReadPlainName(t.Get("file"));
  f.rows = t.Get<uint64_t>("rows");
  const config::Node checksum = t.Get("checksum");
  const std::string hex = checksum.As<std::string>();
  if (hex.empty() || hex.size() > 16 || hex.find_first_not_of("0123456789abcdef") != hex.npos) {
    checksum.Fail("expected 16 hex digits");
  }
  f.checksum = std::strtoull(hex.c_str(), nullptr, 16);
  if (delta_allowed) t.Read("delta", &f.delta);
  return f;
}

std::vector<TableFile> ReadShards(const config::Map& table) {
  const config::Node shards = table.Get("shards");
  std::vector<TableFile> files;
  for (const config::Node& shard : shards.Items()) files.push_back(ReadTableFile(shard, true));
  if (files.empty()) shards.Fail("must list at least one shard");
  return files;
}

void ReadModelSection(const config::Map& model, ModelSpec* spec) {
  spec->type = model.Get("type").Parse(ParseModelType);
  spec->k = model.Get<int>("k");
  spec->num_fields = model.Get<int>("fields");
  spec->init_scale = model.Get<float>("init_scale");
  spec->seed = model.Get<uint64_t>("seed");
  model.Allow({"dim"});  // written for readers of the file; derived from the rest here
  if (!IsDeep(spec->type)) return;
  spec->embedding_dim = model.Get<int>("embedding_dim");
  spec->hidden.clear();
  for (const config::Node& width : model.Get("hidden").Items()) {
    spec->hidden.push_back(width.As<int>());
  }
  spec->dropout = model.Get<float>("dropout");
  spec->cross_layers = model.Get<int>("cross_layers");
  const config::Node structure = model.Get("dcn_structure");
  const std::string s = structure.As<std::string>();
  if (s != "parallel" && s != "stacked") structure.Fail("expected parallel or stacked");
  spec->dcn_stacked = s == "stacked";
  const config::Node pooling = model.Get("pooling");
  const std::string pool = pooling.As<std::string>();
  if (pool != "sum" && pool != "mean") pooling.Fail("expected sum or mean");
  spec->pooling = pool == "mean" ? Pooling::kMean : Pooling::kSum;
}

void ReadOptimizerSection(const config::Map& o, OptimizerConfig* optimizer) {
  optimizer->name = o.Get<std::string>("name");
  optimizer->lr = o.Get<float>("lr");
  optimizer->l1 = o.Get<float>("l1");
  optimizer->l2 = o.Get<float>("l2");
  optimizer->ftrl_beta = o.Get<float>("ftrl_beta");
  optimizer->adam_beta1 = o.Get<float>("adam_beta1");
  optimizer->adam_beta2 = o.Get<float>("adam_beta2");
  optimizer->epsilon = o.Get<float>("epsilon");
}

// The dense tables a checkpoint lists after the sparse one.
DenseTableCheckpoint ReadDenseTable(const config::Node& node) {
  const config::Map d = node.AsMap();
  if (d.Get<std::string>("kind") != "dense") d.Get("kind").Fail("expected 'dense'");
  DenseTableCheckpoint table;
  table.name = d.Get<std::string>("name");
  table.size = d.Get<decltype(table.size)>("size");
  table.state_dim = d.Get<int>("state_dim");
  if (table.state_dim < 0) d.Get("state_dim").Fail("must be >= 0");
  d.Allow({"dim"});
  table.shards = ReadShards(d);
  return table;
}

// Everything after format_version, which the caller checked.
void ReadManifestBody(const config::Map& m, const json& raw, int version, ParsedManifest* p) {
  ModelManifest& mf = p->mf;
  const config::Node model = m.Get("model");
  ReadModelSection(model.AsMap(), &mf.spec);
  if (IsDeep(mf.spec.type) != (version == kDeepModelFormatVersion)) {
    model.AsMap().Get("type").Fail(
        absl::StrCat("a '", ModelTypeName(mf.spec.type), "' model needs format_version ",
                     IsDeep(mf.spec.type) ? kDeepModelFormatVersion : kModelFormatVersion));
  }
  ReadOptimizerSection(m.Get("optimizer").AsMap(), &mf.optimizer);
  if (IsDeep(mf.spec.type)) {
    ReadOptimizerSection(m.Get("dense_optimizer").AsMap(), &mf.dense_optimizer);
  }
  const config::Map input = m.Get("input").AsMap();
  mf.data_format = input.Get<std::string>("format");
  mf.hash_bits = input.Get<int>("hash_bits");
  if (input.Has("transforms")) mf.transforms_json = raw["input"]["transforms"].dump();
  mf.feature_count = m.Get<decltype(mf.feature_count)>("feature_count");
  if (m.Has("training")) mf.training_json = raw["training"].dump();
  m.Allow({"format"});

  const config::Node tables_node = m.Get("tables");
  const std::vector<config::Node> tables = tables_node.Items();
  if (tables.empty()) tables_node.Fail("must list the model's table");
  const config::Map sparse = tables[0].AsMap();
  sparse.Allow({"name", "kind", "rows"});
  p->dim = sparse.Get<int>("dim");
  p->state_dim = sparse.Get<int>("state_dim");
  const std::optional<config::Node> checkpoint = m.Find("checkpoint");
  p->sharded = sparse.Has("shards");
  if (!p->sharded) {
    p->table = ReadTableFile(sparse.node(), false);
  } else if (!checkpoint) {
    sparse.Get("shards").Fail("only a checkpoint's table has shards");
  }
  for (size_t t = 1; t < tables.size(); ++t) p->dense.push_back(ReadDenseTable(tables[t]));
  if (!checkpoint && !IsDeep(mf.spec.type) && tables.size() > 1) {
    tables[1].Fail("only a checkpoint or a deep model has dense tables");
  }
  if (!checkpoint) return;
  const config::Map c = checkpoint->AsMap();
  CheckpointInfo info;
  info.id = c.Get<decltype(info.id)>("id");
  const config::Node previous = c.Get("previous");
  info.previous = previous.As<std::string>();
  if (!info.previous.empty()) ReadPlainName(previous);
  info.worker_clocks = c.Get<std::vector<int64_t>>("worker_clocks");
  if (p->sharded) info.shards = ReadShards(sparse);
  info.dense = p->dense;
  p->checkpoint = std::move(info);
}

}  // namespace

absl::StatusOr<ParsedManifest> ReadManifest(const std::string& dir) {
  ParsedManifest p;
  p.where = (fs::path(dir) / "manifest.json").string();
  std::ifstream in(p.where);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("no model at ", dir, ": cannot read ", p.where,
                                            " (is this a directory written by "
                                            "'parasol train --out'?)"));
  }
  const json raw = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (raw.is_discarded() || !raw.is_object()) {
    return absl::DataLossError(absl::StrCat(p.where, ": not valid JSON"));
  }
  int version = 0;
  absl::Status unsupported;
  RETURN_IF_ERROR(config::ReadJson(raw, p.where, [&](const config::Node& root) {
    const config::Map m = root.AsMap();
    version = m.Get<int>("format_version");
    if (version != kModelFormatVersion && version != kDeepModelFormatVersion) {
      // Another version's fields are not this version's: checked no further.
      unsupported = absl::FailedPreconditionError(absl::StrCat(
          p.where, ": format_version ", version, " is not supported (this build reads ",
          kModelFormatVersion, " and ", kDeepModelFormatVersion, ")"));
      for (const auto& [key, value] : root.Entries()) m.Allow({key});
      return;
    }
    ReadManifestBody(m, raw, version, &p);
  }));
  RETURN_IF_ERROR(unsupported);
  ASSIGN_OR_RETURN(auto model, Model::Create(p.mf.spec));
  ASSIGN_OR_RETURN(auto optimizer, CreateOptimizer(p.mf.optimizer));
  if (p.dim != model->dim() || p.state_dim != p.dim * optimizer->state_per_weight()) {
    return absl::InvalidArgumentError(
        absl::StrCat(p.where, ": tables[0]: dim ", p.dim, " / state_dim ", p.state_dim,
                     " do not match model '", ModelTypeName(p.mf.spec.type), "' (dim ",
                     model->dim(), ") and optimizer '", p.mf.optimizer.name, "'"));
  }
  return p;
}

absl::StatusOr<CheckpointInfo> ParseCheckpoint(const ParsedManifest& p) {
  if (!p.checkpoint) {
    return absl::NotFoundError(absl::StrCat(p.where, ": not a checkpoint (no 'checkpoint')"));
  }
  return *p.checkpoint;
}

absl::StatusOr<int> ModelDim(const ModelSpec& spec) {
  ASSIGN_OR_RETURN(auto model, Model::Create(spec));
  return model->dim();
}

// A dense table's entry in `tables`.
json DenseTableJson(const DenseTableCheckpoint& d) {
  json files = json::array();
  for (const TableFile& f : d.shards) files.push_back(TableFileJson(f));
  return {{"name", d.name}, {"kind", "dense"},          {"size", d.size},
          {"dim", 1},       {"state_dim", d.state_dim}, {"shards", files}};
}

absl::Status WriteModelManifest(const std::string& dir, const ModelManifest& manifest, int dim,
                                int state_dim, const TableFile& table,
                                const std::vector<DenseTableCheckpoint>& dense) {
  json t = TableFileJson(table);
  t.erase("delta");
  json m = ManifestJson(manifest, dim, state_dim, std::move(t));
  for (const DenseTableCheckpoint& d : dense) m["tables"].push_back(DenseTableJson(d));
  return WriteFileAtomically(fs::path(dir) / "manifest.json", m.dump(2) + "\n");
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
  for (const DenseTableCheckpoint& d : checkpoint.dense) m["tables"].push_back(DenseTableJson(d));
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
