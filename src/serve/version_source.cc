#include "serve/version_source.h"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "serve/served_model.h"

namespace parasol {
namespace {

namespace fs = std::filesystem;

// A version (or delta) folder is named by digits only ("17"); anything else ("17.tmp", ".17")
// is ignored, so a writer can prepare a version under another name and rename it into place.
bool ParseVersion(const std::string& name, int64_t* version) {
  if (name.empty() || name.size() > 18) return false;
  for (char c : name) {
    if (c < '0' || c > '9') return false;
  }
  std::from_chars(name.data(), name.data() + name.size(), *version);
  return true;
}

// Names, sizes and modification times of a folder's files: a failed load is retried only when
// this changes (the writer finished, or replaced a broken file).
std::string Fingerprint(const fs::path& dir) {
  std::vector<std::string> parts;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    std::error_code e2;
    const auto size = entry.is_regular_file(e2) ? entry.file_size(e2) : 0;
    const auto time = entry.last_write_time(e2).time_since_epoch().count();
    parts.push_back(absl::StrCat(entry.path().filename().string(), ":", size, ":", time));
  }
  std::sort(parts.begin(), parts.end());
  std::string out;
  for (const auto& p : parts) absl::StrAppend(&out, p, ";");
  return out;
}

// Digit-named sub-folders of `dir`, by number. NotFound when `dir` cannot be listed.
absl::StatusOr<std::map<int64_t, fs::path>> NumberedFolders(const fs::path& dir) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) return absl::NotFoundError(ec.message());
  std::map<int64_t, fs::path> out;
  for (const auto& entry : it) {
    int64_t n = 0;
    std::error_code e2;
    if (entry.is_directory(e2) && ParseVersion(entry.path().filename().string(), &n)) {
      out[n] = entry.path();
    }
  }
  return out;
}

std::vector<AspiredDelta> ListDeltas(const fs::path& version_dir) {
  std::vector<AspiredDelta> out;
  auto seqs = NumberedFolders(version_dir / kDeltaFolder);
  if (!seqs.ok()) return out;  // no deltas folder
  for (const auto& [seq, path] : *seqs) {
    AspiredDelta d;
    d.seq = seq;
    d.path = path.string();
    std::error_code ec;
    d.complete = fs::exists(path / "manifest.json", ec);  // else still being written
    if (d.complete) d.fingerprint = Fingerprint(path);
    out.push_back(std::move(d));
  }
  return out;
}

AspiredModel ListModel(const ModelConfig& config) {
  AspiredModel model;
  model.config = config;
  std::map<int64_t, fs::path> dirs;
  if (auto listed = NumberedFolders(config.base_path); listed.ok()) {
    dirs = std::move(*listed);
  } else {
    model.problem =
        absl::StrCat("cannot list model base ", config.base_path, ": ", listed.status().message());
  }
  for (const auto& [v, path] : dirs) model.present.insert(v);

  std::vector<int64_t> versions;  // newest first
  switch (config.policy.kind) {
    case VersionPolicy::Kind::kLatest:
      model.wanted = config.policy.latest;
      [[fallthrough]];
    case VersionPolicy::Kind::kAll:
      for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) versions.push_back(it->first);
      break;
    case VersionPolicy::Kind::kSpecific:
      versions = config.policy.specific;
      std::sort(versions.rbegin(), versions.rend());
      break;
  }
  for (int64_t v : versions) {
    AspiredVersion version;
    version.version = v;
    if (auto dir = dirs.find(v); dir != dirs.end()) {
      version.path = dir->second.string();
      version.fingerprint = Fingerprint(dir->second);
      version.deltas = ListDeltas(dir->second);
    } else {
      version.missing_reason =
          absl::StrCat("no folder ", (fs::path(config.base_path) / std::to_string(v)).string());
    }
    model.candidates.push_back(std::move(version));
  }
  return model;
}

}  // namespace

FileSystemSource::FileSystemSource(FileSystemSourceOptions options)
    : options_(std::move(options)) {}

absl::Status FileSystemSource::ReloadConfig() {
  if (options_.config_path.empty()) {
    if (have_config_) return absl::OkStatus();
    ModelConfig model;
    model.base_path = options_.model_base;
    model.name = options_.model_name;
    if (model.name.empty()) {
      model.name = fs::path(options_.model_base).lexically_normal().filename().string();
      if (model.name.empty()) {
        model.name = fs::path(options_.model_base).lexically_normal().parent_path().filename();
      }
    }
    if (!IsValidModelName(model.name)) {
      return absl::InvalidArgumentError(
          absl::StrCat("model name '", model.name, "' is not [A-Za-z0-9_.-]+ (set --model-name)"));
    }
    config_ = RepositoryConfig{{model}};
    have_config_ = true;
    return absl::OkStatus();
  }
  std::ifstream in(options_.config_path, std::ios::binary);
  std::stringstream text;
  if (in) text << in.rdbuf();
  if (!in) {
    const auto st =
        absl::NotFoundError(absl::StrCat(options_.config_path, ": cannot read the model config"));
    if (!have_config_) return st;
    config_error_ = std::string(st.message());
    return absl::OkStatus();
  }
  if (have_config_ && text.str() == config_text_) return absl::OkStatus();
  auto config = ParseRepositoryConfig(text.str(), options_.config_path);
  if (!config.ok()) {
    if (!have_config_) return config.status();
    // Keep serving with the previous config; say why once per change.
    if (config_error_ != config.status().message()) {
      log::Warn("parasol serve: model config change rejected: {}",
                std::string(config.status().message()));
    }
    config_error_ = std::string(config.status().message());
    config_text_ = text.str();
    return absl::OkStatus();
  }
  config_text_ = text.str();
  config_error_.clear();
  config_ = std::move(*config);
  have_config_ = true;
  return absl::OkStatus();
}

absl::StatusOr<AspiredVersions> FileSystemSource::GetAspiredVersions() {
  if (auto st = ReloadConfig(); !st.ok()) return st;
  AspiredVersions out;
  out.config_error = config_error_;
  for (const ModelConfig& model : config_.models) out.models.push_back(ListModel(model));
  return out;
}

}  // namespace parasol
