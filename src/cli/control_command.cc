#include "cli/control_command.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "cli/exit_codes.h"
#include "cli/job_command.h"
#include "common/stop_signals.h"
#include "control/auth/control_auth.h"
#include "control/http_api.h"
#include "control/job_service.h"
#include "control/k8s_backend.h"
#include "control/local_backend.h"
#include "control/replica_shim.h"
#include "control/workflow/workflow_engine.h"
#include "control/workflow/workflow_http.h"

namespace parasol {

CLI::App* AddControlCommand(CLI::App& app, ControlFlags& f) {
  auto* cmd = app.add_subcommand(
      "control", "Run the control service: job API, SQLite job store, local process backend");
  cmd->add_option("--listen", f.listen,
                  "HOST:PORT to serve on (default 127.0.0.1:7900; loopback only without --auth)");
  cmd->add_flag("--auth", f.auth,
                "Require AWS SigV4-signed requests (service 'parasol'); the first start writes "
                "the admin's key to STATE_DIR/admin.credentials");
  cmd->add_option("--region", f.region,
                  "--auth: the SigV4 region clients sign for (default local)");
  cmd->add_option("--master-key", f.master_key,
                  "--auth: file of the key that encrypts stored secrets, kept outside the state "
                  "directory (default ~/.parasol/control-master.key; created 0600 when missing)");
  cmd->add_option("--state-dir", f.state_dir, "Directory for the job database and replica logs")
      ->required();
  cmd->add_option("--cpus", f.cpus, "Cores jobs may reserve (default: all)");
  cmd->add_option("--memory-mb", f.memory_mb, "Memory jobs may reserve, MiB (default: all)");
  cmd->add_option("--gpus", f.gpus, "GPUs (0..N-1) handed out via CUDA_VISIBLE_DEVICES");
  cmd->add_option("--backend", f.backend, "Where jobs run: local (processes here) or k8s")
      ->check(CLI::IsMember({"local", "k8s"}));
  cmd->add_option("--kubeconfig", f.kubeconfig,
                  "k8s: kubeconfig (default $KUBECONFIG, the pod's service account, "
                  "~/.kube/config)");
  cmd->add_option("--context", f.context, "k8s: kubeconfig context (default: current-context)");
  cmd->add_option("--namespace", f.kube_namespace, "k8s: namespace (default: the context's)");
  cmd->add_option("--image", f.image, "k8s: image for replicas whose spec names none");
  return cmd;
}

namespace {

// The backend `--backend` names: Kubernetes through the kubeconfig, or processes here.
absl::StatusOr<std::unique_ptr<control::JobBackend>> MakeBackend(const ControlFlags& f,
                                                                 const std::string& state_dir,
                                                                 const std::string& parasol) {
  if (f.backend == "k8s") {
    auto connection = KubernetesConnection(f.kubeconfig, f.context);
    if (!connection.ok()) return connection.status();
    auto api = control::K8sApi::Connect(*connection);
    if (!api.ok()) return api.status();
    control::K8sRenderOptions render;
    render.kube_namespace =
        f.kube_namespace.empty() ? connection->kube_namespace : f.kube_namespace;
    render.image = f.image;
    return std::make_unique<control::KubernetesBackend>(*std::move(api), render);
  }
  control::LocalBackendOptions options;
  options.state_dir = state_dir;
  options.parasol_binary = parasol;
  options.cpu_capacity = f.cpus;
  options.memory_capacity = f.memory_mb << 20;
  options.gpus = f.gpus;
  return std::make_unique<control::LocalBackend>(options);
}

}  // namespace

namespace {

// Serves until SIGINT/SIGTERM (waited for by one thread, whichever thread receives them) or
// until the server stops by itself.
absl::Status ServeUntilStopped(control::ControlHttpServer& http) {
  std::atomic<bool> served_done{false};
  std::thread waiter([&] {
    stop_signals::Wait();
    // A stop that lands before the server has started listening is a no-op: repeat it.
    while (!served_done) {
      http.Stop();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  const absl::Status served = http.Serve();
  served_done = true;
  if (waiter.joinable()) {
    stop_signals::Raise(SIGTERM);  // when Serve ended by itself
    waiter.join();
  }
  return served;
}

}  // namespace

int RunControl(const ControlFlags& f) {
  namespace fs = std::filesystem;
  auto address = control::ParseHostPort(f.listen, "--listen");
  if (!address.ok()) return Fail(kExitUsage, address.status());
  if (!f.auth) {
    if (auto st = control::CheckLoopback(address->host); !st.ok()) return Fail(kExitUsage, st);
  }
  if (f.cpus < 0 || f.memory_mb < 0 || f.gpus < 0) {
    return Fail(kExitUsage, "--cpus, --memory-mb and --gpus must be >= 0");
  }
  std::error_code ec;
  fs::create_directories(f.state_dir, ec);
  if (ec)
    return Fail(kExitRuntime, "cannot create --state-dir " + f.state_dir + ": " + ec.message());
  const std::string state_dir = fs::canonical(f.state_dir, ec).string();
  char exe[4096];
  const ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (n <= 0) return Fail(kExitRuntime, "cannot find the parasol binary (/proc/self/exe)");

  stop_signals::Install();  // waited for in ServeUntilStopped

  auto store = control::OpenSqliteJobStore(state_dir + "/control.db");
  if (!store.ok()) return Fail(kExitRuntime, store.status());
  auto backend = MakeBackend(f, state_dir, std::string(exe, n));
  if (!backend.ok()) return Fail(kExitUsage, backend.status());
  control::JobService service(*std::move(store), *std::move(backend));
  if (auto st = service.Start(); !st.ok()) return Fail(kExitRuntime, st);
  // --auth: tenants and keys (auth.db, secrets sealed under the master key), the audit log.
  auth::ControlAuth security;
  if (f.auth) {
    auto opened = auth::OpenControlAuth(state_dir, f.master_key, f.region);
    if (!opened.ok()) {
      return Fail(absl::IsInvalidArgument(opened.status()) ? kExitUsage : kExitRuntime,
                  opened.status());
    }
    security = *std::move(opened);
    if (security.new_admin_key) {
      std::fprintf(stderr,
                   "parasol control: admin key %s written to %s (mode 0600); move it to "
                   "~/.parasol/credentials on the admin's machine\n",
                   security.new_admin_key->c_str(), security.admin_credentials_path.c_str());
    }
    if (!control::CheckLoopback(address->host).ok()) {
      std::fprintf(stderr,
                   "parasol control: warning: listening on %s without TLS: requests are "
                   "signed but not encrypted\n",
                   address->host.c_str());
    }
  }
  auto workflow_store = control::OpenSqliteWorkflowStore(state_dir + "/control.db");
  if (!workflow_store.ok()) return Fail(kExitRuntime, workflow_store.status());
  control::WorkflowEngine workflows(service, *std::move(workflow_store),
                                    {state_dir, std::string(exe, n)});
  if (auto st = workflows.Start(); !st.ok()) return Fail(kExitRuntime, st);
  control::ControlHttpServer http(service, {security.authenticator.get(), security.audit.get()});
  http.AddRoutes("/api/v1/workflows",
                 [&](httplib::Server& s) { control::AddWorkflowRoutes(s, workflows); });
  auto port = http.Bind(*address);
  if (!port.ok()) return Fail(kExitRuntime, port.status());
  std::printf("listening on %s:%d\n", address->host.c_str(), *port);
  std::fflush(stdout);
  const std::string base = address->host.find(':') == std::string::npos
                               ? absl::StrCat("http://", address->host, ":", *port)
                               : absl::StrCat("http://[", address->host, "]:", *port);
  std::fprintf(
      stderr, "parasol control: state in %s; dashboard at %s/ ; API at %s/api/v1/jobs%s\n",
      state_dir.c_str(), base.c_str(), base.c_str(),
      f.auth ? absl::StrCat(" (SigV4, region ", f.region, ", service parasol)").c_str() : "");
  const absl::Status served = ServeUntilStopped(http);
  workflows.Shutdown();
  service.Shutdown();
  if (!served.ok()) return Fail(kExitRuntime, served);
  std::fprintf(stderr,
               "parasol control: stopped; running jobs keep running and are re-attached "
               "on the next start\n");
  return kExitOk;
}

int RunReplicaExec(const std::vector<std::string>& args) {
  if (args.size() < 4 || args[0] != "--exit-file" || args[2] != "--") {
    return Fail(kExitUsage, "usage: parasol replica-exec --exit-file FILE -- COMMAND [ARGS...]");
  }
  return control::RunReplicaShim(args[1], std::vector<std::string>(args.begin() + 3, args.end()));
}

}  // namespace parasol
