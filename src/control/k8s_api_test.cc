// K8sApi against a real HTTP server on loopback that answers with Kubernetes API responses
// (testdata/k8s/api, written from the API reference; no live cluster was available).
#include "control/k8s_api.h"

#include <httplib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "common/files.h"
#include "control/job_spec.h"
#include "control/job_supervisor.h"
#include "control/k8s_backend.h"
#include "control/k8s_render.h"
#include "gtest/gtest.h"

namespace parasol::control {
namespace {

namespace fs = std::filesystem;

std::string Read(const std::string& path) { return ReadFileToString(path).value_or(""); }

const std::string kData = std::string(PARASOL_SOURCE_DIR) + "/src/control/";

std::string Response(const std::string& name) { return Read(kData + "testdata/k8s/api/" + name); }

// An API server that replays the responses and records each request as "METHOD PATH".
class ReplayServer {
 public:
  ReplayServer() {
    // Each handler records its request before answering, so the client sees it recorded.
    server_.Post(R"(/(api|apis)/.*)", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mu_);
      Record(req);
      const bool exists = created_.count(req.path + req.body) > 0;
      created_.insert(req.path + req.body);
      res.status = exists ? 409 : 201;
      res.set_content(Response(exists ? "already_exists.json" : "created.json"),
                      "application/json");
    });
    server_.Get(R"(/apis/batch/v1/namespaces/default/jobs/(.*))",
                [this](const httplib::Request& req, httplib::Response& res) {
                  std::lock_guard<std::mutex> lock(mu_);
                  Record(req);
                  const std::string name = req.matches[1];
                  res.status = name == "nosuch" ? 404 : 200;
                  const std::string outcome = name == "failed" ? "failed" : worker_job_;
                  res.set_content(Response(name == "nosuch"       ? "not_found.json"
                                           : outcome == "failed"  ? "job_failed.json"
                                           : outcome == "running" ? "job_running.json"
                                                                  : "job_complete.json"),
                                  "application/json");
                });
    server_.Get("/api/v1/namespaces/default/pods",
                [this](const httplib::Request& req, httplib::Response& res) {
                  std::lock_guard<std::mutex> lock(mu_);
                  Record(req);
                  selectors_.push_back(req.get_param_value("labelSelector"));
                  res.set_content(Response("pods_worker.json"), "application/json");
                });
    server_.Get(R"(/api/v1/namespaces/default/pods/([^/]+)/log)",
                [this](const httplib::Request& req, httplib::Response& res) {
                  std::lock_guard<std::mutex> lock(mu_);
                  Record(req);
                  res.set_content("log of " + std::string(req.matches[1]) + "\n", "text/plain");
                });
    server_.Delete(R"(/(api|apis)/.*)",
                   [this](const httplib::Request& req, httplib::Response& res) {
                     std::lock_guard<std::mutex> lock(mu_);
                     Record(req);
                     res.status = 200;
                     res.set_content(Response("deleted.json"), "application/json");
                   });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~ReplayServer() {
    server_.stop();
    thread_.join();
  }
  // What GET of a Job answers: "running", "complete" (default) or "failed".
  void SetWorkerJob(const std::string& outcome) {
    std::lock_guard<std::mutex> lock(mu_);
    worker_job_ = outcome;
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<std::string> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  std::vector<std::string> auth() {
    std::lock_guard<std::mutex> lock(mu_);
    return auth_;
  }
  std::vector<std::string> bodies() {
    std::lock_guard<std::mutex> lock(mu_);
    return bodies_;
  }

 private:
  // REQUIRES: mu_ held.
  void Record(const httplib::Request& req) {
    requests_.push_back(req.method + " " + req.path);
    auth_.push_back(req.get_header_value("Authorization"));
    bodies_.push_back(req.body);
  }

  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::set<std::string> created_;
  std::string worker_job_ = "complete";

 public:
  std::vector<std::string> selectors_;  // labelSelector of each pod listing
  std::vector<std::string> requests_, auth_, bodies_;
};

TEST(K8sApiTest, AppliesRenderedManifestsWithTheTokenAndReadsJobOutcomes) {
  ReplayServer server;
  K8sConnection c;
  c.server = server.url();
  c.token = "s3cret";
  auto api = K8sApi::Connect(c);
  ASSERT_TRUE(api.ok()) << api.status();
  auto spec = ParseJobSpec(Read(kData + "examples/hello.yaml"), "hello.yaml");
  ASSERT_TRUE(spec.ok());
  auto manifests = RenderKubernetes(*spec, {.image = "busybox:1.36"});
  ASSERT_TRUE(manifests.ok());
  ASSERT_TRUE(ApplyManifests(**api, *manifests).ok());
  EXPECT_EQ(server.requests(),
            (std::vector<std::string>{"POST /api/v1/namespaces/default/services",
                                      "POST /apis/apps/v1/namespaces/default/statefulsets",
                                      "POST /apis/batch/v1/namespaces/default/jobs"}));
  for (const auto& a : server.auth()) EXPECT_EQ(a, "Bearer s3cret");
  ASSERT_EQ(server.bodies().size(), 3u);
  EXPECT_EQ(nlohmann::json::parse(server.bodies()[2])["spec"]["completionMode"], "Indexed");

  // A second apply meets the existing objects: the API's message comes through.
  const absl::Status again = ApplyManifests(**api, *manifests);
  EXPECT_EQ(again.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_NE(again.message().find("services \"hello\" already exists"), std::string::npos) << again;

  auto done = (*api)->Get("batch/v1", "Job", "default", "hello-worker");
  ASSERT_TRUE(done.ok()) << done.status();
  std::string reason;
  EXPECT_EQ(JobCondition(*done, &reason), "Complete");
  auto failed = (*api)->Get("batch/v1", "Job", "default", "failed");
  ASSERT_TRUE(failed.ok());
  EXPECT_EQ(JobCondition(*failed, &reason), "Failed");
  EXPECT_EQ(reason, "Job has reached the specified backoff limit");
  auto missing = (*api)->Get("batch/v1", "Job", "default", "nosuch");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("jobs.batch \"nosuch\" not found"), std::string::npos);
  EXPECT_TRUE((*api)->Delete("apps/v1", "StatefulSet", "default", "hello-ps").ok());
  EXPECT_EQ(server.requests().back(),
            "DELETE /apis/apps/v1/namespaces/default/statefulsets/hello-ps");
  EXPECT_EQ(nlohmann::json::parse(server.bodies().back())["propagationPolicy"], "Background");
}

TEST(K8sApiTest, UnreachableServerAndUnknownKindsAreErrors) {
  K8sConnection c;
  c.server = "http://127.0.0.1:1";
  auto api = K8sApi::Connect(c);
  ASSERT_TRUE(api.ok());
  auto st = (*api)->Get("batch/v1", "Job", "default", "x");
  EXPECT_EQ(st.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(st.status().message().find("cannot reach http://127.0.0.1:1"), std::string::npos);
  EXPECT_FALSE(CollectionPath("apps/v1", "Deployment", "default").ok());
  c.server = "ftp://x";
  EXPECT_FALSE(K8sApi::Connect(c).ok());
}

TEST(K8sApiTest, KubeconfigGivesServerTokenCaAndNamespace) {
  const fs::path dir = fs::path(::testing::TempDir()) / ("kubeconfig_" + std::to_string(getpid()));
  fs::create_directories(dir);
  const std::string config = R"(apiVersion: v1
kind: Config
current-context: dev
contexts:
- name: dev
  context: {cluster: lab, user: alice, namespace: ml}
- name: other
  context: {cluster: lab, user: bob}
clusters:
- name: lab
  cluster:
    server: https://10.0.0.1:6443
    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==
users:
- name: alice
  user: {token: abc123}
- name: bob
  user: {client-certificate: /x.crt, client-key: /x.key}
)";
  std::ofstream(dir / "config") << config;
  auto c = LoadKubeconfig((dir / "config").string(), "", (dir / "ca").string());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->server, "https://10.0.0.1:6443");
  EXPECT_EQ(c->token, "abc123");
  EXPECT_EQ(c->kube_namespace, "ml");
  EXPECT_EQ(Read(c->ca_file), "-----BEGIN CERTIFICATE-----\n");
  auto other = LoadKubeconfig((dir / "config").string(), "other", (dir / "ca").string());
  ASSERT_FALSE(other.ok());
  EXPECT_NE(other.status().message().find("users[bob].user: only token authentication"),
            std::string::npos)
      << other.status();
  auto none = LoadKubeconfig((dir / "config").string(), "nosuch", (dir / "ca").string());
  EXPECT_NE(none.status().message().find("contexts[nosuch].context"), std::string::npos);
  // A value of the wrong shape is an error naming it, never an exception out of the reader.
  std::ofstream(dir / "bad") << "current-context: dev\ncontexts:\n- name: dev\n"
                                "  context: {cluster: lab, user: alice}\nclusters:\n- name: lab\n"
                                "  cluster:\n    server: {url: x}\n";
  auto bad = LoadKubeconfig((dir / "bad").string(), "", (dir / "ca").string());
  EXPECT_EQ(
      bad.status().message(),
      (dir / "bad").string() + ":8: clusters[0].cluster.server: expected a string, got a mapping");
  EXPECT_EQ(LoadKubeconfig((dir / "absent").string(), "", "").status().code(),
            absl::StatusCode::kInvalidArgument);
  fs::remove_all(dir);
}

JobRecord HelloJob() {
  JobRecord job;
  job.spec = *ParseJobSpec(Read(kData + "examples/hello.yaml"), "hello.yaml");
  return job;
}

std::unique_ptr<K8sApi> Connect(const ReplayServer& server) {
  K8sConnection c;
  c.server = server.url();
  return *K8sApi::Connect(c);
}

TEST(KubernetesBackendTest, WorkersCompletingSucceedsTheJobAndDeletesTheParameterServers) {
  ReplayServer server;
  server.SetWorkerJob("running");
  KubernetesBackend backend(Connect(server), {.image = "busybox:1.36"}, /*poll_seconds=*/0);
  JobSupervisor supervisor(backend);  // the state machine the service runs over it
  JobRecord job = HelloJob();
  ASSERT_TRUE(backend.Admit(job.spec).ok());
  EXPECT_TRUE(supervisor.Step(job, 100));
  EXPECT_EQ(job.state, JobState::kRunning);
  ASSERT_EQ(job.replicas.size(), 3u);
  EXPECT_EQ(job.replicas[0].name, "ps-0");
  EXPECT_EQ(server.requests().size(), 4u);  // 3 creates, then the worker Job's status
  EXPECT_EQ(server.requests().back(), "GET /apis/batch/v1/namespaces/default/jobs/hello-worker");
  supervisor.Step(job, 101);
  EXPECT_EQ(job.state, JobState::kRunning);

  server.SetWorkerJob("complete");
  EXPECT_TRUE(supervisor.Step(job, 102));
  EXPECT_EQ(job.state, JobState::kSucceeded);
  EXPECT_EQ(job.replicas[0].state, ReplicaState::kStopped);
  EXPECT_EQ(job.replicas[1].state, ReplicaState::kSucceeded);
  const auto requests = server.requests();
  EXPECT_EQ(requests.back(), "DELETE /apis/apps/v1/namespaces/default/statefulsets/hello-ps");
  for (const auto& r : requests) {
    EXPECT_EQ(r.find("DELETE /apis/batch"), std::string::npos) << "the finished Job is kept";
  }
  // Logs come from the replica's newest pod (worker-1 was retried once).
  auto log = backend.ReadLog(job, "worker-1", 0, 1000);
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ(*log, "log of hello-worker-1-m3n8r\n");
  EXPECT_EQ(server.selectors_.back(), "parasol.io/job=hello,parasol.io/role=worker");
  EXPECT_EQ(*backend.ReadLog(job, "worker-0", 7, 1000), "hello-worker-0-x7k2p\n");
  EXPECT_EQ(backend.ReadLog(job, "chief-0", 0, 10).status().code(), absl::StatusCode::kNotFound);
}

TEST(KubernetesBackendTest, JobStatusIsReadAtMostEveryPollInterval) {
  ReplayServer server;
  server.SetWorkerJob("running");
  KubernetesBackend backend(Connect(server), {.image = "busybox:1.36"}, /*poll_seconds=*/2);
  JobSupervisor supervisor(backend);  // the state machine the service runs over it
  JobRecord job = HelloJob();
  supervisor.Step(job, 100);  // creates, reads the status
  supervisor.Step(job, 100.1);
  supervisor.Step(job, 101.9);
  EXPECT_EQ(server.requests().size(), 4u);
  supervisor.Step(job, 102.1);
  EXPECT_EQ(server.requests().size(), 5u);
}

TEST(KubernetesBackendTest, AFailedWorkerJobFailsTheJobAndDeletesEverything) {
  ReplayServer server;
  server.SetWorkerJob("failed");
  KubernetesBackend backend(Connect(server), {.image = "busybox:1.36"}, /*poll_seconds=*/0);
  JobSupervisor supervisor(backend);  // the state machine the service runs over it
  JobRecord job = HelloJob();
  supervisor.Step(job, 100);
  EXPECT_EQ(job.state, JobState::kFailed);
  EXPECT_NE(job.reason.find("Job hello-worker: Job has reached the specified backoff limit"),
            std::string::npos)
      << job.reason;
  const auto requests = server.requests();
  ASSERT_GE(requests.size(), 3u);
  EXPECT_EQ(
      std::vector<std::string>(requests.end() - 3, requests.end()),
      (std::vector<std::string>{"DELETE /apis/apps/v1/namespaces/default/statefulsets/hello-ps",
                                "DELETE /apis/batch/v1/namespaces/default/jobs/hello-worker",
                                "DELETE /api/v1/namespaces/default/services/hello"}));
  // A spec Kubernetes cannot run is refused at submission.
  JobRecord no_image = HelloJob();
  KubernetesBackend strict(Connect(server), {});
  EXPECT_NE(strict.Admit(no_image.spec).message().find("image: required"), std::string::npos);
}

}  // namespace
}  // namespace parasol::control
