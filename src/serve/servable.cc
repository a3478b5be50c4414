#include "serve/servable.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "data/reader.h"
#include "storage/checkpoint_dir.h"

namespace parasol {

absl::StatusOr<std::shared_ptr<Servable>> Servable::Load(const std::string& dir, int64_t version,
                                                         const ServableOptions& options) {
  auto predictor = Predictor::Load(dir);
  if (!predictor.ok()) return predictor.status();
  auto servable = std::shared_ptr<Servable>(new Servable());
  servable->version_ = version;
  servable->dir_ = dir;
  servable->predictor_ = std::move(*predictor);
  LoadedModel& loaded = *servable->predictor_->mutable_loaded();
  servable->table_ = std::make_unique<ServingTable>(std::move(loaded.table), loaded.model->dim(),
                                                    options.precision);
  std::vector<float>& dense = loaded.dense;
  if (!dense.empty()) {
    servable->dense_.store(std::make_shared<const std::vector<float>>(std::move(dense)));
  }
  if (auto checkpoint = ReadCheckpointInfo(dir); checkpoint.ok()) {
    servable->checkpoint_id_ = checkpoint->id;
  }
  const InputSpec& input = servable->predictor_->input();
  if (input.pipeline != nullptr) {
    const Schema& schema = input.pipeline->schema();
    std::vector<std::string> names;
    for (const auto& n : schema.numeric) names.push_back(n);
    for (const auto& n : schema.categorical) names.push_back(n);
    for (size_t i = 0; i < names.size(); ++i) {
      servable->column_[names[i]] = i;
      servable->inputs_.push_back({names[i], i < schema.numeric.size()});
    }
    servable->label_column_ = schema.label;
    auto encoder = input.pipeline->EncoderFactory(/*label_optional=*/true)(names);
    if (!encoder.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(dir, ": ", encoder.status().message()));
    }
    servable->encoder_ = std::move(*encoder);
  }
  // Warm-up: the whole request path once, on a row with every feature absent.
  RawInstance warm;
  warm.where = "warm-up row";
  warm.is_text = servable->encoder_ == nullptr;
  auto probs = servable->Predict(absl::MakeConstSpan(&warm, 1));
  if (!probs.ok()) {
    return absl::InternalError(absl::StrCat(dir, ": warm-up failed: ", probs.status().message()));
  }
  if (probs->size() != 1 || !std::isfinite((*probs)[0])) {
    return absl::DataLossError(absl::StrCat(dir, ": warm-up gave a non-finite probability"));
  }
  // Optional user warm-up: real rows the version must score before it takes traffic.
  const std::string warmup_path = dir + "/" + kWarmupFile;
  std::ifstream warmup(warmup_path, std::ios::binary);
  if (warmup) {
    std::stringstream body;
    body << warmup.rdbuf();
    auto request = ParseTfRequest(body.str(), TfMethod::kPredict);
    if (!request.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(warmup_path, ": ", request.status().message()));
    }
    auto scored = servable->Predict(request->instances);
    if (!scored.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(warmup_path, ": ", scored.status().message()));
    }
    for (size_t i = 0; i < scored->size(); ++i) {
      if (!std::isfinite((*scored)[i])) {
        return absl::DataLossError(
            absl::StrCat(warmup_path, ": row ", i, " gave a non-finite probability"));
      }
    }
  }
  return servable;
}

absl::StatusOr<uint64_t> Servable::ApplyDelta(const std::string& delta_dir) {
  auto delta = ReadCheckpointDelta(delta_dir);
  if (!delta.ok()) return delta.status();
  const int64_t at = checkpoint_id();
  if (at < 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        delta_dir, ": version ", version_, " (", dir_,
        ") is not a parameter-server checkpoint, so no delta can name it as its base"));
  }
  if (delta->checkpoint.previous != CheckpointDirName(at)) {
    return absl::FailedPreconditionError(absl::StrCat(
        delta_dir, ": a delta over checkpoint '", delta->checkpoint.previous, "', but version ",
        version_, " is at checkpoint '", CheckpointDirName(at), "'"));
  }
  const LoadedModel& live = predictor_->loaded();
  const ModelManifest& a = live.manifest;
  const ModelManifest& b = delta->manifest;
  if (a.spec.type != b.spec.type || live.model->dim() != delta->dim ||
      a.data_format != b.data_format || a.hash_bits != b.hash_bits ||
      a.transforms_json != b.transforms_json) {
    return absl::FailedPreconditionError(absl::StrCat(
        delta_dir, ": its model (", ModelTypeName(b.spec.type), ", ", delta->dim,
        " weights per row, ", b.data_format, " input, hash bits ", b.hash_bits,
        ", transforms) differs from version ", version_, "'s (", ModelTypeName(a.spec.type), ", ",
        live.model->dim(), ", ", a.data_format, ", ", a.hash_bits, ")"));
  }
  // A deep model's layers: the delta checkpoint's dense table, whole, read and checked first.
  std::shared_ptr<std::vector<float>> layers;
  if (live.model->dense_size() > 0) {
    const auto table =
        std::find_if(delta->checkpoint.dense.begin(), delta->checkpoint.dense.end(),
                     [](const DenseTableCheckpoint& d) { return d.name == kDenseTableName; });
    if (table == delta->checkpoint.dense.end() ||
        table->size != static_cast<uint64_t>(live.model->dense_size())) {
      return absl::FailedPreconditionError(absl::StrCat(
          delta_dir, ": a delta of a ", ModelTypeName(a.spec.type), " model must carry its ",
          live.model->dense_size(), " dense weights (table '", kDenseTableName, "')"));
    }
    layers = std::make_shared<std::vector<float>>();
    std::vector<float> state;
    if (auto st = LoadDenseTable(delta_dir, *table, layers.get(), &state); !st.ok()) return st;
    for (size_t i = 0; i < layers->size(); ++i) {
      if (!std::isfinite((*layers)[i])) {
        return absl::DataLossError(
            absl::StrCat(delta_dir, ": dense weight ", i, " is not finite (", (*layers)[i], ")"));
      }
    }
  }
  // Every row is checked before any is applied: a refused delta changes nothing.
  const int d = delta->dim;
  std::string bad;
  delta->rows->ForEach([&](uint64_t key, const float* row) {
    if (!bad.empty()) return;
    for (int i = 0; i < d; ++i) {
      if (!std::isfinite(row[i])) {
        bad = absl::StrCat(delta_dir, ": key ", key, " has a non-finite weight ", row[i]);
        return;
      }
    }
  });
  if (!bad.empty()) return absl::DataLossError(bad);
  uint64_t rows = 0;
  delta->rows->ForEach([&](uint64_t key, const float* row) {
    table_->Replace(key, row);
    ++rows;
  });
  if (layers != nullptr) dense_.store(std::move(layers));
  checkpoint_id_ = delta->checkpoint.id;
  return rows;
}

absl::Status Servable::EncodeRow(const RawInstance& row, ExampleBlock* block) const {
  const InputSpec& input = predictor_->input();
  if (encoder_ == nullptr) {  // libsvm
    std::string_view text = row.text;
    if (!row.is_text) {
      if (row.fields.size() != 1) {
        return absl::InvalidArgumentError(
            absl::StrCat(row.where,
                         ": this model was trained on libsvm data and takes one \"idx:val ...\" "
                         "string per row"));
      }
      text = row.fields[0].second;
    }
    auto st = ParseLibsvmLine(text, /*has_label=*/false, input.hash_bits, block);
    if (!st.ok()) return absl::InvalidArgumentError(absl::StrCat(row.where, ": ", st.message()));
    return absl::OkStatus();
  }
  if (row.is_text) {
    return absl::InvalidArgumentError(absl::StrCat(row.where, ": this model reads named fields (",
                                                   DataFormatName(input.format),
                                                   " schema); send a JSON object of field: value"));
  }
  std::vector<std::string_view> columns(column_.size());
  for (const auto& [name, value] : row.fields) {
    auto it = column_.find(name);
    if (it == column_.end()) {
      if (name == label_column_) continue;
      return absl::InvalidArgumentError(
          absl::StrCat(row.where, ": unknown field '", name, "' (not in the model's schema)"));
    }
    columns[it->second] = value;
  }
  auto st = encoder_->Encode(columns, block);
  if (!st.ok()) return absl::InvalidArgumentError(absl::StrCat(row.where, ": ", st.message()));
  return absl::OkStatus();
}

absl::Status Servable::Encode(absl::Span<const RawInstance> rows, ExampleBlock* block) const {
  for (const RawInstance& row : rows) {
    if (auto st = EncodeRow(row, block); !st.ok()) return st;
  }
  return absl::OkStatus();
}

void Servable::Score(const ExampleBlock& block, std::vector<float>* probs) const {
  const std::shared_ptr<const std::vector<float>> dense = dense_.load();  // held while scoring
  PredictBlock(*predictor_->loaded().model, *table_, dense == nullptr ? nullptr : dense->data(),
               block, probs);
}

absl::StatusOr<std::vector<float>> Servable::Predict(absl::Span<const RawInstance> rows) const {
  ExampleBlock block;
  if (auto st = Encode(rows, &block); !st.ok()) return st;
  std::vector<float> probs;
  probs.reserve(rows.size());
  Score(block, &probs);
  return probs;
}

void Servable::Lookup(absl::Span<const uint64_t> keys, float* values, bool* found) const {
  table_->Lookup(keys, values, found);
}

int Servable::dim() const { return predictor_->loaded().model->dim(); }

const char* Servable::model_type() const {
  return ModelTypeName(predictor_->loaded().manifest.spec.type);
}
const char* Servable::data_format() const { return DataFormatName(predictor_->input().format); }
size_t Servable::table_rows() const { return table_->rows(); }
size_t Servable::table_bytes() const { return table_->bytes(); }

}  // namespace parasol
