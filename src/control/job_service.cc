#include "control/job_service.h"

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "control/metrics_log.h"

namespace parasol::control {

double NowSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

JobService::JobService(std::unique_ptr<JobStore> store, std::unique_ptr<JobBackend> backend)
    : store_(std::move(store)), backend_(std::move(backend)), supervisor_(*backend_) {}

JobService::~JobService() { Shutdown(); }

absl::Status JobService::Start() {
  auto stored = store_->List();
  if (!stored.ok()) return stored.status();
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& job : *stored) {
      if (!IsFinal(job.state) || job.HasLiveReplicas()) {
        supervisor_.Recover(job);
        Persist(job);
      }
      jobs_[job.name()] = std::move(job);
    }
  }
  ticker_ = std::thread([this] {
    while (!stop_) {
      Tick(NowSeconds());
      std::unique_lock<std::mutex> lock(wake_mu_);
      wake_.wait_for(lock, std::chrono::milliseconds(100), [this] { return stop_.load(); });
    }
  });
  return absl::OkStatus();
}

void JobService::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(wake_mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (ticker_.joinable()) ticker_.join();
}

void JobService::Persist(const JobRecord& job) {
  if (auto st = store_->Update(job); !st.ok()) {
    log::Error("parasol control: cannot save job {}: {}", job.name(), std::string(st.message()));
  }
}

void JobService::Tick(double now) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<JobRecord*> order;
  for (auto& [name, job] : jobs_) order.push_back(&job);
  // Oldest first, so an earlier Pending job gets free resources before a later one.
  std::sort(order.begin(), order.end(),
            [](const JobRecord* a, const JobRecord* b) { return a->created_at < b->created_at; });
  std::vector<std::string> gone;
  for (JobRecord* job : order) {
    if (IsFinal(job->state) && !job->HasLiveReplicas() && !job->delete_requested) continue;
    bool changed = supervisor_.Step(*job, now);
    const CollectedMetrics metrics = backend_->CollectMetrics(*job, now);
    if (!metrics.points.empty()) {
      // Points first, then the read positions: a crash between repeats points, never loses them.
      if (auto st = store_->AppendMetrics(job->name(), metrics.points); !st.ok()) {
        log::Error("parasol control: cannot save metrics of {}: {}", job->name(),
                   std::string(st.message()));
      }
    }
    changed |= metrics.advanced;
    if (changed) Persist(*job);
    if (job->delete_requested && !job->HasLiveReplicas()) gone.push_back(job->name());
  }
  for (const auto& name : gone) {
    backend_->Remove(jobs_[name]).IgnoreError();  // best effort: logs of a deleted job
    supervisor_.Forget(name);
    if (auto st = store_->Delete(name); !st.ok() && !absl::IsNotFound(st)) {
      log::Error("parasol control: cannot delete job {}: {}", name, std::string(st.message()));
    }
    jobs_.erase(name);
  }
}

absl::StatusOr<JobRecord> JobService::Submit(const std::string& spec_text,
                                             const std::string& source,
                                             const std::string& default_working_dir,
                                             const Submitter& submitter) {
  auto spec = ParseJobSpec(spec_text, source);
  if (!spec.ok()) return spec.status();
  if (!default_working_dir.empty() && default_working_dir.front() == '/' &&
      (spec->working_dir.empty() || spec->working_dir.front() != '/')) {
    spec->working_dir = spec->working_dir.empty() ? default_working_dir
                                                  : default_working_dir + "/" + spec->working_dir;
  }
  if (auto st = backend_->Admit(*spec); !st.ok()) return st;
  JobRecord job;
  job.spec = *std::move(spec);
  job.tenant = submitter.tenant;
  job.created_at = NowSeconds();
  job.reason = "queued";
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (jobs_.count(job.name()) > 0) {
      return absl::AlreadyExistsError("a job named '" + job.name() +
                                      "' exists (delete it first or choose another name)");
    }
    if (submitter.quota) {
      const Resources need = TotalResources(ExpandJob(job.spec, "parasol"));
      const auth::Usage asked{need.cpu, need.memory_bytes, need.gpu, 1};
      if (auto st = auth::CheckQuota(submitter.tenant, *submitter.quota,
                                     UsageOfLocked(submitter.tenant), asked);
          !st.ok()) {
        return st;
      }
    }
    if (auto st = store_->Create(job); !st.ok()) return st;
    jobs_[job.name()] = job;
  }
  wake_.notify_all();
  return job;
}

auth::Usage JobService::UsageOf(const std::string& tenant) {
  std::lock_guard<std::mutex> lock(mu_);
  return UsageOfLocked(tenant);
}

auth::Usage JobService::UsageOfLocked(const std::string& tenant) {
  auth::Usage used;
  for (const auto& [name, job] : jobs_) {
    if (job.tenant != tenant || (IsFinal(job.state) && !job.HasLiveReplicas())) continue;
    const Resources r = TotalResources(ExpandJob(job.spec, "parasol"));
    used.cpu += r.cpu;
    used.memory_bytes += r.memory_bytes;
    used.gpu += r.gpu;
    ++used.jobs;
  }
  return used;
}

absl::StatusOr<JobRecord> JobService::Get(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = jobs_.find(name);
  if (it == jobs_.end()) return absl::NotFoundError("no job named '" + name + "'");
  return it->second;
}

absl::StatusOr<std::vector<JobRecord>> JobService::List() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<JobRecord> out;
  for (const auto& [name, job] : jobs_) out.push_back(job);
  std::sort(out.begin(), out.end(),
            [](const JobRecord& a, const JobRecord& b) { return a.created_at < b.created_at; });
  return out;
}

absl::StatusOr<JobRecord> JobService::Stop(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = jobs_.find(name);
  if (it == jobs_.end()) return absl::NotFoundError("no job named '" + name + "'");
  supervisor_.Stop(it->second, "stopped by request", NowSeconds());
  Persist(it->second);
  return it->second;
}

absl::StatusOr<bool> JobService::Delete(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = jobs_.find(name);
  if (it == jobs_.end()) return absl::NotFoundError("no job named '" + name + "'");
  JobRecord& job = it->second;
  supervisor_.Stop(job, "deleted", NowSeconds());
  if (job.HasLiveReplicas()) {
    job.delete_requested = true;
    Persist(job);
    return false;
  }
  backend_->Remove(job).IgnoreError();
  supervisor_.Forget(name);
  if (auto st = store_->Delete(name); !st.ok()) return st;
  jobs_.erase(it);
  return true;
}

absl::StatusOr<std::string> JobService::MetricsJson(const std::string& name) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (jobs_.count(name) == 0) return absl::NotFoundError("no job named '" + name + "'");
  }
  auto points = store_->Metrics(name);
  if (!points.ok()) return points.status();
  return MetricSeriesJson(name, *points);
}

absl::Status JobService::ReportMetrics(const std::string& name, const std::string& body) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(body);
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(std::string("metrics: not JSON: ") + e.what());
  }
  if (!j.is_object() || !j.contains("replica") || !j["replica"].is_string() ||
      !j.contains("points") || !j["points"].is_array()) {
    return absl::InvalidArgumentError(
        "metrics: expected {\"replica\": NAME, \"points\": [{\"step\": N, ...}, ...]}");
  }
  const std::string replica = j["replica"].get<std::string>();
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = jobs_.find(name);
    if (it == jobs_.end()) return absl::NotFoundError("no job named '" + name + "'");
    if (it->second.FindReplica(replica) == nullptr) {
      return absl::NotFoundError("job '" + name + "' has no replica '" + replica + "'");
    }
  }
  std::vector<MetricPoint> all;
  const double now = NowSeconds();
  for (size_t i = 0; i < j["points"].size(); ++i) {
    auto points = ParseMetricsLine(j["points"][i].dump(), replica, now);
    if (!points.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("points[", i, "]: ", points.status().message()));
    }
    all.insert(all.end(), points->begin(), points->end());
  }
  return store_->AppendMetrics(name, all);
}

absl::StatusOr<LogChunk> JobService::Logs(const std::string& name, const std::string& replica,
                                          uint64_t offset, size_t max_bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = jobs_.find(name);
  if (it == jobs_.end()) return absl::NotFoundError("no job named '" + name + "'");
  JobRecord& job = it->second;
  auto data = backend_->ReadLog(job, replica, offset, max_bytes);
  if (!data.ok()) return data.status();
  LogChunk chunk;
  chunk.next_offset = offset + data->size();
  const ReplicaStatus* r = job.FindReplica(replica);
  chunk.done = data->size() < max_bytes && r != nullptr && r->state != ReplicaState::kRunning &&
               (r->state != ReplicaState::kPending || IsFinal(job.state));
  chunk.data = *std::move(data);
  return chunk;
}

}  // namespace parasol::control
