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

absl::StatusOr<bool> KubernetesBackend::Place(JobRecord& job, std::string* /*waiting*/) {
  auto manifests = RenderKubernetes(job.spec, options_);
  absl::Status created = manifests.status();
  if (created.ok()) created = ApplyManifests(*api_, *manifests);
  if (!created.ok()) {
    DeleteObjects(job, /*roles=*/nullptr, /*service=*/true);
    return created;
  }
  job.replicas.clear();
  for (const auto& role : ExpandJob(job.spec, "parasol").replicas) {
    for (int i = 0; i < role.count; ++i) {
      ReplicaStatus r;
      r.role = role.role;
      r.index = i;
      r.name = absl::StrCat(role.role, "-", i);
      r.port = options_.port;
      job.replicas.push_back(r);
    }
  }
  return true;
}

absl::Status KubernetesBackend::StartReplica(const JobRecord& job, ReplicaStatus& replica) {
  replica.reason = absl::StrCat("pod ", job.name(), "-", replica.name, " in namespace ",
                                options_.kube_namespace);
  return absl::OkStatus();
}

std::vector<std::string> KubernetesBackend::StopReplicas(const JobRecord& job,
                                                         const std::vector<std::string>& replicas,
                                                         bool /*force*/) {
  std::set<std::string> roles;
  for (const auto& r : job.replicas) {
    if (std::find(replicas.begin(), replicas.end(), r.name) != replicas.end()) roles.insert(r.role);
  }
  DeleteObjects(job, &roles, /*service=*/false);
  return replicas;
}

absl::StatusOr<std::vector<ReplicaEvent>> KubernetesBackend::Poll(JobRecord& job, double now) {
  if (job.state != JobState::kRunning) return std::vector<ReplicaEvent>{};
  LastLook& last = last_poll_[job.name()];
  if (now - last.when < poll_seconds_) {
    if (!last.status.ok()) return last.status;
    return std::vector<ReplicaEvent>{};
  }
  last.when = now;
  last.status = absl::OkStatus();
  const JobSpec expanded = ExpandJob(job.spec, "parasol");
  std::vector<ReplicaEvent> events;
  for (const auto& role : expanded.replicas) {
    if (!CompletesJob(expanded, role.role)) continue;
    auto k8s_job =
        api_->Get("batch/v1", "Job", options_.kube_namespace, job.name() + "-" + role.role);
    if (!k8s_job.ok()) {
      last.status = k8s_job.status();  // transient: read again at the next interval
      return last.status;
    }
    std::string why;
    const std::string condition = JobCondition(*k8s_job, &why);
    if (condition != "Complete" && condition != "Failed") continue;
    for (const auto& r : job.replicas) {
      if (r.role != role.role) continue;
      if (condition == "Complete") {
        events.push_back({r.name, ReplicaEvent::Type::kSucceeded, std::nullopt, ""});
      } else {
        events.push_back({r.name, ReplicaEvent::Type::kFailed, std::nullopt,
                          absl::StrCat("Job ", job.name(), "-", role.role, ": ", why)});
      }
    }
  }
  return events;
}

void KubernetesBackend::DeleteObjects(const JobRecord& job, const std::set<std::string>* roles,
                                      bool service) {
  const JobSpec expanded = ExpandJob(job.spec, "parasol");
  for (const auto& role : expanded.replicas) {
    if (roles != nullptr && roles->count(role.role) == 0) continue;
    const bool completes = CompletesJob(expanded, role.role);
    api_->Delete(completes ? "batch/v1" : "apps/v1", completes ? "Job" : "StatefulSet",
                 options_.kube_namespace, job.name() + "-" + role.role)
        .IgnoreError();  // NotFound: already gone
  }
  if (service) api_->Delete("v1", "Service", options_.kube_namespace, job.name()).IgnoreError();
}

void KubernetesBackend::Release(const JobRecord& job) {
  last_poll_.erase(job.name());
  if (job.replicas.empty() || job.state == JobState::kSucceeded) return;
  std::set<std::string> left;  // roles whose objects no stop has deleted
  for (const auto& r : job.replicas) {
    if (r.state != ReplicaState::kStopped) left.insert(r.role);
  }
  DeleteObjects(job, &left, /*service=*/true);
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
  DeleteObjects(job, /*roles=*/nullptr, /*service=*/true);
  return absl::OkStatus();
}

}  // namespace parasol::control
