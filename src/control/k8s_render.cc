#include "control/k8s_render.h"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <regex>

#include "absl/strings/str_cat.h"
#include "control/cluster_spec.h"
#include "control/lifecycle.h"

namespace parasol::control {
namespace {

using ordered_json = nlohmann::ordered_json;

constexpr char kIndexVar[] = "PARASOL_REPLICA_INDEX";

std::string CpuQuantity(double cores) {
  const double milli = std::round(cores * 1000);
  if (std::fmod(milli, 1000) == 0) return absl::StrCat(static_cast<int64_t>(milli / 1000));
  return absl::StrCat(static_cast<int64_t>(milli), "m");
}

ordered_json ResourcesOf(const Resources& r) {
  ordered_json requests = ordered_json::object(), limits = ordered_json::object();
  if (r.cpu > 0) requests["cpu"] = CpuQuantity(r.cpu);
  if (r.memory_bytes > 0) {
    requests["memory"] = absl::StrCat(r.memory_bytes);
    limits["memory"] = absl::StrCat(r.memory_bytes);
  }
  if (r.gpu > 0) limits["nvidia.com/gpu"] = absl::StrCat(r.gpu);
  ordered_json out = ordered_json::object();
  if (!requests.empty()) out["requests"] = requests;
  if (!limits.empty()) out["limits"] = limits;
  return out;
}

ordered_json Labels(const std::string& job, const std::string& role) {
  ordered_json labels;
  labels["app.kubernetes.io/managed-by"] = "parasol";
  labels["parasol.io/job"] = job;
  if (!role.empty()) labels["parasol.io/role"] = role;
  return labels;
}

ordered_json Env(const std::string& name, const std::string& value) {
  return {{"name", name}, {"value", value}};
}

// The pod template of one role; `index_field` is where the pod's replica index can be read.
ordered_json PodSpec(const JobSpec& spec, const ReplicaSpec& role, const ClusterAddresses& cluster,
                     const K8sRenderOptions& o, const std::string& image,
                     const std::string& index_field) {
  ordered_json env = ordered_json::array();
  env.push_back({{"name", kIndexVar}, {"valueFrom", {{"fieldRef", {{"fieldPath", index_field}}}}}});
  const std::string index_ref = absl::StrCat("$(", kIndexVar, ")");
  env.push_back(Env("PARASOL_JOB", spec.name));
  env.push_back(Env("PARASOL_ROLE", role.role));
  env.push_back(Env("PARASOL_REPLICA", role.role + "-" + index_ref));  // worker-0, as locally
  env.push_back(Env("PARASOL_PORT", absl::StrCat(o.port)));
  if (IsDistributed(spec)) {
    env.push_back(
        Env("PARASOL_CLUSTER", ParasolClusterTemplate(spec.name, cluster, role.role, index_ref)));
    env.push_back(Env("TF_CONFIG", TfConfigTemplate(cluster, role.role, index_ref)));
  }
  std::map<std::string, std::string> user_env = spec.env;
  for (const auto& [k, v] : role.env) user_env[k] = v;
  for (const auto& [k, v] : user_env) env.push_back(Env(k, v));

  ordered_json container;
  container["name"] = role.role;
  container["image"] = image;
  container["command"] = role.command;
  const std::string dir =
      role.working_dir.empty() || role.working_dir.front() != '/'
          ? (spec.working_dir + (role.working_dir.empty() ? "" : "/" + role.working_dir))
          : role.working_dir;
  if (!dir.empty()) container["workingDir"] = dir;
  container["env"] = env;
  container["ports"] = ordered_json::array({{{"name", "parasol"}, {"containerPort", o.port}}});
  const ordered_json resources = ResourcesOf(EffectiveResources(spec, role));
  if (!resources.empty()) container["resources"] = resources;

  ordered_json pod;
  pod["subdomain"] = spec.name;  // POD.JOB.NAMESPACE.svc resolves through the headless Service
  if (!spec.node_selector.empty()) pod["nodeSelector"] = spec.node_selector;
  pod["containers"] = ordered_json::array({container});
  return pod;
}

ordered_json Metadata(const JobSpec& spec, const std::string& name, const std::string& role,
                      const K8sRenderOptions& o) {
  return {{"name", name}, {"namespace", o.kube_namespace}, {"labels", Labels(spec.name, role)}};
}

}  // namespace

absl::StatusOr<std::vector<ordered_json>> RenderKubernetes(const JobSpec& original,
                                                           const K8sRenderOptions& o) {
  if (original.kind == JobKind::kServe) {
    return absl::UnimplementedError(
        "kind: serve runs on the local backend only for now (its Kubernetes form, a Deployment "
        "behind a Service, is not written yet)");
  }
  const JobSpec spec = ExpandJob(original, "parasol");
  static const std::regex kNamespace("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");
  if (!std::regex_match(o.kube_namespace, kNamespace)) {
    return absl::InvalidArgumentError("--namespace '" + o.kube_namespace +
                                      "': expected a DNS label");
  }
  if (!spec.working_dir.empty() && spec.working_dir.front() != '/') {
    return absl::InvalidArgumentError(
        "workingDir: must be an absolute path inside the image for "
        "Kubernetes, not '" +
        spec.working_dir + "'");
  }
  ClusterAddresses cluster;
  for (const auto& role : spec.replicas) {
    const std::string pod_prefix = spec.name + "-" + role.role + "-";
    if (pod_prefix.size() + std::to_string(role.count - 1).size() > 63) {
      return absl::InvalidArgumentError(
          absl::StrCat("name: '", pod_prefix, role.count - 1,
                       "' is longer than the 63 characters of a pod's DNS name; shorten the job "
                       "name or replicas.",
                       role.role));
    }
    for (int i = 0; i < role.count; ++i) {
      cluster[role.role].push_back(
          absl::StrCat(pod_prefix, i, ".", spec.name, ".", o.kube_namespace, ".svc:", o.port));
    }
  }

  std::vector<ordered_json> out;
  ordered_json service;
  service["apiVersion"] = "v1";
  service["kind"] = "Service";
  service["metadata"] = Metadata(spec, spec.name, "", o);
  service["spec"] = {{"clusterIP", "None"},
                     {"publishNotReadyAddresses", true},
                     {"selector", {{"parasol.io/job", spec.name}}},
                     {"ports", ordered_json::array({{{"name", "parasol"}, {"port", o.port}}})}};
  out.push_back(service);

  for (const auto& role : spec.replicas) {
    std::string image = !role.image.empty() ? role.image : spec.image;
    if (image.empty()) image = o.image;
    if (image.empty() && spec.kind == JobKind::kTrain) image = kParasolImage;
    if (image.empty()) {
      return absl::InvalidArgumentError("image: required to run replicas." + role.role +
                                        " on Kubernetes (set image in the spec or pass --image)");
    }
    const std::string name = spec.name + "-" + role.role;
    const ordered_json labels = Labels(spec.name, role.role);
    if (CompletesJob(spec, role.role)) {
      // An indexed Job: pod hostnames NAME-ROLE-INDEX, the index in an annotation.
      ordered_json pod =
          PodSpec(spec, role, cluster, o, image,
                  "metadata.annotations['batch.kubernetes.io/job-completion-index']");
      ordered_json job_spec;
      job_spec["completionMode"] = "Indexed";
      job_spec["completions"] = role.count;
      job_spec["parallelism"] = role.count;
      switch (spec.restart_policy) {
        case RestartPolicy::kNever:
          pod["restartPolicy"] = "Never";
          job_spec["backoffLimit"] = 0;
          break;
        case RestartPolicy::kOnFailure:
          pod["restartPolicy"] = "OnFailure";
          job_spec["backoffLimit"] = spec.backoff_limit;
          break;
        case RestartPolicy::kExitCode: {
          pod["restartPolicy"] = "Never";  // required by podFailurePolicy
          job_spec["backoffLimit"] = spec.backoff_limit;
          std::vector<int> retryable;
          for (int code = 128; code <= 255; ++code) retryable.push_back(code);
          job_spec["podFailurePolicy"] = {
              {"rules", ordered_json::array({{{"action", "FailJob"},
                                              {"onExitCodes",
                                               {{"containerName", role.role},
                                                {"operator", "NotIn"},
                                                {"values", retryable}}}}})}};
          break;
        }
      }
      if (spec.active_deadline_seconds > 0) {
        job_spec["activeDeadlineSeconds"] = spec.active_deadline_seconds;
      }
      job_spec["template"] = {{"metadata", {{"labels", labels}}}, {"spec", pod}};
      ordered_json job;
      job["apiVersion"] = "batch/v1";
      job["kind"] = "Job";
      job["metadata"] = Metadata(spec, name, role.role, o);
      job["spec"] = job_spec;
      out.push_back(job);
    } else {
      // A StatefulSet: pod names NAME-ROLE-ORDINAL, the ordinal in a label (Kubernetes >= 1.28).
      ordered_json pod =
          PodSpec(spec, role, cluster, o, image, "metadata.labels['apps.kubernetes.io/pod-index']");
      ordered_json sts;
      sts["apiVersion"] = "apps/v1";
      sts["kind"] = "StatefulSet";
      sts["metadata"] = Metadata(spec, name, role.role, o);
      sts["spec"] = {{"serviceName", spec.name},
                     {"replicas", role.count},
                     {"podManagementPolicy", "Parallel"},
                     {"selector", {{"matchLabels", labels}}},
                     {"template", {{"metadata", {{"labels", labels}}}, {"spec", pod}}}};
      out.push_back(sts);
    }
  }
  return out;
}

namespace {

// True when a plain scalar `s` would be read back as something other than this string.
bool NeedsQuotes(const std::string& s) {
  static const std::regex kSpecial(
      "|[-+]?(\\.[0-9]+|[0-9][0-9_]*(\\.[0-9_]*)?([eE][-+]?[0-9]+)?)|0x[0-9a-fA-F]+|0o[0-7]+|"
      "[-+]?\\.(inf|Inf|INF)|\\.(nan|NaN|NAN)|~|null|Null|NULL|true|True|TRUE|false|False|FALSE|"
      "yes|Yes|YES|no|No|NO|on|On|ON|off|Off|OFF|y|Y|n|N");
  return std::regex_match(s, kSpecial);
}

void Emit(YAML::Emitter& out, const ordered_json& j) {
  if (j.is_object()) {
    if (j.empty()) {
      out << YAML::Flow << YAML::BeginMap << YAML::EndMap;
      return;
    }
    out << YAML::BeginMap;
    for (const auto& [key, value] : j.items()) {
      out << YAML::Key << key << YAML::Value;
      Emit(out, value);
    }
    out << YAML::EndMap;
  } else if (j.is_array()) {
    const bool scalars =
        std::all_of(j.begin(), j.end(), [](const ordered_json& v) { return v.is_number(); });
    if (j.empty() || scalars) out << YAML::Flow;
    out << YAML::BeginSeq;
    for (const auto& v : j) Emit(out, v);
    out << YAML::EndSeq;
  } else if (j.is_string()) {
    const std::string s = j.get<std::string>();
    if (NeedsQuotes(s)) out << YAML::DoubleQuoted;
    out << s;
  } else if (j.is_boolean()) {
    out << j.get<bool>();
  } else if (j.is_number_integer()) {
    out << j.get<int64_t>();
  } else if (j.is_number()) {
    out << j.get<double>();
  } else {
    out << YAML::Null;
  }
}

}  // namespace

std::string ManifestsToYaml(const std::vector<ordered_json>& manifests) {
  std::string out;
  for (const auto& m : manifests) {
    YAML::Emitter e;
    Emit(e, m);
    out += "---\n" + std::string(e.c_str()) + "\n";
  }
  return out;
}

std::string ManifestsToJson(const std::vector<ordered_json>& manifests) {
  ordered_json list;
  list["apiVersion"] = "v1";
  list["kind"] = "List";
  list["items"] = manifests;
  return list.dump(2);
}

}  // namespace parasol::control
