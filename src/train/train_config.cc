#include "train/train_config.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <set>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace parasol {
namespace {

template <typename T>
absl::Status Read(const YAML::Node& node, const std::string& key, const std::string& origin,
                  T* out) {
  try {
    *out = node.as<T>();
  } catch (const YAML::Exception&) {
    return absl::InvalidArgumentError(
        absl::StrCat(origin, ": key '", key, "': cannot read '", YAML::Dump(node), "' as ",
                     std::is_same_v<T, std::string> ? "a string" : "a number"));
  }
  return absl::OkStatus();
}

}  // namespace

int TrainConfig::resolved_threads() const {
  if (threads > 0) return threads;
  return std::max(1u, std::thread::hardware_concurrency());
}

OptimizerConfig TrainConfig::resolved_optimizer() const {
  OptimizerConfig resolved = optimizer;
  if (resolved.name.empty()) {
    resolved.name = model.type == ModelType::kPerceptron ? "averaged" : "adagrad";
  }
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
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(origin, ": invalid YAML: ", e.what()));
  }
  config->config_text = text;
  config->config_origin = origin;
  if (root.IsNull()) return absl::OkStatus();
  if (!root.IsMap()) {
    return absl::InvalidArgumentError(absl::StrCat(origin, ": expected a mapping of settings"));
  }
  for (const auto& entry : root) {
    const std::string key = entry.first.as<std::string>();
    const YAML::Node& v = entry.second;
    std::string s;
    if (key == "model") {
      RETURN_IF_ERROR(Read(v, key, origin, &s));
      auto type = ParseModelType(s);
      if (!type.ok())
        return absl::InvalidArgumentError(absl::StrCat(origin, ": ", type.status().message()));
      config->model.type = *type;
    } else if (key == "k") {
      RETURN_IF_ERROR(Read(v, key, origin, &config->model.k));
    } else if (key == "fields") {
      RETURN_IF_ERROR(Read(v, key, origin, &config->model.num_fields));
    } else if (key == "init_scale") {
      RETURN_IF_ERROR(Read(v, key, origin, &config->model.init_scale));
    } else if (key == "optimizer") {
      RETURN_IF_ERROR(Read(v, key, origin, &config->optimizer.name));
    } else if (key == "lr") {
      RETURN_IF_ERROR(Read(v, key, origin, &config->optimizer.lr));
    } else if (key == "l1") {
      RETURN_IF_ERROR(Read(v, key, origin, &config->optimizer.l1));
    } else if (key == "l2") {
      RETURN_IF_ERROR(Read(v, key, origin, &config->optimizer.l2));
    } else if (key == "ftrl_beta") {
      RETURN_IF_ERROR(Read(v, key, origin, &config->optimizer.ftrl_beta));
    } else if (key == "adam_beta1") {
      RETURN_IF_ERROR(Read(v, key, origin, &config->optimizer.adam_beta1));
    } else if (key == "adam_beta2") {
      RETURN_IF_ERROR(Read(v, key, origin, &config->optimizer.adam_beta2));
    } else if (key == "epsilon") {
      RETURN_IF_ERROR(Read(v, key, origin, &config->optimizer.epsilon));
    } else if (key == "epochs") {
      RETURN_IF_ERROR(Read(v, key, origin, &config->epochs));
    } else if (key == "threads") {
      RETURN_IF_ERROR(Read(v, key, origin, &config->threads));
    } else if (key == "seed") {
      RETURN_IF_ERROR(Read(v, key, origin, &config->model.seed));
    } else if (key == "consistency") {
      RETURN_IF_ERROR(Read(v, key, origin, &s));
      auto staleness = ParseConsistency(s);
      if (!staleness.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(origin, ": ", staleness.status().message()));
      }
      config->staleness = *staleness;
    } else if (key == "batch_size") {
      RETURN_IF_ERROR(Read(v, key, origin, &config->batch_size));
    } else if (key == "early_stopping") {
      RETURN_IF_ERROR(Read(v, key, origin, &config->early_stopping));
    } else if (key == "format") {
      RETURN_IF_ERROR(Read(v, key, origin, &s));
      auto format = ParseDataFormat(s);
      if (!format.ok())
        return absl::InvalidArgumentError(absl::StrCat(origin, ": ", format.status().message()));
      config->format = *format;
    } else if (key == "schema") {
      RETURN_IF_ERROR(Read(v, key, origin, &s));
      const std::filesystem::path base = std::filesystem::path(origin).parent_path();
      config->schema_path = std::filesystem::path(s).is_absolute() ? s : (base / s).string();
    } else if (key == "hash_bits") {
      RETURN_IF_ERROR(Read(v, key, origin, &config->hash_bits));
    } else if (key == "max_bad_lines") {
      RETURN_IF_ERROR(Read(v, key, origin, &config->max_bad_lines));
    } else if (key == "memory_limit_mb") {
      RETURN_IF_ERROR(Read(v, key, origin, &config->memory_limit_mb));
    } else if (key == "transforms") {
      // Read by the feature pipeline from config_text.
    } else {
      return absl::InvalidArgumentError(absl::StrCat(origin, ": unknown key '", key, "'"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateTrainConfig(const TrainConfig& c) {
  if (c.train_path.empty()) return absl::InvalidArgumentError("--train is required");
  if (c.out_dir.empty()) return absl::InvalidArgumentError("--out is required");
  if (c.epochs < 1)
    return absl::InvalidArgumentError(absl::StrCat("epochs must be >= 1, got ", c.epochs));
  if (c.threads < 0)
    return absl::InvalidArgumentError(absl::StrCat("threads must be >= 0, got ", c.threads));
  if (c.hash_bits < 0 || c.hash_bits > 63) {
    return absl::InvalidArgumentError(
        absl::StrCat("hash_bits must be in [0, 63], got ", c.hash_bits));
  }
  if (c.early_stopping < 0) return absl::InvalidArgumentError("early_stopping must be >= 0");
  if (c.batch_size < 1) {
    return absl::InvalidArgumentError(absl::StrCat("batch_size must be >= 1, got ", c.batch_size));
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
