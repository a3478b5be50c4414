#include "control/k8s_backend.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "control/lifecycle.h"

namespace parasol::control {

KubernetesBackend::KubernetesBackend(std::unique_ptr<K8sApi> api, K8sRenderOptions options,
                                     double poll_seconds)
    : api_(std::move(api)), options_(std::move(options)), poll_seconds_(poll_seconds) {}

absl::Status KubernetesBackend::Admit(const JobSpec& spec) {
  return RenderKubernetes(spec, options_).status();
}

bool KubernetesBackend::Reconcile(JobRecord& job, double now) {
  const std::string before = JobRecordToJson(job);
  const JobSpec expanded = ExpandJob(job.spec, "parasol");
  if (job.state == JobState::kPending) {
    auto manifests = RenderKubernetes(job.spec, options_);
    absl::Status created = manifests.status();
    if (created.ok()) created = ApplyManifests(*api_, *manifests);
    if (!created.ok()) {
      job.state = JobState::kFailed;
      job.reason = std::string(created.message());
      job.finished_at = now;
      DeleteObjects(job, /*workers_too=*/true);
      return true;
    }
    job.replicas.clear();
    for (const auto& role : expanded.replicas) {
      for (int i = 0; i < role.count; ++i) {
        ReplicaStatus r;
        r.role = role.role;
        r.index = i;
        r.name = absl::StrCat(role.role, "-", i);
        r.port = options_.port;
        r.state = ReplicaState::kRunning;
        r.reason = absl::StrCat("pod ", job.name(), "-", r.name, " in namespace ",
                                options_.kube_namespace);
        job.replicas.push_back(r);
      }
    }
    job.state = JobState::kRunning;
    job.started_at = now;
    job.reason = "";
  }
  if (job.state != JobState::kRunning) return JobRecordToJson(job) != before;
  double& last = last_poll_[job.name()];
  if (now - last < poll_seconds_) return JobRecordToJson(job) != before;
  last = now;
  bool all_complete = true;
  std::string failure;
  for (const auto& role : expanded.replicas) {
    if (!CompletesJob(expanded, role.role)) continue;
    auto k8s_job =
        api_->Get("batch/v1", "Job", options_.kube_namespace, job.name() + "-" + role.role);
    if (!k8s_job.ok()) {
      job.reason = std::string(k8s_job.status().message());  // transient: try again next tick
      return JobRecordToJson(job) != before;
    }
    std::string why;
    const std::string condition = JobCondition(*k8s_job, &why);
    if (condition == "Failed")
      failure = absl::StrCat("Job ", job.name(), "-", role.role, ": ", why);
    all_complete &= condition == "Complete";
    for (auto& r : job.replicas) {
      if (r.role != role.role) continue;
      if (condition == "Complete") r.state = ReplicaState::kSucceeded;
      if (condition == "Failed") r.state = ReplicaState::kFailed;
    }
  }
  if (!failure.empty() || all_complete) {
    last_poll_.erase(job.name());
    job.state = failure.empty() ? JobState::kSucceeded : JobState::kFailed;
    bool has_workers = false;
    for (const auto& role : expanded.replicas) {
      has_workers |= role.role == "worker" || role.role == "chief";
    }
    job.reason = !failure.empty() ? failure
                 : has_workers    ? "all workers succeeded"
                                  : "all replicas succeeded";
    job.finished_at = now;
    for (auto& r : job.replicas) {
      if (r.state == ReplicaState::kRunning) r.state = ReplicaState::kStopped;
    }
    DeleteObjects(job, /*workers_too=*/!failure.empty());
  } else {
    job.reason = "";
  }
  return JobRecordToJson(job) != before;
}

void KubernetesBackend::DeleteObjects(const JobRecord& job, bool workers_too) {
  const JobSpec expanded = ExpandJob(job.spec, "parasol");
  for (const auto& role : expanded.replicas) {
    const bool completes = CompletesJob(expanded, role.role);
    if (completes && !workers_too) continue;
    api_->Delete(completes ? "batch/v1" : "apps/v1", completes ? "Job" : "StatefulSet",
                 options_.kube_namespace, job.name() + "-" + role.role)
        .IgnoreError();  // NotFound: already gone
  }
  if (workers_too) {
    api_->Delete("v1", "Service", options_.kube_namespace, job.name()).IgnoreError();
  }
}

void KubernetesBackend::RequestStop(JobRecord& job, const std::string& reason, double now) {
  if (!IsFinal(job.state)) {
    job.state = JobState::kStopped;
    job.reason = reason;
    job.finished_at = now;
  }
  for (auto& r : job.replicas) {
    if (r.state == ReplicaState::kRunning || r.state == ReplicaState::kPending) {
      r.state = ReplicaState::kStopped;
    }
  }
  DeleteObjects(job, /*workers_too=*/true);
}

absl::StatusOr<std::string> KubernetesBackend::ReadLog(const JobRecord& job,
                                                       const std::string& replica, uint64_t offset,
                                                       size_t max_bytes) {
  const JobRecord* found = &job;
  const auto it = std::find_if(found->replicas.begin(), found->replicas.end(),
                               [&](const ReplicaStatus& r) { return r.name == replica; });
  if (it == found->replicas.end()) {
    return absl::NotFoundError("job '" + job.name() + "' has no replica '" + replica + "'");
  }
  auto pods = api_->ListPods(options_.kube_namespace, absl::StrCat("parasol.io/job=", job.name(),
                                                                   ",parasol.io/role=", it->role));
  if (!pods.ok()) return pods.status();
  // The replica's pod: by the Job's completion index or the StatefulSet's ordinal; the newest
  // when the Job controller made several (retries).
  std::string pod, created;
  const std::string index = absl::StrCat(it->index);
  const std::string ordinal_name = absl::StrCat(job.name(), "-", replica);
  for (const auto& p : (*pods)["items"]) {
    const auto& meta = p["metadata"];
    const std::string name = meta.value("name", "");
    std::string pod_index;
    if (meta.contains("annotations")) {
      pod_index = meta["annotations"].value("batch.kubernetes.io/job-completion-index", "");
    }
    if (pod_index != index && name != ordinal_name) continue;
    const std::string when = meta.value("creationTimestamp", "");
    if (pod.empty() || when >= created) {
      pod = name;
      created = when;
    }
  }
  if (pod.empty()) {
    return absl::NotFoundError("no pod of replica " + replica + " in namespace " +
                               options_.kube_namespace + " (deleted, or not scheduled yet)");
  }
  auto log = api_->PodLog(options_.kube_namespace, pod);
  if (!log.ok()) return log.status();
  if (offset >= log->size()) return std::string();
  return log->substr(offset, max_bytes);
}

absl::Status KubernetesBackend::Remove(const JobRecord& job) {
  DeleteObjects(job, /*workers_too=*/true);
  return absl::OkStatus();
}

}  // namespace parasol::control
