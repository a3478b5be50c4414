#include "train/train_config.h"

#include <algorithm>
#include <filesystem>
#include <set>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/config_reader.h"
#include "common/status_macros.h"

namespace parasol {
int TrainConfig::resolved_threads() const {
  if (threads > 0) return threads;
  return std::max(1u, std::thread::hardware_concurrency());
}

int TrainConfig::resolved_batch_size() const {
  if (batch_size > 0) return batch_size;
  return IsDeep(model.type) ? kDefaultDeepBatch : 1;
}

size_t TrainConfig::training_chunk_bytes() const {
  const size_t standard = ReaderOptions().chunk_bytes;
  if (!IsDeep(model.type)) return standard;
  return std::max(standard, static_cast<size_t>(resolved_batch_size()) * 4096);
}

OptimizerConfig TrainConfig::resolved_optimizer() const {
  OptimizerConfig resolved = optimizer;
  if (resolved.name.empty()) {
    resolved.name = model.type == ModelType::kPerceptron ? "averaged"
                    : IsDeep(model.type)                 ? "adam"
                                                         : "adagrad";
  }
  return resolved;
}

OptimizerConfig TrainConfig::resolved_dense_optimizer() const {
  OptimizerConfig resolved = dense_optimizer;
  if (resolved.name.empty()) resolved.name = "adam";
  if (resolved.lr == 0) resolved.lr = DefaultLearningRate(resolved.name);
  return resolved;
}

absl::StatusOr<int64_t> ParseConsistency(const std::string& text) {
  if (text == "bsp") return 0;
  if (text == "asp") return kAsp;
  int64_t s = -1;
  if (text.rfind("ssp:", 0) == 0 && absl::SimpleAtoi(text.substr(4), &s) && s >= 0) return s;
  return absl::InvalidArgumentError(
      absl::StrCat("consistency '", text, "' is not bsp, ssp:S (S >= 0) or asp"));
}

absl::Status ApplyConfigYaml(const std::string& text, const std::string& origin,
                             TrainConfig* config) {
  TrainConfig read = *config;
  read.config_text = text;
  read.config_origin = origin;
  RETURN_IF_ERROR(config::ReadYaml(text, origin, [&](const config::Node& root) {
    if (root.IsNull()) return;
    const config::Map m = root.AsMap();
    if (auto model = m.Find("model")) read.model.type = model->Parse(ParseModelType);
    m.Read("k", &read.model.k);
    m.Read("fields", &read.model.num_fields);
    m.Read("init_scale", &read.model.init_scale);
    m.Read("embedding_dim", &read.model.embedding_dim);
    if (auto hidden = m.Find("hidden")) {
      read.model.hidden.clear();
      if (!hidden->IsNull()) {
        for (const config::Node& width : hidden->Items())
          read.model.hidden.push_back(width.As<int>());
      }
    }
    m.Read("dropout", &read.model.dropout);
    m.Read("cross_layers", &read.model.cross_layers);
    if (auto structure = m.Find("dcn_structure")) {
      const std::string text = structure->As<std::string>();
      if (text != "parallel" && text != "stacked") structure->Fail("expected parallel or stacked");
      read.model.dcn_stacked = text == "stacked";
    }
    if (auto pooling = m.Find("pooling")) {
      const std::string text = pooling->As<std::string>();
      if (text != "sum" && text != "mean") pooling->Fail("expected sum or mean");
      read.model.pooling = text == "mean" ? Pooling::kMean : Pooling::kSum;
    }
    m.Read("dense_optimizer", &read.dense_optimizer.name);
    m.Read("dense_lr", &read.dense_optimizer.lr);
    m.Read("seed", &read.model.seed);
    m.Read("optimizer", &read.optimizer.name);
    m.Read("lr", &read.optimizer.lr);
    m.Read("l1", &read.optimizer.l1);
    m.Read("l2", &read.optimizer.l2);
    m.Read("ftrl_beta", &read.optimizer.ftrl_beta);
    m.Read("adam_beta1", &read.optimizer.adam_beta1);
    m.Read("adam_beta2", &read.optimizer.adam_beta2);
    m.Read("epsilon", &read.optimizer.epsilon);
    m.Read("epochs", &read.epochs);
    m.Read("threads", &read.threads);
    if (auto consistency = m.Find("consistency")) {
      read.staleness = consistency->Parse(ParseConsistency);
    }
    m.Read("batch_size", &read.batch_size);
    m.Read("early_stopping", &read.early_stopping);
    if (auto format = m.Find("format")) read.format = format->Parse(ParseDataFormat);
    if (auto schema = m.Find("schema")) {
      const std::string s = schema->As<std::string>();
      const std::filesystem::path base = std::filesystem::path(origin).parent_path();
      read.schema_path = std::filesystem::path(s).is_absolute() ? s : (base / s).string();
    }
    m.Read("hash_bits", &read.hash_bits);
    m.Read("max_bad_lines", &read.max_bad_lines);
    m.Read("memory_limit_mb", &read.memory_limit_mb);
    m.Allow({"transforms"});  // read by the feature pipeline from config_text
  }));
  *config = std::move(read);
  return absl::OkStatus();
}

absl::Status ValidateTrainConfig(const TrainConfig& c) {
  if (c.train_path.empty()) return absl::InvalidArgumentError("--train is required");
  if (c.out_dir.empty()) return absl::InvalidArgumentError("--out is required");
  if (c.epochs < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("epochs must be >= 1 (0 or unset: auto), got ", c.epochs));
  }
  if (c.threads < 0)
    return absl::InvalidArgumentError(absl::StrCat("threads must be >= 0, got ", c.threads));
  if (c.hash_bits < 0 || c.hash_bits > 63) {
    return absl::InvalidArgumentError(
        absl::StrCat("hash_bits must be in [0, 63], got ", c.hash_bits));
  }
  if (c.early_stopping < 0) return absl::InvalidArgumentError("early_stopping must be >= 0");
  if (c.batch_size < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("batch_size must be >= 1 (0: the model's default), got ", c.batch_size));
  }
  if (IsDeep(c.model.type)) {
    const std::string& dense = c.dense_optimizer.name;
    if (!dense.empty() && dense != "adam" && dense != "adagrad" && dense != "sgd") {
      return absl::InvalidArgumentError(
          absl::StrCat("dense_optimizer must be adam, adagrad or sgd, got '", dense, "'"));
    }
    if (c.optimizer.name == "averaged") {
      return absl::InvalidArgumentError("the averaged optimizer is the perceptron's");
    }
  }
  if (c.max_bad_lines < 0) return absl::InvalidArgumentError("max_bad_lines must be >= 0");
  if (c.format == DataFormat::kCsv && c.schema_path.empty()) {
    return absl::InvalidArgumentError(
        "CSV input needs a schema: --schema FILE or 'schema:' in the config");
  }
  if (c.model.type == ModelType::kPerceptron && !c.optimizer.name.empty() &&
      c.optimizer.name != "averaged") {
    return absl::InvalidArgumentError(
        "the perceptron trains with its own averaged update; leave --optimizer unset");
  }
  return absl::OkStatus();
}

}  // namespace parasol
