#include "serve/model_repository.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace parasol {
namespace {

namespace fs = std::filesystem;

// A version folder is named by digits only ("17"); anything else ("17.tmp", ".17") is ignored,
// so a writer can prepare a version under another name and rename it into place.
bool ParseVersion(const std::string& name, int64_t* version) {
  if (name.empty() || name.size() > 18) return false;
  for (char c : name) {
    if (c < '0' || c > '9') return false;
  }
  std::from_chars(name.data(), name.data() + name.size(), *version);
  return true;
}

// Names, sizes and modification times of a version folder's files: a failed load is retried
// only when this changes (the writer finished, or replaced a broken file).
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

// version → fingerprint of every version folder under `base`.
absl::StatusOr<std::map<int64_t, std::string>> ListVersions(const std::string& base) {
  std::error_code ec;
  fs::directory_iterator it(base, ec);
  if (ec) {
    return absl::NotFoundError(absl::StrCat("cannot list model base ", base, ": ", ec.message()));
  }
  std::map<int64_t, std::string> versions;
  for (const auto& entry : it) {
    int64_t version = 0;
    std::error_code e2;
    if (!entry.is_directory(e2) || !ParseVersion(entry.path().filename().string(), &version)) {
      continue;
    }
    versions[version] = Fingerprint(entry.path());
  }
  return versions;
}

}  // namespace

const char* VersionStateName(VersionState state) {
  switch (state) {
    case VersionState::kStart:
      return "START";
    case VersionState::kLoading:
      return "LOADING";
    case VersionState::kAvailable:
      return "AVAILABLE";
    case VersionState::kUnloading:
      return "UNLOADING";
    case VersionState::kEnd:
      break;
  }
  return "END";
}

std::string VersionSelector::ToString() const {
  switch (kind) {
    case Kind::kVersion:
      return absl::StrCat("version ", version);
    case Kind::kLabel:
      return absl::StrCat("label '", label, "'");
    case Kind::kDefault:
      break;
  }
  return "latest";
}

std::vector<VersionStatus> ServedModel::Statuses() const {
  std::map<int64_t, VersionStatus, std::greater<>> all;
  for (const auto& [v, weak] : unloaded) {
    all[v] = {
        v, weak.expired() ? VersionState::kEnd : VersionState::kUnloading, absl::OkStatus(), {}};
  }
  for (const auto& [v, status] : failed) all[v] = {v, VersionState::kEnd, status, {}};
  for (const auto& [v, servable] : available) {
    all[v] = {v, VersionState::kAvailable, {}, {}};
    if (auto d = deltas.find(v); d != deltas.end()) all[v].deltas = d->second;
  }
  for (int64_t v : loading) all[v] = {v, VersionState::kLoading, absl::OkStatus(), {}};
  std::vector<VersionStatus> out;
  for (auto& [v, s] : all) out.push_back(std::move(s));
  return out;
}

absl::StatusOr<std::vector<VersionStatus>> ServedModel::StatusesFor(
    const VersionSelector& selector) const {
  std::vector<VersionStatus> all = Statuses();
  if (selector.kind == VersionSelector::Kind::kDefault) {
    if (all.empty()) {
      return absl::NotFoundError(absl::StrCat("model '", config.name, "' has no versions",
                                              problem.empty() ? "" : ": ", problem));
    }
    return all;
  }
  int64_t v = selector.version;
  if (selector.kind == VersionSelector::Kind::kLabel) {
    auto l = config.labels.find(selector.label);
    if (l == config.labels.end()) {
      return absl::NotFoundError(
          absl::StrCat("model '", config.name, "' has no label '", selector.label, "'"));
    }
    v = l->second;
  }
  for (auto& s : all) {
    if (s.version == v) return std::vector<VersionStatus>{std::move(s)};
  }
  return absl::NotFoundError(absl::StrCat("model '", config.name, "' has no version ", v));
}

absl::StatusOr<std::shared_ptr<const ServedModel>> RepositorySnapshot::Find(
    const std::string& name) const {
  auto it = models.find(name);
  if (it == models.end()) return absl::NotFoundError(absl::StrCat("no model named '", name, "'"));
  return it->second;
}

absl::StatusOr<std::shared_ptr<const Servable>> ServedModel::Resolve(
    const VersionSelector& selector, double uniform) const {
  const std::string& name = config.name;
  auto by_version = [&](int64_t v,
                        const std::string& via) -> absl::StatusOr<std::shared_ptr<const Servable>> {
    if (auto it = available.find(v); it != available.end()) return it->second;
    if (loading.count(v)) {
      return absl::UnavailableError(
          absl::StrCat("model '", name, "' ", via, "version ", v, " is still loading"));
    }
    if (auto it = failed.find(v); it != failed.end()) {
      return absl::NotFoundError(absl::StrCat("model '", name, "' ", via, "version ", v,
                                              " failed to load: ", it->second.message()));
    }
    if (unloaded.count(v)) {
      return absl::NotFoundError(absl::StrCat("model '", name, "' ", via, "version ", v,
                                              " is not served (version policy)"));
    }
    return absl::NotFoundError(absl::StrCat("model '", name, "' has no ", via, "version ", v));
  };
  switch (selector.kind) {
    case VersionSelector::Kind::kVersion:
      return by_version(selector.version, "");
    case VersionSelector::Kind::kLabel: {
      auto it = config.labels.find(selector.label);
      if (it == config.labels.end()) {
        return absl::NotFoundError(
            absl::StrCat("model '", name, "' has no label '", selector.label, "'"));
      }
      auto servable = by_version(it->second, absl::StrCat("label '", selector.label, "' → "));
      if (!servable.ok() && absl::IsNotFound(servable.status())) {
        // The label exists; its version does not serve (yet): the label is not ready.
        return absl::UnavailableError(servable.status().message());
      }
      return servable;
    }
    case VersionSelector::Kind::kDefault:
      break;
  }
  // Weighted split across labels whose version is available; weights of the others are
  // dropped, so a broken canary never fails bare-name requests.
  double total = 0;
  std::vector<std::pair<double, const std::shared_ptr<const Servable>*>> choices;
  for (const auto& [label, weight] : config.traffic) {
    if (weight <= 0) continue;
    auto it = available.find(config.labels.at(label));
    if (it == available.end()) continue;
    total += weight;
    choices.emplace_back(total, &it->second);
  }
  if (!choices.empty()) {
    const double x = uniform * total;
    for (const auto& [upper, servable] : choices) {
      if (x < upper) return *servable;
    }
    return *choices.back().second;
  }
  if (available.empty()) {
    std::string why = problem;
    if (why.empty() && !failed.empty()) {
      why = absl::StrCat("version ", failed.rbegin()->first,
                         " failed to load: ", failed.rbegin()->second.message());
    }
    return absl::UnavailableError(absl::StrCat("model '", name, "' has no available version",
                                               why.empty() ? "" : " (", why,
                                               why.empty() ? "" : ")"));
  }
  return available.rbegin()->second;
}

ModelRepository::ModelRepository(RepositoryOptions options) : options_(std::move(options)) {
  snapshot_.store(std::make_shared<const RepositorySnapshot>());
}

ModelRepository::~ModelRepository() { Stop(); }

absl::Status ModelRepository::ReloadConfig() {
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
    ApplyConfig(RepositoryConfig{{model}});
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
      std::fprintf(stderr, "parasol serve: model config change rejected: %s\n",
                   std::string(config.status().message()).c_str());
    }
    config_error_ = std::string(config.status().message());
    config_text_ = text.str();
    return absl::OkStatus();
  }
  config_text_ = text.str();
  config_error_.clear();
  ApplyConfig(*config);
  have_config_ = true;
  return absl::OkStatus();
}

void ModelRepository::ApplyConfig(const RepositoryConfig& config) {
  std::map<std::string, ModelState> next;
  for (const ModelConfig& model : config.models) {
    ModelState& state = next[model.name];
    if (auto it = models_.find(model.name); it != models_.end()) {
      state = std::move(it->second);
      if (state.config.base_path != model.base_path) {  // another folder: start afresh
        auto metrics = state.metrics;
        state = ModelState();
        state.metrics = metrics;
      }
    }
    state.config = model;
  }
  models_ = std::move(next);  // removed models: their servables die with their last request
}

void ModelRepository::SyncVersions(ModelState* state) {
  const ModelConfig& config = state->config;
  auto listed = ListVersions(config.base_path);
  state->problem = listed.ok() ? "" : std::string(listed.status().message());
  const std::map<int64_t, std::string> dirs =
      listed.ok() ? *listed : std::map<int64_t, std::string>{};

  // Forget what no longer exists on disk (unloaded ones once their last request ended).
  for (auto it = state->failed.begin(); it != state->failed.end();) {
    it = dirs.count(it->first) || config.policy.kind == VersionPolicy::Kind::kSpecific
             ? std::next(it)
             : state->failed.erase(it);
  }
  for (auto it = state->unloaded.begin(); it != state->unloaded.end();) {
    it = dirs.count(it->first) || !it->second.expired() ? std::next(it) : state->unloaded.erase(it);
  }

  std::vector<int64_t> candidates;  // newest first
  size_t wanted = SIZE_MAX;
  switch (config.policy.kind) {
    case VersionPolicy::Kind::kLatest:
      wanted = config.policy.latest;
      [[fallthrough]];
    case VersionPolicy::Kind::kAll:
      for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) candidates.push_back(it->first);
      break;
    case VersionPolicy::Kind::kSpecific:
      candidates = config.policy.specific;
      std::sort(candidates.rbegin(), candidates.rend());
      break;
  }

  std::set<int64_t> keep;
  for (int64_t v : candidates) {
    if (keep.size() >= wanted) break;
    auto dir = dirs.find(v);
    if (dir == dirs.end()) {  // a specific version that is not on disk
      state->loaded.erase(v);
      state->failed[v] = {
          "", absl::NotFoundError(absl::StrCat(
                  "no folder ", (fs::path(config.base_path) / std::to_string(v)).string()))};
      continue;
    }
    if (auto loaded = state->loaded.find(v); loaded != state->loaded.end()) {
      ApplyDeltas(config.name, loaded->second.get(), &state->deltas[v]);
      keep.insert(v);
      continue;
    }
    if (auto f = state->failed.find(v);
        f != state->failed.end() && f->second.fingerprint == dir->second) {
      continue;
    }
    Publish(config.name, v);
    const std::string path = (fs::path(config.base_path) / std::to_string(v)).string();
    auto servable = Servable::Load(path, v);
    if (servable.ok()) {
      // Deltas already on disk are applied before the version is first published.
      state->deltas[v] = DeltaState();
      ApplyDeltas(config.name, servable->get(), &state->deltas[v]);
      state->loaded[v] = std::move(*servable);
      state->failed.erase(v);
      state->unloaded.erase(v);
      keep.insert(v);
      std::fprintf(stderr, "parasol serve: model '%s' version %lld is available\n",
                   config.name.c_str(), static_cast<long long>(v));
    } else {
      state->failed[v] = {dir->second, servable.status()};
      std::fprintf(stderr, "parasol serve: model '%s' version %lld failed to load: %s\n",
                   config.name.c_str(), static_cast<long long>(v),
                   std::string(servable.status().message()).c_str());
    }
  }
  for (auto it = state->loaded.begin(); it != state->loaded.end();) {
    if (keep.count(it->first)) {
      ++it;
      continue;
    }
    state->unloaded[it->first] = it->second;
    state->deltas.erase(it->first);
    std::fprintf(stderr, "parasol serve: model '%s' version %lld unloaded\n", config.name.c_str(),
                 static_cast<long long>(it->first));
    it = state->loaded.erase(it);
  }
}

void ModelRepository::ApplyDeltas(const std::string& model, Servable* servable,
                                  DeltaState* deltas) {
  const fs::path root = fs::path(servable->dir()) / kDeltaFolder;
  std::map<int64_t, fs::path> seqs;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    int64_t seq = 0;
    std::error_code e2;
    if (entry.is_directory(e2) && ParseVersion(entry.path().filename().string(), &seq)) {
      seqs[seq] = entry.path();
    }
  }
  for (auto it = deltas->failed.begin(); it != deltas->failed.end();) {
    it = seqs.count(it->first) ? std::next(it) : deltas->failed.erase(it);
  }
  for (const auto& [seq, path] : seqs) {
    if (deltas->applied.count(seq)) continue;
    std::error_code e2;
    if (!fs::exists(path / "manifest.json", e2)) continue;  // still being written
    const std::string fingerprint = absl::StrCat(Fingerprint(path), "@", servable->checkpoint_id());
    if (auto f = deltas->failed.find(seq);
        f != deltas->failed.end() && f->second.fingerprint == fingerprint) {
      continue;
    }
    auto rows = servable->ApplyDelta(path.string());
    if (rows.ok()) {
      deltas->applied.insert(seq);
      deltas->failed.erase(seq);
      ++deltas->status.applied;
      deltas->status.rows += *rows;
      std::fprintf(stderr,
                   "parasol serve: model '%s' version %lld: delta %lld applied (%llu rows)\n",
                   model.c_str(), static_cast<long long>(servable->version()),
                   static_cast<long long>(seq), static_cast<unsigned long long>(*rows));
    } else {
      deltas->failed[seq] = {fingerprint, rows.status()};
      std::fprintf(stderr, "parasol serve: model '%s' version %lld: delta %lld refused: %s\n",
                   model.c_str(), static_cast<long long>(servable->version()),
                   static_cast<long long>(seq), std::string(rows.status().message()).c_str());
    }
  }
  deltas->status.checkpoint_id = servable->checkpoint_id();
  deltas->status.refused.clear();
  for (const auto& [seq, f] : deltas->failed) deltas->status.refused[seq] = f.status;
}

void ModelRepository::Publish(const std::string& loading_model, int64_t loading_version) {
  auto snap = std::make_shared<RepositorySnapshot>();
  snap->config_error = config_error_;
  for (const auto& [name, state] : models_) {
    auto model = std::make_shared<ServedModel>();
    model->config = state.config;
    for (const auto& [v, servable] : state.loaded) model->available[v] = servable;
    for (const auto& [v, d] : state.deltas) model->deltas[v] = d.status;
    for (const auto& [v, f] : state.failed) model->failed[v] = f.status;
    model->unloaded = state.unloaded;
    model->problem = state.problem;
    model->metrics = state.metrics;
    if (name == loading_model) {
      model->loading.insert(loading_version);
      model->failed.erase(loading_version);
    }
    snap->models[name] = std::move(model);
  }
  snapshot_.store(std::move(snap));
}

absl::Status ModelRepository::PollOnce() {
  if (auto st = ReloadConfig(); !st.ok()) return st;
  for (auto& [name, state] : models_) SyncVersions(&state);
  Publish();
  return absl::OkStatus();
}

void ModelRepository::Start() {
  poller_ = std::thread([this] {
    const auto period = std::chrono::duration<double>(options_.poll_seconds);
    std::unique_lock<std::mutex> lock(mu_);
    while (!cv_.wait_for(lock, period, [this] { return stop_; })) {
      lock.unlock();
      (void)PollOnce();  // only a never-valid config fails, and that was checked before Start
      lock.lock();
    }
  });
}

void ModelRepository::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (poller_.joinable()) poller_.join();
}

}  // namespace parasol
