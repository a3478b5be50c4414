#include "cli/job_command.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/exit_codes.h"
#include "common/files.h"
#include "control/auth/credentials.h"
#include "control/control_client.h"
#include "control/k8s_api.h"
#include "control/k8s_render.h"

namespace parasol {
namespace {

int FailStatus(const absl::Status& st) {
  return Fail(absl::IsInvalidArgument(st) ? kExitUsage : kExitRuntime, st);
}

void Sleep(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

std::string Age(double since) {
  if (since <= 0) return "-";
  const double s = std::difftime(std::time(nullptr), static_cast<std::time_t>(since));
  if (s < 120) return absl::StrFormat("%ds", static_cast<int>(std::max(0.0, s)));
  if (s < 7200) return absl::StrFormat("%dm", static_cast<int>(s / 60));
  if (s < 172800) return absl::StrFormat("%dh", static_cast<int>(s / 3600));
  return absl::StrFormat("%dd", static_cast<int>(s / 86400));
}

std::string Clock(double t) {
  if (t <= 0) return "-";
  const std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  localtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

// "Failed (exit 3)" for a job or a replica.
template <typename View>
std::string StateWithReason(const View& v) {
  return v.state + (v.reason.empty() ? "" : " (" + v.reason + ")");
}

void PrintDescribe(const control::JobView& job) {
  std::printf("Name:       %s\n", job.name.c_str());
  std::printf("Kind:       %s\n", job.kind.c_str());
  std::printf("State:      %s\n", StateWithReason(job).c_str());
  std::printf("Created:    %s (%s ago)\n", Clock(job.created_at).c_str(),
              Age(job.created_at).c_str());
  std::printf("Started:    %s\n", Clock(job.started_at).c_str());
  std::printf("Finished:   %s\n", Clock(job.finished_at).c_str());
  std::printf("Restarts:   %s (restartPolicy %s, backoffLimit %s)\n",
              absl::StrCat(job.restarts).c_str(), job.restart_policy.c_str(),
              absl::StrCat(job.backoff_limit).c_str());
  if (!job.working_dir.empty()) std::printf("WorkingDir: %s\n", job.working_dir.c_str());
  std::vector<std::vector<std::string>> rows = {
      {"REPLICA", "STATE", "RESTARTS", "EXIT", "PID", "ADDRESS", "REASON"}};
  for (const control::ReplicaView& r : job.replicas) {
    rows.push_back(
        {r.name, r.state, absl::StrCat(r.restarts), r.exit_code ? absl::StrCat(*r.exit_code) : "-",
         r.pid > 0 ? absl::StrCat(r.pid) : "-", absl::StrCat("127.0.0.1:", r.port), r.reason});
  }
  std::printf("Replicas:\n");
  if (rows.size() == 1) {
    std::printf("  (none started yet)\n");
  } else {
    PrintTable(rows, "  ");
  }
}

bool IsFinalState(const std::string& state) {
  return state == "Succeeded" || state == "Failed" || state == "Stopped";
}

// Prints replica and job state changes until the job has ended and none of its replicas runs
// any more; exit 0 only if it succeeded.
int Watch(control::ControlClient& client, const std::string& name) {
  std::map<std::string, std::string> seen;
  std::string job_state;
  for (;;) {
    auto job = client.Get(name);
    if (!job.ok()) return FailStatus(job.status());
    for (const control::ReplicaView& r : job->replicas) {
      const std::string line = StateWithReason(r);
      std::string& last = seen[r.name];
      if (line != last) {
        std::printf("%s: %s\n", r.name.c_str(), line.c_str());
        last = line;
      }
    }
    const std::string state = job->state;
    if (state != job_state) {
      std::printf("job %s: %s\n", name.c_str(), StateWithReason(*job).c_str());
      job_state = state;
    }
    std::fflush(stdout);
    bool stopping = false;  // replicas still being stopped after the job ended
    for (const control::ReplicaView& r : job->replicas) stopping |= r.state == "Running";
    if (IsFinalState(state) && !stopping) return state == "Succeeded" ? kExitOk : kExitRuntime;
    Sleep(300);
  }
}

int Logs(control::ControlClient& client, const JobFlags& f) {
  auto job = client.Get(f.name);
  if (!job.ok()) return FailStatus(job.status());
  // Following a job that is still queued: wait for its replicas to start.
  while (f.follow && job->replicas.empty() && !IsFinalState(job->state)) {
    Sleep(200);
    job = client.Get(f.name);
    if (!job.ok()) return FailStatus(job.status());
  }
  std::vector<std::string> replicas;
  if (!f.replica.empty()) {
    replicas.push_back(f.replica);
  } else {
    for (const control::ReplicaView& r : job->replicas) replicas.push_back(r.name);
  }
  if (replicas.empty()) {
    std::fprintf(stderr, "job %s has not started any replica yet\n", f.name.c_str());
    return kExitOk;
  }
  const bool several = replicas.size() > 1;
  if (!f.follow) {
    for (const auto& replica : replicas) {
      if (several) std::printf("==> %s <==\n", replica.c_str());
      uint64_t offset = 0;
      for (;;) {
        auto chunk = client.Logs(f.name, replica, offset);
        if (!chunk.ok()) return FailStatus(chunk.status());
        std::fwrite(chunk->data.data(), 1, chunk->data.size(), stdout);
        if (chunk->data.empty()) break;
        offset = chunk->next_offset;
      }
    }
    return kExitOk;
  }
  // Follow: poll every replica until each is done; with several, lines carry "[replica] ".
  std::map<std::string, uint64_t> offset;
  std::map<std::string, std::string> partial;
  std::map<std::string, bool> done;
  for (;;) {
    bool all_done = true;
    for (const auto& replica : replicas) {
      if (done[replica]) continue;
      auto chunk = client.Logs(f.name, replica, offset[replica]);
      if (!chunk.ok()) return FailStatus(chunk.status());
      offset[replica] = chunk->next_offset;
      if (!several) {
        std::fwrite(chunk->data.data(), 1, chunk->data.size(), stdout);
      } else {
        std::string& buf = partial[replica];
        buf += chunk->data;
        size_t nl;
        while ((nl = buf.find('\n')) != std::string::npos) {
          std::printf("[%s] %s\n", replica.c_str(), buf.substr(0, nl).c_str());
          buf.erase(0, nl + 1);
        }
        if (chunk->done && !buf.empty()) std::printf("[%s] %s\n", replica.c_str(), buf.c_str());
      }
      done[replica] = chunk->done;
      all_done &= chunk->done;
    }
    std::fflush(stdout);
    if (all_done) return kExitOk;
    Sleep(300);
  }
}

// The spec file's text ('-': stdin); false when it cannot be read.
bool ReadSpec(const std::string& file, std::string* text) {
  if (file == "-") {
    std::stringstream s;
    s << std::cin.rdbuf();
    *text = s.str();
    return true;
  }
  auto content = ReadFileToString(file);
  if (!content) return false;
  *text = *std::move(content);
  return true;
}

// `render`: the job's manifests for a backend; needs no control service.
int Render(const JobFlags& f) {
  std::string text;
  if (!ReadSpec(f.file, &text)) return Fail(kExitUsage, "cannot read job spec " + f.file);
  auto spec = control::ParseJobSpec(text, f.file == "-" ? "stdin" : f.file);
  if (!spec.ok()) return Fail(kExitUsage, spec.status());
  control::K8sRenderOptions options;
  options.kube_namespace = f.kube_namespace.empty() ? "default" : f.kube_namespace;
  options.image = f.image;
  auto manifests = control::RenderKubernetes(*spec, options);
  if (!manifests.ok()) return Fail(kExitUsage, manifests.status());
  const std::string out = f.output == "json" ? control::ManifestsToJson(*manifests) + "\n"
                                             : control::ManifestsToYaml(*manifests);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return kExitOk;
}

// `apply`: renders the job and creates its objects through the Kubernetes API.
int Apply(const JobFlags& f) {
  std::string text;
  if (!ReadSpec(f.file, &text)) return Fail(kExitUsage, "cannot read job spec " + f.file);
  auto spec = control::ParseJobSpec(text, f.file == "-" ? "stdin" : f.file);
  if (!spec.ok()) return Fail(kExitUsage, spec.status());
  auto connection = KubernetesConnection(f.kubeconfig, f.context);
  if (!connection.ok()) return Fail(kExitUsage, connection.status());
  control::K8sRenderOptions options;
  options.kube_namespace =
      !f.kube_namespace.empty() ? f.kube_namespace : connection->kube_namespace;
  options.image = f.image;
  auto manifests = control::RenderKubernetes(*spec, options);
  if (!manifests.ok()) return Fail(kExitUsage, manifests.status());
  auto api = control::K8sApi::Connect(*connection);
  if (!api.ok()) return Fail(kExitUsage, api.status());
  if (auto st = control::ApplyManifests(**api, *manifests); !st.ok()) {
    return Fail(kExitRuntime, st);
  }
  for (const auto& m : *manifests) {
    std::printf("%s/%s created in namespace %s\n", m["kind"].get<std::string>().c_str(),
                m["metadata"]["name"].get<std::string>().c_str(), options.kube_namespace.c_str());
  }
  return kExitOk;
}

int Submit(control::ControlClient& client, const JobFlags& f) {
  std::string text;
  if (!ReadSpec(f.file, &text)) return Fail(kExitUsage, "cannot read job spec " + f.file);
  std::error_code ec;
  const std::string cwd = std::filesystem::current_path(ec).string();
  auto job = client.Submit(text, f.file == "-" ? "stdin" : f.file, ec ? "" : cwd);
  if (!job.ok()) return FailStatus(job.status());
  const std::string name = job->name;
  if (f.json && !f.watch) {
    std::printf("%s\n", job->json.dump().c_str());
  } else {
    std::printf("job %s submitted\n", name.c_str());
  }
  std::fflush(stdout);
  return f.watch ? Watch(client, name) : kExitOk;
}

int List(control::ControlClient& c, const JobFlags& f) {
  auto jobs = c.List();
  if (!jobs.ok()) return FailStatus(jobs.status());
  if (f.json) {
    std::printf("%s\n", jobs->json.dump().c_str());
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows = {
      {"NAME", "KIND", "STATE", "RUNNING", "RESTARTS", "AGE", "REASON"}};
  for (const control::JobView& j : jobs->jobs) {
    int running = 0;
    for (const control::ReplicaView& r : j.replicas) running += r.state == "Running";
    rows.push_back({j.name, j.kind, j.state, absl::StrCat(running, "/", j.replicas.size()),
                    absl::StrCat(j.restarts), Age(j.created_at), j.reason});
  }
  PrintTable(rows, "");
  return kExitOk;
}

int Describe(control::ControlClient& c, const JobFlags& f) {
  auto job = c.Get(f.name);
  if (!job.ok()) return FailStatus(job.status());
  if (f.json) {
    std::printf("%s\n", job->json.dump().c_str());
  } else {
    PrintDescribe(*job);
  }
  return kExitOk;
}

int Metrics(control::ControlClient& c, const JobFlags& f) {
  auto metrics = c.Metrics(f.name);
  if (!metrics.ok()) return FailStatus(metrics.status());
  if (f.json) {
    std::printf("%s\n", metrics->json.dump().c_str());
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows = {
      {"REPLICA", "SERIES", "POINTS", "LAST STEP", "LAST", "MIN", "MAX"}};
  for (const control::MetricSeriesView& s : metrics->series) {
    if (s.points.empty()) continue;
    double lo = s.points[0].second, hi = lo;
    for (const auto& [step, value] : s.points) {
      lo = std::min(lo, value);
      hi = std::max(hi, value);
    }
    const auto& [last_step, last_value] = s.points.back();
    rows.push_back({s.replica, s.name, absl::StrCat(s.points.size()),
                    absl::StrFormat("%.15g", last_step), absl::StrFormat("%.6g", last_value),
                    absl::StrFormat("%.6g", lo), absl::StrFormat("%.6g", hi)});
  }
  if (rows.size() == 1) {
    std::printf("job %s has reported no metrics\n", f.name.c_str());
  } else {
    PrintTable(rows, "");
  }
  return kExitOk;
}

int Stop(control::ControlClient& c, const JobFlags& f) {
  auto job = c.Stop(f.name);
  if (!job.ok()) return FailStatus(job.status());
  std::printf("job %s: %s\n", f.name.c_str(), StateWithReason(*job).c_str());
  return kExitOk;
}

int Delete(control::ControlClient& c, const JobFlags& f) {
  auto gone = c.Delete(f.name);
  if (!gone.ok()) return FailStatus(gone.status());
  // Wait until its replicas have stopped and the record is gone, so the name is free again.
  for (int i = 0; !*gone && i < 600; ++i) {
    Sleep(100);
    auto job = c.Get(f.name);
    if (absl::IsNotFound(job.status()))
      *gone = true;
    else if (!job.ok())
      return FailStatus(job.status());
  }
  if (!*gone) return Fail(kExitRuntime, "job " + f.name + " is still stopping");
  std::printf("job %s deleted\n", f.name.c_str());
  return kExitOk;
}

}  // namespace

absl::StatusOr<control::K8sConnection> KubernetesConnection(const std::string& kubeconfig_flag,
                                                            const std::string& context) {
  std::string kubeconfig = kubeconfig_flag;
  const char* env = std::getenv("KUBECONFIG");
  if (kubeconfig.empty() && env != nullptr) kubeconfig = env;
  const char* home = std::getenv("HOME");
  const bool in_cluster = std::getenv("KUBERNETES_SERVICE_HOST") != nullptr;
  if (kubeconfig.empty() && !in_cluster && home != nullptr) {
    kubeconfig = std::string(home) + "/.kube/config";
  }
  if (kubeconfig.empty()) {
    return control::InClusterConnection("/var/run/secrets/kubernetes.io/serviceaccount");
  }
  const std::string ca_dir =
      (std::filesystem::temp_directory_path() / ("parasol-kube-" + std::to_string(getuid())))
          .string();
  return control::LoadKubeconfig(kubeconfig, context, ca_dir);
}

void PrintTable(const std::vector<std::vector<std::string>>& rows, const std::string& indent) {
  std::vector<size_t> width;
  for (const auto& row : rows) {
    if (width.size() < row.size()) width.resize(row.size(), 0);
    for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  }
  for (const auto& row : rows) {
    std::string line = indent;
    for (size_t c = 0; c < row.size(); ++c) {
      line += row[c];
      if (c + 1 < row.size()) line += std::string(width[c] - row[c].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    std::printf("%s\n", line.c_str());
  }
}

absl::StatusOr<std::unique_ptr<control::ControlClient>> ConnectControl(
    const std::string& endpoint_flag) {
  std::string endpoint = endpoint_flag;
  if (endpoint.empty()) {
    const char* env = std::getenv("PARASOL_ENDPOINT");
    endpoint = env != nullptr && *env != '\0' ? env : control::kDefaultEndpoint;
  }
  auto credentials = auth::ResolveCredentials(std::getenv("PARASOL_ACCESS_KEY_ID"),
                                              std::getenv("PARASOL_SECRET_ACCESS_KEY"),
                                              std::getenv("PARASOL_REGION"), std::getenv("HOME"));
  if (!credentials.ok()) return credentials.status();
  return control::ControlClient::Create(endpoint, *std::move(credentials));
}

CLI::App* AddJobCommand(CLI::App& app, JobFlags& f) {
  auto* job = app.add_subcommand("job", "Submit and manage jobs on the control service");
  job->add_option("--endpoint", f.endpoint,
                  absl::StrCat("Control service URL (default $PARASOL_ENDPOINT, else ",
                               control::kDefaultEndpoint, ")"));
  job->require_subcommand(1);
  auto* submit = job->add_subcommand("submit", "Submit a job spec (YAML or JSON)");
  submit->add_option("-f,--file", f.file, "Job spec file ('-' for stdin)")->required();
  submit->add_flag("--watch", f.watch,
                   "Print state changes until the job and its replicas end (exit 0: success)");
  submit->add_flag("--json", f.json, "Print the accepted job as JSON");
  auto* list = job->add_subcommand("list", "List jobs");
  list->add_flag("--json", f.json, "Print {\"jobs\": [...]} as JSON");
  auto* describe = job->add_subcommand("describe", "Show a job and its replicas");
  describe->add_option("name", f.name, "Job name")->required();
  describe->add_flag("--json", f.json, "Print the job as JSON");
  auto* logs = job->add_subcommand("logs", "Print replica logs (kept after the job ends)");
  logs->add_option("name", f.name, "Job name")->required();
  logs->add_option("--replica", f.replica, "One replica (ps-0, worker-1, ...); default: all");
  logs->add_flag("-f,--follow", f.follow, "Keep printing until the replicas end");
  auto* metrics = job->add_subcommand("metrics", "Show a job's metric series (loss, AUC, ...)");
  metrics->add_option("name", f.name, "Job name")->required();
  metrics->add_flag("--json", f.json, "Print every point as JSON");
  auto* stop = job->add_subcommand("stop", "Stop a job's replicas (the record and logs stay)");
  stop->add_option("name", f.name, "Job name")->required();
  auto* del = job->add_subcommand("delete", "Stop a job and remove its record and logs");
  del->add_option("name", f.name, "Job name")->required();
  auto* render = job->add_subcommand(
      "render", "Print the job as Kubernetes manifests (headless Service, StatefulSet, Job)");
  render->add_option("-f,--file", f.file, "Job spec file ('-' for stdin)")->required();
  render->add_option("--backend", f.backend, "Backend to render for (k8s)")
      ->check(CLI::IsMember({"k8s"}));
  render->add_option("--namespace", f.kube_namespace, "Kubernetes namespace (default: default)");
  render->add_option("--image", f.image, "Container image for replicas whose spec names none");
  render->add_option("-o,--output", f.output, "yaml (default) or json (a v1 List)")
      ->check(CLI::IsMember({"yaml", "json"}));
  auto* apply = job->add_subcommand(
      "apply", "Create the job's Kubernetes objects through the API (kubeconfig or in-cluster)");
  apply->add_option("-f,--file", f.file, "Job spec file ('-' for stdin)")->required();
  apply->add_option("--backend", f.backend, "Backend (k8s)")->check(CLI::IsMember({"k8s"}));
  apply->add_option("--kubeconfig", f.kubeconfig,
                    "Kubeconfig (default $KUBECONFIG, the pod's service account, ~/.kube/config)");
  apply->add_option("--context", f.context, "Kubeconfig context (default: current-context)");
  apply->add_option("--namespace", f.kube_namespace, "Namespace (default: the context's)");
  apply->add_option("--image", f.image, "Container image for replicas whose spec names none");
  for (auto* sub : {submit, list, describe, logs, metrics, stop, del, render, apply}) {
    sub->fallthrough();
  }
  return job;
}

int RunJob(const CLI::App& job_cmd, const JobFlags& f) {
  if (job_cmd.got_subcommand("render")) return Render(f);
  if (job_cmd.got_subcommand("apply")) return Apply(f);
  auto client = ConnectControl(f.endpoint);
  if (!client.ok()) return Fail(kExitUsage, client.status());
  control::ControlClient& c = **client;
  if (job_cmd.got_subcommand("submit")) return Submit(c, f);
  if (job_cmd.got_subcommand("list")) return List(c, f);
  if (job_cmd.got_subcommand("describe")) return Describe(c, f);
  if (job_cmd.got_subcommand("logs")) return Logs(c, f);
  if (job_cmd.got_subcommand("metrics")) return Metrics(c, f);
  if (job_cmd.got_subcommand("stop")) return Stop(c, f);
  if (job_cmd.got_subcommand("delete")) return Delete(c, f);
  return kExitUsage;
}

}  // namespace parasol
