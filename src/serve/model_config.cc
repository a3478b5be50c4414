#include "serve/model_config.h"

#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/config_reader.h"

namespace parasol {
namespace {

namespace fs = std::filesystem;

bool AllOf(const std::string& s, const std::string& extra) {
  if (s.empty()) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || extra.find(c) != std::string::npos;
    if (!ok) return false;
  }
  return true;
}

// `all`, or a mapping holding exactly one of latest (N or {num_versions: N}), all ({} or
// anything), specific ([...] or {versions: [...]}): TF Serving's spellings.
VersionPolicy ReadPolicy(const config::Node& node) {
  VersionPolicy policy;
  if (!node.IsMap()) {
    if (node.IsScalar() && node.As<std::string>() == "all") {
      policy.kind = VersionPolicy::Kind::kAll;
      return policy;
    }
    node.Fail("expected 'all', {latest: N}, {all: {}} or {specific: [...]}");
  }
  const config::Map m = node.AsMap();
  const std::optional<config::Node> latest = m.Find("latest");
  const std::optional<config::Node> specific = m.Find("specific");
  m.Allow({"all"});  // its value is not read: `all: {}` and `all:` alike
  int kinds = (latest ? 1 : 0) + (specific ? 1 : 0);
  for (const auto& [key, value] : node.Entries()) kinds += key == "all" ? 1 : 0;
  m.RefuseUnknownKeys();
  if (kinds != 1) node.Fail("expected exactly one of latest, all, specific");
  if (latest) {
    const config::Node n = latest->IsMap() ? latest->AsMap().Get("num_versions") : *latest;
    policy.latest = n.As<int>();
    if (policy.latest < 1) n.Fail("must be >= 1");
  } else if (specific) {
    const config::Node list = specific->IsMap() ? specific->AsMap().Get("versions") : *specific;
    if (!list.IsSequence() || list.Items().empty()) {
      list.Fail("expected a non-empty list of versions");
    }
    policy.kind = VersionPolicy::Kind::kSpecific;
    for (const config::Node& item : list.Items()) {
      policy.specific.push_back(item.As<int64_t>());
      if (policy.specific.back() < 0) item.Fail("must be >= 0");
    }
  } else {
    policy.kind = VersionPolicy::Kind::kAll;
  }
  return policy;
}

ModelConfig ReadModel(const config::Node& node, const fs::path& folder) {
  const config::Map m = node.AsMap();
  ModelConfig model;
  const config::Node name = m.Get("name");
  model.name = name.As<std::string>();
  if (!IsValidModelName(model.name)) {
    name.Fail(absl::StrCat("'", model.name, "' is not [A-Za-z0-9_.-]+"));
  }
  fs::path base_path(m.Get<std::string>("base_path"));
  if (base_path.is_relative()) base_path = folder / base_path;
  model.base_path = base_path.lexically_normal().string();
  const std::optional<config::Node> policy = m.Find("version_policy");
  const std::optional<config::Node> labels = m.Find("labels");
  const std::optional<config::Node> traffic = m.Find("traffic");
  m.Allow({"model_platform"});  // TF Serving's; Parasol serves its own models only
  m.RefuseUnknownKeys();        // a misspelled 'labels' explains the traffic check better
  if (policy) model.policy = ReadPolicy(*policy);
  if (labels) {
    for (const auto& [label, version] : labels->Entries()) {
      if (!IsValidLabel(label)) version.Fail("a label is [A-Za-z0-9_]+");
      model.labels[label] = version.As<int64_t>();
    }
  }
  if (traffic) {
    double total = 0;
    for (const auto& [label, weight] : traffic->Entries()) {
      if (!model.labels.count(label)) weight.Fail("not a label of this model");
      const double w = weight.As<double>();
      if (!(w >= 0 && w < 1e12)) weight.Fail("a weight is a number >= 0");
      model.traffic[label] = w;
      total += w;
    }
    if (!model.traffic.empty() && total <= 0) traffic->Fail("weights must not all be 0");
  }
  return model;
}

}  // namespace

bool IsValidLabel(const std::string& label) { return AllOf(label, ""); }
bool IsValidModelName(const std::string& name) {
  return AllOf(name, ".-") && name != "." && name != "..";
}

absl::StatusOr<RepositoryConfig> ParseRepositoryConfig(const std::string& text,
                                                       const std::string& origin) {
  const fs::path folder = fs::path(origin).parent_path();
  RepositoryConfig config;
  const absl::Status status = config::ReadYaml(text, origin, [&](const config::Node& root) {
    std::set<std::string> names;
    for (const config::Node& item : root.AsMap().Get("models").Items()) {
      ModelConfig model = ReadModel(item, folder);
      if (!names.insert(model.name).second) {
        item.AsMap().Get("name").Fail(absl::StrCat("duplicate model '", model.name, "'"));
      }
      config.models.push_back(std::move(model));
    }
  });
  if (!status.ok()) return status;
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
