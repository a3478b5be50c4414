#include "serve/model_config.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace parasol {
namespace {

namespace fs = std::filesystem;

absl::Status Bad(const std::string& origin, const std::string& where, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat(origin, ": ", where, ": ", what));
}

bool AllOf(const std::string& s, const std::string& extra) {
  if (s.empty()) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || extra.find(c) != std::string::npos;
    if (!ok) return false;
  }
  return true;
}

// yaml-cpp throws on conversion errors; every access goes through these.
template <typename T>
absl::StatusOr<T> As(const YAML::Node& node, const std::string& origin, const std::string& where,
                     const char* expected) {
  try {
    if (!node) return Bad(origin, where, absl::StrCat("missing (expected ", expected, ")"));
    if (!node.IsScalar()) return Bad(origin, where, absl::StrCat("expected ", expected));
    return node.as<T>();
  } catch (const YAML::Exception&) {
    return Bad(origin, where, absl::StrCat("expected ", expected, ", got '", node.Scalar(), "'"));
  }
}

absl::StatusOr<VersionPolicy> ParsePolicy(const YAML::Node& node, const std::string& origin,
                                          const std::string& where) {
  VersionPolicy policy;
  if (node.IsScalar()) {
    if (node.Scalar() == "all") {
      policy.kind = VersionPolicy::Kind::kAll;
      return policy;
    }
    return Bad(origin, where, "expected 'all', {latest: N}, {all: {}} or {specific: [...]}");
  }
  if (!node.IsMap() || node.size() != 1) {
    return Bad(origin, where, "expected exactly one of latest, all, specific");
  }
  const std::string kind = node.begin()->first.Scalar();
  const YAML::Node value = node.begin()->second;
  if (kind == "all") {
    policy.kind = VersionPolicy::Kind::kAll;
  } else if (kind == "latest") {
    const YAML::Node n = value.IsMap() ? value["num_versions"] : value;
    auto latest = As<int>(n, origin, where + ".latest", "a positive integer");
    if (!latest.ok()) return latest.status();
    if (*latest < 1) return Bad(origin, where + ".latest", "must be >= 1");
    policy.latest = *latest;
  } else if (kind == "specific") {
    const YAML::Node list = value.IsMap() ? value["versions"] : value;
    if (!list.IsSequence() || list.size() == 0) {
      return Bad(origin, where + ".specific", "expected a non-empty list of versions");
    }
    policy.kind = VersionPolicy::Kind::kSpecific;
    for (size_t i = 0; i < list.size(); ++i) {
      auto v = As<int64_t>(list[i], origin, absl::StrCat(where, ".specific[", i, "]"),
                           "a version number");
      if (!v.ok()) return v.status();
      if (*v < 0) return Bad(origin, absl::StrCat(where, ".specific[", i, "]"), "must be >= 0");
      policy.specific.push_back(*v);
    }
  } else {
    return Bad(origin, where, absl::StrCat("unknown policy '", kind, "'"));
  }
  return policy;
}

absl::StatusOr<ModelConfig> ParseModel(const YAML::Node& node, const std::string& origin,
                                       const std::string& where, const fs::path& folder) {
  if (!node.IsMap()) return Bad(origin, where, "expected a mapping");
  static const std::set<std::string> kKeys = {"name",   "base_path", "version_policy",
                                              "labels", "traffic",   "model_platform"};
  for (const auto& kv : node) {
    if (!kKeys.count(kv.first.Scalar())) {
      return Bad(origin, where, absl::StrCat("unknown key '", kv.first.Scalar(), "'"));
    }
  }
  ModelConfig model;
  auto name = As<std::string>(node["name"], origin, where + ".name", "a model name");
  if (!name.ok()) return name.status();
  if (!IsValidModelName(*name)) {
    return Bad(origin, where + ".name", absl::StrCat("'", *name, "' is not [A-Za-z0-9_.-]+"));
  }
  model.name = *name;
  auto base = As<std::string>(node["base_path"], origin, where + ".base_path", "a folder");
  if (!base.ok()) return base.status();
  fs::path base_path(*base);
  if (base_path.is_relative()) base_path = folder / base_path;
  model.base_path = base_path.lexically_normal().string();
  if (node["version_policy"]) {
    auto policy = ParsePolicy(node["version_policy"], origin, where + ".version_policy");
    if (!policy.ok()) return policy.status();
    model.policy = *policy;
  }
  if (const YAML::Node labels = node["labels"]) {
    if (!labels.IsMap()) return Bad(origin, where + ".labels", "expected label: version pairs");
    for (const auto& kv : labels) {
      const std::string label = kv.first.Scalar();
      const std::string at = absl::StrCat(where, ".labels.", label);
      if (!IsValidLabel(label)) return Bad(origin, at, "a label is [A-Za-z0-9_]+");
      auto v = As<int64_t>(kv.second, origin, at, "a version number");
      if (!v.ok()) return v.status();
      model.labels[label] = *v;
    }
  }
  if (const YAML::Node traffic = node["traffic"]) {
    if (!traffic.IsMap()) return Bad(origin, where + ".traffic", "expected label: weight pairs");
    double total = 0;
    for (const auto& kv : traffic) {
      const std::string label = kv.first.Scalar();
      const std::string at = absl::StrCat(where, ".traffic.", label);
      if (!model.labels.count(label)) return Bad(origin, at, "not a label of this model");
      auto w = As<double>(kv.second, origin, at, "a weight");
      if (!w.ok()) return w.status();
      if (!(*w >= 0 && *w < 1e12)) return Bad(origin, at, "a weight is a number >= 0");
      model.traffic[label] = *w;
      total += *w;
    }
    if (!model.traffic.empty() && total <= 0) {
      return Bad(origin, where + ".traffic", "weights must not all be 0");
    }
  }
  return model;
}

}  // namespace

static absl::StatusOr<RepositoryConfig> ParseModels(const YAML::Node& models,
                                                    const std::string& origin,
                                                    const fs::path& folder);

bool IsValidLabel(const std::string& label) { return AllOf(label, ""); }
bool IsValidModelName(const std::string& name) {
  return AllOf(name, ".-") && name != "." && name != "..";
}

absl::StatusOr<RepositoryConfig> ParseRepositoryConfig(const std::string& text,
                                                       const std::string& origin) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(origin, ":", e.mark.line + 1, ": not valid YAML/JSON: ", e.msg));
  }
  if (!root.IsMap() || !root["models"] || !root["models"].IsSequence()) {
    return Bad(origin, "models", "expected a list of models");
  }
  for (const auto& kv : root) {
    if (kv.first.Scalar() != "models") {
      return Bad(origin, kv.first.Scalar(), "unknown key (expected 'models')");
    }
  }
  const fs::path folder = fs::path(origin).parent_path();
  try {
    return ParseModels(root["models"], origin, folder);
  } catch (const YAML::Exception& e) {  // a node of an unexpected kind somewhere
    return absl::InvalidArgumentError(
        absl::StrCat(origin, ":", e.mark.line + 1, ": unexpected structure: ", e.msg));
  }
}

static absl::StatusOr<RepositoryConfig> ParseModels(const YAML::Node& models,
                                                    const std::string& origin,
                                                    const fs::path& folder) {
  RepositoryConfig config;
  std::set<std::string> names;
  for (size_t i = 0; i < models.size(); ++i) {
    const std::string where = absl::StrCat("models[", i, "]");
    auto model = ParseModel(models[i], origin, where, folder);
    if (!model.ok()) return model.status();
    if (!names.insert(model->name).second) {
      return Bad(origin, where + ".name", absl::StrCat("duplicate model '", model->name, "'"));
    }
    config.models.push_back(std::move(*model));
  }
  return config;
}

absl::StatusOr<RepositoryConfig> LoadRepositoryConfig(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open the model config"));
  std::stringstream text;
  text << in.rdbuf();
  return ParseRepositoryConfig(text.str(), path);
}

}  // namespace parasol
