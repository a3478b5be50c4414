#include "serve/model_repository.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace parasol {

ModelRepository::ModelRepository(RepositoryOptions options)
    : ModelRepository(std::make_unique<FileSystemSource>(FileSystemSourceOptions{
                          options.config_path, options.model_base, options.model_name}),
                      std::make_unique<DiskServableLoader>(options.servable), options) {}

ModelRepository::ModelRepository(std::unique_ptr<VersionSource> source,
                                 std::unique_ptr<ServableLoader> loader, RepositoryOptions options)
    : options_(std::move(options)),
      source_(std::move(source)),
      loader_(std::move(loader)),
      pool_(options_.load_threads) {
  snapshot_.store(std::make_shared<const RepositorySnapshot>());
}

ModelRepository::~ModelRepository() {
  Stop();
  std::lock_guard<std::mutex> lock(mu_);
  shutting_down_ = true;  // tasks still queued end without loading; pool_ then joins
}

absl::Status ModelRepository::Poll() {
  auto aspired = source_->GetAspiredVersions();
  if (!aspired.ok()) return aspired.status();
  std::lock_guard<std::mutex> lock(mu_);
  config_error_ = std::move(aspired->config_error);
  ApplyModels(std::move(aspired->models));
  for (auto& [name, state] : models_) {
    Forget(&state);
    Reconcile(&state);
    ScheduleDeltas(&state);
  }
  Publish();
  return absl::OkStatus();
}

void ModelRepository::WaitUntilIdle() {
  std::unique_lock<std::mutex> lock(mu_);
  changed_cv_.wait(lock, [this] { return in_flight_ == 0; });
}

absl::Status ModelRepository::PollOnce() {
  if (auto st = Poll(); !st.ok()) return st;
  WaitUntilIdle();
  return absl::OkStatus();
}

bool ModelRepository::WaitFor(const std::function<bool(const RepositorySnapshot&)>& ready,
                              std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  return changed_cv_.wait_for(lock, timeout, [&] { return ready(*snapshot_.load()); });
}

void ModelRepository::ApplyModels(std::vector<AspiredModel> models) {
  std::map<std::string, ModelState> next;
  for (AspiredModel& model : models) {
    const std::string name = model.config.name;
    ModelState& state = next[name];
    if (auto it = models_.find(name); it != models_.end()) {
      state = std::move(it->second);
      if (state.aspired.config.base_path != model.config.base_path) {  // start afresh
        auto metrics = state.metrics;
        state = ModelState();
        state.metrics = metrics;
      }
    }
    if (state.id == 0) state.id = next_id_++;
    state.aspired = std::move(model);
  }
  models_ = std::move(next);  // removed models: their servables die with their last request
}

void ModelRepository::Forget(ModelState* state) {
  // What no longer exists is forgotten (unloaded versions once their last request ended).
  const AspiredModel& aspired = state->aspired;
  const bool specific = aspired.config.policy.kind == VersionPolicy::Kind::kSpecific;
  for (auto it = state->failed.begin(); it != state->failed.end();) {
    it = aspired.present.count(it->first) || specific ? std::next(it) : state->failed.erase(it);
  }
  for (auto it = state->unloaded.begin(); it != state->unloaded.end();) {
    it = aspired.present.count(it->first) || !it->second.expired() ? std::next(it)
                                                                   : state->unloaded.erase(it);
  }
}

void ModelRepository::Reconcile(ModelState* state) {
  if (shutting_down_) return;
  const AspiredModel& aspired = state->aspired;
  const size_t wanted = aspired.wanted;
  // The newest `wanted` candidates that are loaded or may still load.
  std::set<int64_t> keep;
  size_t pending = 0;
  for (const AspiredVersion& c : aspired.candidates) {
    if (keep.size() + pending >= wanted) break;
    const int64_t v = c.version;
    if (c.path.empty()) {  // a specific version that does not exist
      state->loaded.erase(v);
      state->failed[v] = {"", absl::NotFoundError(c.missing_reason)};
      continue;
    }
    if (state->loaded.count(v)) {
      keep.insert(v);
    } else if (state->loading.count(v)) {
      ++pending;
    } else if (auto f = state->failed.find(v);
               f == state->failed.end() || f->second.fingerprint != c.fingerprint) {
      ScheduleLoad(state, c);
      ++pending;
    }
  }
  // While newer versions load, older loaded ones keep serving, up to `wanted`.
  for (const AspiredVersion& c : aspired.candidates) {
    if (keep.size() >= wanted) break;
    if (state->loaded.count(c.version)) keep.insert(c.version);
  }
  for (auto it = state->loaded.begin(); it != state->loaded.end();) {
    if (keep.count(it->first)) {
      ++it;
      continue;
    }
    state->unloaded[it->first] = it->second.servable;
    log::Info("parasol serve: model '{}' version {} unloaded", aspired.config.name, it->first);
    it = state->loaded.erase(it);
  }
}

void ModelRepository::ScheduleLoad(ModelState* state, const AspiredVersion& version) {
  state->loading.insert(version.version);
  ++in_flight_;
  pool_.Schedule([this, name = state->aspired.config.name, id = state->id, version] {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (shutting_down_ || Current(name, id) == nullptr) return TaskDone();
    }
    auto servable = loader_->Load(name, version);
    DeltaState deltas;
    // Deltas already offered are applied before the version is first published.
    if (servable.ok()) ApplyDeltas(name, servable->get(), version.deltas, &deltas);
    std::lock_guard<std::mutex> lock(mu_);
    ModelState* state = Current(name, id);
    if (state == nullptr) return TaskDone();  // the model was removed or started afresh
    const int64_t v = version.version;
    state->loading.erase(v);
    if (servable.ok()) {
      state->loaded[v] = Loaded{std::move(*servable), std::move(deltas), false};
      state->failed.erase(v);
      state->unloaded.erase(v);
      log::Info("parasol serve: model '{}' version {} is available", name, v);
    } else {
      state->failed[v] = {version.fingerprint, servable.status()};
      log::Warn("parasol serve: model '{}' version {} failed to load: {}", name, v,
                std::string(servable.status().message()));
    }
    Reconcile(state);  // may unload older versions, or try the next candidate
    ScheduleDeltas(state);
    TaskDone();
  });
}

void ModelRepository::ScheduleDeltas(ModelState* state) {
  if (shutting_down_) return;
  for (const AspiredVersion& c : state->aspired.candidates) {
    auto it = state->loaded.find(c.version);
    if (it == state->loaded.end() || it->second.applying) continue;
    Loaded& loaded = it->second;
    if (!HasDeltaWork(*loaded.servable, c.deltas, loaded.deltas)) {
      // Only refusals of deltas no longer offered may need forgetting: cheap, done here.
      ApplyDeltas(state->aspired.config.name, loaded.servable.get(), c.deltas, &loaded.deltas);
      continue;
    }
    loaded.applying = true;
    ++in_flight_;
    pool_.Schedule([this, name = state->aspired.config.name, id = state->id, offered = c.deltas,
                    servable = loaded.servable, deltas = loaded.deltas]() mutable {
      ApplyDeltas(name, servable.get(), offered, &deltas);
      std::lock_guard<std::mutex> lock(mu_);
      if (ModelState* state = Current(name, id); state != nullptr) {
        auto it = state->loaded.find(servable->version());
        if (it != state->loaded.end() && it->second.servable == servable) {
          it->second.deltas = std::move(deltas);
          it->second.applying = false;
        }
      }
      TaskDone();
    });
  }
}

ModelRepository::ModelState* ModelRepository::Current(const std::string& name, uint64_t id) {
  auto it = models_.find(name);
  return it != models_.end() && it->second.id == id ? &it->second : nullptr;
}

void ModelRepository::TaskDone() {
  Publish();
  --in_flight_;
  changed_cv_.notify_all();
}

bool ModelRepository::HasDeltaWork(const Servable& servable,
                                   const std::vector<AspiredDelta>& offered,
                                   const DeltaState& deltas) {
  for (const AspiredDelta& d : offered) {
    if (!d.complete || deltas.applied.count(d.seq)) continue;
    auto f = deltas.failed.find(d.seq);
    if (f == deltas.failed.end() ||
        f->second.fingerprint != absl::StrCat(d.fingerprint, "@", servable.checkpoint_id())) {
      return true;
    }
  }
  return false;
}

void ModelRepository::ApplyDeltas(const std::string& model, Servable* servable,
                                  const std::vector<AspiredDelta>& offered, DeltaState* deltas) {
  std::set<int64_t> seqs;
  for (const AspiredDelta& d : offered) seqs.insert(d.seq);
  for (auto it = deltas->failed.begin(); it != deltas->failed.end();) {
    it = seqs.count(it->first) ? std::next(it) : deltas->failed.erase(it);
  }
  for (const AspiredDelta& d : offered) {
    if (deltas->applied.count(d.seq) || !d.complete) continue;  // done, or still being written
    const std::string fingerprint = absl::StrCat(d.fingerprint, "@", servable->checkpoint_id());
    if (auto f = deltas->failed.find(d.seq);
        f != deltas->failed.end() && f->second.fingerprint == fingerprint) {
      continue;
    }
    auto rows = servable->ApplyDelta(d.path);
    if (rows.ok()) {
      deltas->applied.insert(d.seq);
      deltas->failed.erase(d.seq);
      ++deltas->status.applied;
      deltas->status.rows += *rows;
      log::Info("parasol serve: model '{}' version {}: delta {} applied ({} rows)", model,
                servable->version(), d.seq, *rows);
    } else {
      deltas->failed[d.seq] = {fingerprint, rows.status()};
      log::Warn("parasol serve: model '{}' version {}: delta {} refused: {}", model,
                servable->version(), d.seq, std::string(rows.status().message()));
    }
  }
  deltas->status.checkpoint_id = servable->checkpoint_id();
  deltas->status.refused.clear();
  for (const auto& [seq, f] : deltas->failed) deltas->status.refused[seq] = f.status;
}

void ModelRepository::Publish() {
  auto snap = std::make_shared<RepositorySnapshot>();
  snap->config_error = config_error_;
  for (const auto& [name, state] : models_) {
    auto model = std::make_shared<ServedModel>();
    model->config = state.aspired.config;
    for (const auto& [v, loaded] : state.loaded) {
      model->available[v] = loaded.servable;
      model->deltas[v] = loaded.deltas.status;
    }
    for (const auto& [v, f] : state.failed) model->failed[v] = f.status;
    for (int64_t v : state.loading) {  // a retried version shows LOADING, not its old failure
      model->loading.insert(v);
      model->failed.erase(v);
    }
    model->unloaded = state.unloaded;
    model->problem = state.aspired.problem;
    model->metrics = state.metrics;
    snap->models[name] = std::move(model);
  }
  snapshot_.store(std::move(snap));
  changed_cv_.notify_all();
}

void ModelRepository::Start() {
  poller_ = std::thread([this] {
    const auto period = std::chrono::duration<double>(options_.poll_seconds);
    std::unique_lock<std::mutex> lock(mu_);
    while (!changed_cv_.wait_for(lock, period, [this] { return stop_; })) {
      lock.unlock();
      (void)Poll();  // only a never-valid config fails, and that was checked before Start
      lock.lock();
    }
  });
}

void ModelRepository::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  changed_cv_.notify_all();
  if (poller_.joinable()) poller_.join();
}

}  // namespace parasol
