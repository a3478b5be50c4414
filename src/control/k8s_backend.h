// The Kubernetes backend: a job becomes the objects of k8s_render.h, created through K8sApi.
// Each Reconcile reads the worker Jobs' conditions: when they are Complete the job has
// Succeeded and its StatefulSets (parameter servers) are deleted; when one has Failed the job
// has Failed and everything else is deleted. Restarts, backoff and deadlines are the Job
// controller's (the rendered backoffLimit, podFailurePolicy and activeDeadlineSeconds).
// Thread-compatible (the service serializes calls).
#pragma once

#include <map>
#include <memory>
#include <string>

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
  bool Reconcile(JobRecord& job, double now) override;
  void RequestStop(JobRecord& job, const std::string& reason, double now) override;
  void Recover(JobRecord& job, double now) override {}
  std::vector<MetricPoint> CollectMetrics(JobRecord& job, double now) override { return {}; }
  // The log of the replica's newest pod, read through the API (kept by Kubernetes while the pod
  // exists: the worker Jobs' pods stay after success, the parameter servers' go with them).
  absl::StatusOr<std::string> ReadLog(const JobRecord& job, const std::string& replica,
                                      uint64_t offset, size_t max_bytes) override;
  absl::Status Remove(const JobRecord& job) override;

 private:
  // Deletes the job's objects; with `workers_too` false only the non-completing roles'.
  void DeleteObjects(const JobRecord& job, bool workers_too);

  std::unique_ptr<K8sApi> api_;
  K8sRenderOptions options_;
  double poll_seconds_;
  std::map<std::string, double> last_poll_;  // job -> when its status was last read
};

}  // namespace parasol::control
