// The Kubernetes backend: a job becomes the objects of k8s_render.h, created through K8sApi.
// Each Poll reads the worker Jobs' conditions and reports them as replica events (Complete:
// each of the role's replicas succeeded; Failed: each failed, with the Job's message); the job
// supervisor decides the job's outcome from them by the same rules as for local processes.
// Stopping a replica deletes its role's object (the parameter servers' StatefulSet once the
// workers succeeded); an unsuccessful job's remaining objects are deleted when it is released.
// Restarts and backoff within a role are the Job controller's (the rendered backoffLimit,
// podFailurePolicy and activeDeadlineSeconds), so it reports final outcomes, never exits.
// Thread-compatible (the service serializes calls).
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "control/job_backend.h"
#include "control/k8s_api.h"
#include "control/k8s_render.h"

namespace parasol::control {

class KubernetesBackend : public JobBackend {
 public:
  // Job statuses are read at most every `poll_seconds` per job (the service ticks every 100 ms).
  KubernetesBackend(std::unique_ptr<K8sApi> api, K8sRenderOptions options,
                    double poll_seconds = 2.0);

  absl::Status Admit(const JobSpec& spec) override;
  // Creates the job's objects (deleting those made before a failure) and lists its replicas.
  absl::StatusOr<bool> Place(JobRecord& job, std::string* waiting) override;
  // Nothing to do: the objects' controllers run the pods. Says where the replica runs.
  absl::Status StartReplica(const JobRecord& job, ReplicaStatus& replica) override;
  // Deletes the objects of the replicas' roles; they have stopped at once.
  std::vector<std::string> StopReplicas(const JobRecord& job,
                                        const std::vector<std::string>& replicas,
                                        bool force) override;
  // The completing roles' Job conditions, read at most every poll_seconds per job.
  absl::StatusOr<std::vector<ReplicaEvent>> Poll(JobRecord& job, double now) override;
  // Succeeded: nothing (the finished Jobs and their pods stay for their logs); otherwise the
  // objects of roles not stopped already, and the Service.
  void Release(const JobRecord& job) override;
  std::vector<ReplicaEvent> Recover(JobRecord& job) override { return {}; }
  CollectedMetrics CollectMetrics(JobRecord& job, double now) override { return {}; }
  // The log of the replica's newest pod, read through the API (kept by Kubernetes while the pod
  // exists: the worker Jobs' pods stay after success, the parameter servers' go with them).
  absl::StatusOr<std::string> ReadLog(const JobRecord& job, const std::string& replica,
                                      uint64_t offset, size_t max_bytes) override;
  absl::Status Remove(const JobRecord& job) override;

 private:
  // Deletes the object of each role in `roles` (every role of the job when null), in the spec's
  // order, then with `service` the job's Service. Objects already gone are fine.
  void DeleteObjects(const JobRecord& job, const std::set<std::string>* roles, bool service);

  std::unique_ptr<K8sApi> api_;
  K8sRenderOptions options_;
  double poll_seconds_;
  struct LastLook {
    double when = 0;
    absl::Status status;  // what it found: OK, or why it could not read
  };
  std::map<std::string, LastLook> last_poll_;  // job -> its last status read
};

}  // namespace parasol::control
