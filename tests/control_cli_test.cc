// The control plane end to end: the real `parasol control` service on a free loopback port with
// its SQLite file, real replica processes, and the real `parasol job` CLI.
#include <httplib.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "common/subprocess.h"
#include "gtest/gtest.h"
#include "test_util/run_parasol.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::parasol::testing::CommandResult;
using ::parasol::testing::RunParasol;

// The minimal spec of issue 5, exactly as written there.
const std::string kHelloSpec = std::string(PARASOL_SOURCE_DIR) + "/src/control/examples/hello.yaml";

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Live processes whose environment contains `needle` (a replica's unique address).
int ProcessesWithEnv(const std::string& needle) {
  int count = 0;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string stat = ReadFile(entry.path() / "stat");
    const size_t close = stat.rfind(')');
    if (close == std::string::npos || stat.compare(close + 2, 1, "Z") == 0) continue;
    if (ReadFile(entry.path() / "environ").find(needle) != std::string::npos) ++count;
  }
  return count;
}

// Pids of live processes whose environment contains every one of `needles` and whose command
// line contains `argv_part` (arguments joined by spaces); not the replicas' shims.
std::vector<pid_t> ProcessesWith(const std::vector<std::string>& needles,
                                 const std::string& argv_part) {
  std::vector<pid_t> pids;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const std::string env = ReadFile(entry.path() / "environ");
    bool all = !env.empty();
    for (const auto& n : needles) all = all && env.find(n) != std::string::npos;
    std::string cmdline = ReadFile(entry.path() / "cmdline");
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    if (all && cmdline.find(argv_part) != std::string::npos &&
        cmdline.find("replica-exec") == std::string::npos) {
      pids.push_back(std::stoi(name));
    }
  }
  return pids;
}

class ControlCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(::testing::TempDir()) /
           ("control_cli_" + std::string(info->name()) + "_" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    StartControl();
  }

  void TearDown() override {
    if (control_ != nullptr) {
      auto jobs = Json("list --json");
      for (const auto& j : jobs["jobs"]) Job("delete " + j["name"].get<std::string>());
      control_->Stop(SIGTERM);
    }
    fs::remove_all(dir_);
  }

  // Starts `parasol control` on a free port with `flags` (a stopped one is replaced).
  void StartControl(const std::vector<std::string>& flags = {}) {
    if (control_ != nullptr) control_->Stop(SIGTERM);
    parasol::SpawnOptions o;
    o.argv = {PARASOL_BINARY, "control",     "--listen",
              "127.0.0.1:0",  "--state-dir", (dir_ / "state").string()};
    o.argv.insert(o.argv.end(), flags.begin(), flags.end());
    o.capture_stdout = true;
    o.die_with_parent = true;
    auto p = parasol::Subprocess::Spawn(o);
    ASSERT_TRUE(p.ok()) << p.status();
    control_ = *std::move(p);
    const std::string line = control_->ReadLine();
    ASSERT_EQ(line.rfind("listening on ", 0), 0u) << line;
    endpoint_ = "http://" + line.substr(13);
  }

  // `parasol job ARGS --endpoint URL`.
  CommandResult Job(const std::string& args) {
    return RunParasol("job " + args + " --endpoint " + endpoint_);
  }

  json Json(const std::string& args) {
    const CommandResult r = Job(args);
    EXPECT_EQ(r.code, 0) << args << ": " << r.out;
    try {
      return json::parse(r.out);
    } catch (const json::exception&) {
      ADD_FAILURE() << args << " printed no JSON: " << r.out;
      return json::object();
    }
  }

  json Describe(const std::string& name) { return Json("describe " + name + " --json"); }

  // Polls (at most a minute) until the job is in `state`, or with `replica` given, until that
  // replica is; the job's last description.
  json WaitForState(const std::string& name, const std::string& state,
                    const std::string& replica = "") {
    json job;
    for (int i = 0; i < 600; ++i) {
      job = Describe(name);
      if (replica.empty() && job.value("state", "") == state) return job;
      for (const auto& r : job["replicas"]) {
        if (!replica.empty() && r["name"] == replica && r["state"] == state) return job;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ADD_FAILURE() << name << " " << replica << " never reached " << state << ": " << job.dump();
    return job;
  }

  // The metric series of `job` keyed "REPLICA/NAME", polled (at most 10 s) until the service
  // has ingested at least `min_series` of them.
  std::map<std::string, json> SeriesByName(const std::string& job, size_t min_series) {
    json metrics;
    for (int i = 0; i < 100; ++i) {  // ingested by the service's next tick
      metrics = Json("metrics " + job + " --json");
      if (metrics["series"].size() >= min_series) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    std::map<std::string, json> out;
    for (const auto& s : metrics["series"]) {
      out[s["replica"].get<std::string>() + "/" + s["name"].get<std::string>()] = s;
    }
    return out;
  }

  std::string WriteSpec(const std::string& file, const std::string& text) {
    const fs::path p = dir_ / file;
    std::ofstream(p) << text;
    return p.string();
  }

  static const json& Replica(const json& job, const std::string& name) {
    for (const auto& r : job["replicas"]) {
      if (r["name"] == name) return r;
    }
    static const json kNone = json::object();
    ADD_FAILURE() << "no replica " << name << " in " << job.dump();
    return kNone;
  }

  fs::path dir_;
  std::unique_ptr<parasol::Subprocess> control_;
  std::string endpoint_;
};

TEST_F(ControlCliTest, HelloSpecSucceedsStopsTheParameterServerAndKeepsLogs) {
  const CommandResult submit = Job("submit --watch -f " + kHelloSpec);
  ASSERT_EQ(submit.code, 0) << submit.out;
  EXPECT_NE(submit.out.find("job hello: Succeeded"), std::string::npos) << submit.out;

  const json job = Describe("hello");
  EXPECT_EQ(job["state"], "Succeeded");
  const json& ps = Replica(job, "ps-0");
  EXPECT_EQ(ps["state"], "Stopped");
  EXPECT_EQ(Replica(job, "worker-0")["state"], "Succeeded");
  EXPECT_EQ(Replica(job, "worker-0")["exitCode"], 0);
  EXPECT_EQ(Replica(job, "worker-1")["state"], "Succeeded");
  const std::string ps_address = "127.0.0.1:" + std::to_string(ps["port"].get<int>());
  const std::string w0 = "127.0.0.1:" + std::to_string(Replica(job, "worker-0")["port"].get<int>());
  const std::string w1 = "127.0.0.1:" + std::to_string(Replica(job, "worker-1")["port"].get<int>());
  EXPECT_EQ(ProcessesWithEnv(ps_address), 0) << "the parameter server outlived the job";

  // Each worker printed its TF_CONFIG, in exactly TensorFlow's format; the logs outlive the job.
  const std::string cluster =
      R"({"cluster":{"ps":[")" + ps_address + R"("],"worker":[")" + w0 + R"(",")" + w1 + R"("]},)";
  for (int i = 0; i < 2; ++i) {
    const CommandResult logs = Job("logs hello --replica worker-" + std::to_string(i));
    ASSERT_EQ(logs.code, 0) << logs.out;
    EXPECT_EQ(logs.out, cluster + R"("task":{"type":"worker","index":)" + std::to_string(i) +
                            R"(},"environment":"cloud"})" + "\n");
  }
  const CommandResult all = Job("logs hello");
  EXPECT_NE(all.out.find("==> ps-0 <==\n" + cluster + R"("task":{"type":"ps","index":0})"),
            std::string::npos)
      << all.out;

  const CommandResult list = Job("list");
  EXPECT_NE(list.out.find("hello"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("Succeeded"), std::string::npos) << list.out;
  const CommandResult table = Job("describe hello");
  EXPECT_NE(table.out.find("ps-0"), std::string::npos) << table.out;
}

TEST_F(ControlCliTest, CrashedWorkerIsRestartedUnderOnFailureThenSucceeds) {
  const std::string spec = R"(name: flaky
kind: custom
workingDir: )" + dir_.string() +
                           R"(
replicas:
  ps: {count: 1, command: ["sleep", "600"]}
  worker:
    count: 1
    command: ["sh", "-c", "if [ ! -f crashed ]; then touch crashed; echo crashing; exit 3; fi; echo recovered"]
restartPolicy: OnFailure
backoffLimit: 2
)";
  const CommandResult submit = Job("submit --watch -f " + WriteSpec("flaky.yaml", spec));
  ASSERT_EQ(submit.code, 0) << submit.out;
  const json job = Describe("flaky");
  EXPECT_EQ(job["state"], "Succeeded");
  EXPECT_EQ(job["restarts"], 1);
  EXPECT_EQ(Replica(job, "worker-0")["restarts"], 1);
  EXPECT_EQ(Replica(job, "worker-0")["exitCode"], 0);
  EXPECT_EQ(Replica(job, "ps-0")["state"], "Stopped");
  const CommandResult logs = Job("logs flaky --replica worker-0");
  EXPECT_EQ(logs.out, "crashing\n--- parasol: restart 1 of worker-0 ---\nrecovered\n");
}

TEST_F(ControlCliTest, ExceedingTheBackoffLimitFailsTheJobAndStopsTheRest) {
  const std::string spec = R"(name: doomed
kind: custom
replicas:
  ps: {count: 1, command: ["sleep", "600"]}
  worker:
    count: 2
    command: ["sh", "-c", "if [ $PARASOL_REPLICA_INDEX = 0 ]; then echo boom; exit 3; fi; exec sleep 600"]
restartPolicy: OnFailure
backoffLimit: 2
)";
  const CommandResult submit = Job("submit --watch -f " + WriteSpec("doomed.yaml", spec));
  EXPECT_EQ(submit.code, 1) << submit.out;
  const json job = WaitForState("doomed", "Failed");
  EXPECT_EQ(job["restarts"], 2);
  const json& w0 = Replica(job, "worker-0");
  EXPECT_EQ(w0["state"], "Failed");
  EXPECT_EQ(w0["exitCode"], 3);
  EXPECT_EQ(w0["restarts"], 2);
  EXPECT_NE(job["reason"].get<std::string>().find("worker-0"), std::string::npos) << job.dump();
  EXPECT_NE(job["reason"].get<std::string>().find("backoffLimit 2 reached"), std::string::npos)
      << job.dump();
  for (const char* other : {"ps-0", "worker-1"}) {
    EXPECT_EQ(Replica(job, other)["state"], "Stopped") << other;
    EXPECT_EQ(
        ProcessesWithEnv("127.0.0.1:" + std::to_string(Replica(job, other)["port"].get<int>())), 0)
        << other << " outlived the job";
  }
  // Three attempts, all in the one log.
  const CommandResult logs = Job("logs doomed --replica worker-0");
  EXPECT_EQ(logs.out,
            "boom\n--- parasol: restart 1 of worker-0 ---\nboom\n"
            "--- parasol: restart 2 of worker-0 ---\nboom\n");

  // Under ExitCode, 1-127 are permanent: no restart at all.
  const CommandResult permanent = Job(
      "submit --watch -f " +
      WriteSpec("permanent.yaml",
                "name: permanent\nkind: custom\nreplicas: {worker: {command: [sh, -c, 'exit 1']}}\n"
                "restartPolicy: ExitCode\nbackoffLimit: 5\n"));
  EXPECT_EQ(permanent.code, 1) << permanent.out;
  EXPECT_EQ(Describe("permanent")["restarts"], 0);
}

TEST_F(ControlCliTest, ControlServiceKilledMidJobKeepsTheJobAndFinishesIt) {
  const std::string spec = R"(name: survivor
kind: custom
workingDir: )" + dir_.string() +
                           R"(
replicas:
  ps: {count: 1, command: ["sleep", "600"]}
  worker: {count: 1, command: ["sh", "-c", "while [ ! -f go ]; do sleep 0.05; done; echo finished"]}
)";
  const std::string lost =
      "name: lost\nkind: custom\nreplicas: {worker: {command: [sleep, '600']}}\n";
  ASSERT_EQ(Job("submit -f " + WriteSpec("survivor.yaml", spec)).code, 0);
  ASSERT_EQ(Job("submit -f " + WriteSpec("lost.yaml", lost)).code, 0);
  const json before = WaitForState("survivor", "Running");
  const json lost_before = WaitForState("lost", "Running");
  const std::string ps_address =
      "127.0.0.1:" + std::to_string(Replica(before, "ps-0")["port"].get<int>());

  control_->Signal(SIGKILL);
  control_->Wait();
  control_.reset();
  // While the service is down: the survivor's worker finishes, the lost job's process is killed
  // with its shim (so nobody records how it ended).
  EXPECT_GE(ProcessesWithEnv(ps_address), 1) << "replicas must outlive the control service";
  std::ofstream(dir_ / "go") << "";
  const int lost_pid = Replica(lost_before, "worker-0")["pid"].get<int>();
  ASSERT_GT(lost_pid, 0);
  ASSERT_EQ(kill(-lost_pid, SIGKILL), 0);

  StartControl();
  WaitForState("survivor", "Succeeded");
  const json after = WaitForState("survivor", "Stopped", "ps-0");
  EXPECT_EQ(after["createdAt"], before["createdAt"]);
  EXPECT_EQ(Replica(after, "worker-0")["exitCode"], 0);
  EXPECT_EQ(Replica(after, "ps-0")["state"], "Stopped");  // re-attached, then stopped
  for (int i = 0; i < 100 && ProcessesWithEnv(ps_address) > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(ProcessesWithEnv(ps_address), 0);
  EXPECT_EQ(Job("logs survivor --replica worker-0").out, "finished\n");

  const json lost_after = WaitForState("lost", "Failed");
  EXPECT_NE(lost_after["reason"].get<std::string>().find("exit status unknown"), std::string::npos)
      << lost_after.dump();
}

TEST_F(ControlCliTest, BadSpecsAndBadRequestsGetErrorsNamingWhatIsWrong) {
  const std::string bad =
      WriteSpec("bad.yaml",
                "name: bad\nkind: custom\nreplicas:\n  worker: {count: 0, command: [\"true\"]}\n");
  const CommandResult r = Job("submit -f " + bad);
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("bad.yaml:4:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("replicas.worker.count: expected a positive integer"), std::string::npos)
      << r.out;
  const CommandResult typo =
      Job("submit -f " + WriteSpec("typo.yaml",
                                   "name: t\nkind: custom\nreplicas: {w: {command: [x]}}\n"
                                   "restartpolicy: Never\n"));
  EXPECT_EQ(typo.code, 2);
  EXPECT_NE(typo.out.find("restartpolicy: unknown field"), std::string::npos) << typo.out;
  const CommandResult greedy =
      Job("submit -f " + WriteSpec("greedy.yaml",
                                   "name: g\nkind: custom\nresources: {cpu: 100000}\n"
                                   "replicas: {w: {command: [x]}}\n"));
  EXPECT_EQ(greedy.code, 1);
  EXPECT_NE(greedy.out.find("resources: the job needs cpu 100000"), std::string::npos)
      << greedy.out;
  const CommandResult binary =
      Job("submit -f " + WriteSpec("binary.yaml",
                                   "name: b\nkind: custom\nreplicas: {w: {command: "
                                   "[\"\xff\xfe\"]}}\n"));
  EXPECT_EQ(binary.code, 2);
  EXPECT_NE(binary.out.find("binary.yaml: not UTF-8 text"), std::string::npos) << binary.out;
  EXPECT_EQ(Json("list --json")["jobs"].size(), 0u);

  // Names are unique; unknown jobs and replicas are named.
  ASSERT_EQ(Job("submit -f " + kHelloSpec).code, 0);
  const CommandResult again = Job("submit -f " + kHelloSpec);
  EXPECT_EQ(again.code, 1);
  EXPECT_NE(again.out.find("a job named 'hello' exists"), std::string::npos) << again.out;
  const CommandResult missing = Job("describe nosuch");
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.out.find("no job named 'nosuch'"), std::string::npos) << missing.out;
  const CommandResult replica = Job("logs hello --replica chief-0");
  EXPECT_EQ(replica.code, 1);
  EXPECT_NE(replica.out.find("no replica 'chief-0'"), std::string::npos) << replica.out;

  // An oversized body is refused, and the service keeps serving.
  const std::string huge = WriteSpec("huge.yaml", "name: h\n# " + std::string(2 << 20, 'x') + "\n");
  const CommandResult big = Job("submit -f " + huge);
  EXPECT_NE(big.code, 0) << big.out;
  EXPECT_EQ(Job("describe hello").code, 0);

  // Kubernetes: an unreachable API server is named; a kubeconfig error names the field.
  std::ofstream(dir_ / "kubeconfig")
      << "current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\n"
         "clusters: [{name: k, cluster: {server: 'http://127.0.0.1:1'}}]\n"
         "users: [{name: u, user: {token: t}}]\n";
  const CommandResult apply =
      RunParasol("job apply --backend k8s -f " + kHelloSpec + " --image busybox --kubeconfig " +
                 dir_.string() + "/kubeconfig");
  EXPECT_EQ(apply.code, 1) << apply.out;
  EXPECT_NE(apply.out.find("create Service/hello: cannot reach http://127.0.0.1:1"),
            std::string::npos)
      << apply.out;
  const CommandResult context =
      RunParasol("job apply -f " + kHelloSpec + " --context nosuch --kubeconfig " + dir_.string() +
                 "/kubeconfig");
  EXPECT_EQ(context.code, 2) << context.out;
  EXPECT_NE(context.out.find("contexts[nosuch].context"), std::string::npos) << context.out;

  const CommandResult open = RunParasol("control --listen 0.0.0.0:0 --state-dir " + dir_.string());
  EXPECT_EQ(open.code, 2);
  EXPECT_NE(open.out.find("loopback only"), std::string::npos) << open.out;
  const CommandResult down = RunParasol("job list --endpoint http://127.0.0.1:1");
  EXPECT_EQ(down.code, 1);
  EXPECT_NE(down.out.find("cannot reach the control service at http://127.0.0.1:1"),
            std::string::npos)
      << down.out;
}

TEST_F(ControlCliTest, TrainJobsRunTheBuiltInTrainerAndReportMetrics) {
  const std::string d = dir_.string();
  ASSERT_EQ(
      RunParasol("gen --rows 3000 --features 8 --vocab 2000 --seed 3 --out " + d + "/t.svm").code,
      0);
  const std::string spec = "name: ctr\nkind: train\nworkingDir: " + d +
                           "\ntrain:\n  servers: 1\n  workers: 2\n"
                           "  args: {train: t.svm, out: model, epochs: 1, model: lr}\n";
  const CommandResult submit = Job("submit --watch -f " + WriteSpec("ctr.yaml", spec));
  ASSERT_EQ(submit.code, 0) << submit.out << Job("logs ctr").out;
  EXPECT_TRUE(fs::exists(dir_ / "model" / "manifest.json"));
  // Servers and workers are the job's own replicas; worker 0 wrote the model.
  const json ctr = Describe("ctr");
  EXPECT_EQ(Replica(ctr, "ps-0")["state"], "Stopped");
  EXPECT_EQ(Replica(ctr, "worker-0")["state"], "Succeeded");
  EXPECT_EQ(Replica(ctr, "worker-1")["state"], "Succeeded");
  EXPECT_NE(Job("logs ctr --replica worker-0").out.find("worker 0: model written to"),
            std::string::npos);
  const std::string ps_log = Job("logs ctr --replica ps-0").out;
  EXPECT_NE(ps_log.find("stopping (SIGTERM)"), std::string::npos) << ps_log;

  // A single-process training job reports its epochs as metric series.
  const std::string single = "name: single\nkind: train\nworkingDir: " + d +
                             "\ntrain:\n  args: {train: t.svm, valid: t.svm, out: single, "
                             "epochs: 3, early-stopping: 5}\n";
  ASSERT_EQ(Job("submit --watch -f " + WriteSpec("single.yaml", single)).code, 0);
  std::map<std::string, json> series = SeriesByName("single", 3);
  ASSERT_TRUE(series.count("trainer-0/loss")) << json(series).dump();
  ASSERT_TRUE(series.count("trainer-0/valid_auc")) << json(series).dump();
  EXPECT_EQ(series["trainer-0/loss"]["points"].size(), 3u) << json(series).dump();
  EXPECT_GT(series["trainer-0/valid_auc"]["points"][2][1].get<double>(), 0.5);
  const CommandResult table = Job("metrics single");
  EXPECT_NE(table.out.find("valid_auc"), std::string::npos) << table.out;
}

// The bundled example as written (2 parameter servers + 2 workers on the churn data, run from
// the repository root): the job succeeds, the servers are stopped, the model predicts, and the
// workers' loss and validation curves reach the service.
TEST_F(ControlCliTest, DistributedChurnJobStopsItsServersAndReportsCurves) {
  const std::string d = dir_.string();
  std::string churn = ReadFile(fs::path(PARASOL_SOURCE_DIR) / "src/control/examples/churn.yaml");
  const size_t out = churn.find("out: out/churn-job");
  ASSERT_NE(out, std::string::npos) << churn;
  churn.replace(out, 18, "out: " + d + "/churn");
  churn += "workingDir: " + std::string(PARASOL_SOURCE_DIR) + "\n";
  const CommandResult churned = Job("submit --watch -f " + WriteSpec("churn.yaml", churn));
  ASSERT_EQ(churned.code, 0) << churned.out << Job("logs churn").out;
  EXPECT_NE(churned.out.find("job churn: Succeeded (all workers succeeded)"), std::string::npos)
      << churned.out;

  const json job = Describe("churn");
  ASSERT_EQ(job["replicas"].size(), 4u) << job.dump();
  for (const char* ps : {"ps-0", "ps-1"}) {
    const json& r = Replica(job, ps);
    EXPECT_EQ(r["state"], "Stopped") << ps;
    EXPECT_EQ(ProcessesWithEnv("127.0.0.1:" + std::to_string(r["port"].get<int>())), 0)
        << ps << " outlived the job";
  }
  EXPECT_EQ(Replica(job, "worker-0")["state"], "Succeeded");
  EXPECT_EQ(Replica(job, "worker-1")["state"], "Succeeded");

  const CommandResult eval = RunParasol("eval --json --model " + d + "/churn --data " +
                                        PARASOL_SOURCE_DIR + "/data/churn/test.csv");
  ASSERT_EQ(eval.code, 0) << eval.out;
  EXPECT_GT(json::parse(eval.out)["auc"].get<double>(), 0.75) << eval.out;

  // One point per epoch and worker: loss and examples/s from both, validation from worker 0.
  std::map<std::string, json> series = SeriesByName("churn", 10);
  for (const char* name : {"worker-0/loss", "worker-1/loss", "worker-0/examples_per_sec",
                           "worker-0/valid_auc", "worker-0/valid_logloss"}) {
    ASSERT_TRUE(series.count(name)) << name << " missing: " << json(series).dump();
    EXPECT_GE(series[name]["points"].size(), 5u) << name;
  }
  EXPECT_FALSE(series.count("worker-1/valid_auc")) << "only worker 0 validates";
  const json& loss = series["worker-0/loss"]["points"];
  EXPECT_LT(loss.back()[1].get<double>(), loss.front()[1].get<double>()) << loss.dump();
  EXPECT_LT(loss.front()[0].get<double>(), loss.back()[0].get<double>()) << "steps grow";
  EXPECT_GT(series["worker-0/valid_auc"]["points"].back()[1].get<double>(), 0.75);
  const CommandResult table = Job("metrics churn");
  EXPECT_NE(table.out.find("valid_auc"), std::string::npos) << table.out;
}

// A training worker killed mid-job is restarted by the service (restartPolicy OnFailure) and
// resumes its share after the batches server 0 recorded for it; the job still succeeds.
TEST_F(ControlCliTest, KilledTrainingWorkerResumesItsShare) {
  const std::string d = dir_.string();
  ASSERT_EQ(
      RunParasol("gen --rows 4000 --features 8 --vocab 2000 --seed 5 --out " + d + "/t.svm").code,
      0);
  // Long enough (hundreds of batches per worker) to be killed well before its end.
  const std::string spec = "name: resume\nkind: train\nworkingDir: " + d +
                           "\nrestartPolicy: OnFailure\nbackoffLimit: 2\n"
                           "train:\n  servers: 1\n  workers: 2\n"
                           "  args: {train: t.svm, out: model, epochs: 100, batch-size: 64}\n";
  ASSERT_EQ(Job("submit -f " + WriteSpec("resume.yaml", spec)).code, 0);
  const fs::path metrics = dir_ / "state/jobs/resume/metrics/worker-1.jsonl";
  const std::vector<std::string> worker1 = {"PARASOL_REPLICA=worker-1", metrics.string()};
  std::vector<pid_t> pids;
  for (int i = 0; i < 600; ++i) {  // until worker 1 has finished 3 epochs
    const std::string lines = ReadFile(metrics);
    if (std::count(lines.begin(), lines.end(), '\n') >= 3) {
      pids = ProcessesWith(worker1, "ps worker");
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(pids.size(), 1u) << ReadFile(metrics);
  ASSERT_EQ(kill(pids[0], SIGKILL), 0);

  WaitForState("resume", "Succeeded");
  const json job = WaitForState("resume", "Stopped", "ps-0");  // stopped once workers succeeded
  EXPECT_EQ(job["state"], "Succeeded");
  EXPECT_EQ(job["restarts"], 1) << job.dump();
  EXPECT_EQ(Replica(job, "worker-1")["restarts"], 1);
  EXPECT_EQ(Replica(job, "worker-0")["restarts"], 0);
  EXPECT_TRUE(fs::exists(dir_ / "model" / "manifest.json"));
  const std::string log = Job("logs resume --replica worker-1").out;
  const size_t restart = log.find("--- parasol: restart 1 of worker-1 ---");
  ASSERT_NE(restart, std::string::npos) << log;
  const size_t resumed = log.find("worker 1/2: resumed after batch ", restart);
  ASSERT_NE(resumed, std::string::npos) << log;
  EXPECT_GT(std::stoll(log.substr(resumed + 32)), 0) << log;
}

// A killed parameter server of a kind-train job restarts from the job's newest checkpoint
// (worker 0 checkpoints on train.checkpointEvery; the server's --restore-latest), not from its
// initial weights.
TEST_F(ControlCliTest, KilledParameterServerRestartsFromTheJobsCheckpoint) {
  const std::string d = dir_.string();
  ASSERT_EQ(
      RunParasol("gen --rows 4000 --features 8 --vocab 2000 --seed 6 --out " + d + "/c.svm").code,
      0);
  const std::string spec = "name: ckpt\nkind: train\nworkingDir: " + d +
                           "\nrestartPolicy: OnFailure\nbackoffLimit: 2\n"
                           "train:\n  servers: 2\n  workers: 1\n  checkpointEvery: \"50\"\n"
                           "  args: {train: c.svm, out: cmodel, epochs: 100, batch-size: 64}\n";
  ASSERT_EQ(Job("submit -f " + WriteSpec("ckpt.yaml", spec)).code, 0);
  const fs::path latest = dir_ / "cmodel/checkpoints/LATEST";
  const std::vector<std::string> ps1 = {"PARASOL_REPLICA=ps-1"};
  std::vector<pid_t> pids;
  for (int i = 0; i < 1500; ++i) {  // until worker 0 has written a checkpoint
    if (fs::exists(latest)) {
      pids = ProcessesWith(ps1, "ps server");
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(pids.size(), 1u) << Job("logs ckpt --replica worker-0").out;
  ASSERT_EQ(kill(pids[0], SIGKILL), 0);

  WaitForState("ckpt", "Succeeded");
  const json job = WaitForState("ckpt", "Stopped", "ps-0");
  EXPECT_EQ(Replica(job, "ps-1")["restarts"], 1) << job.dump();
  EXPECT_EQ(Replica(job, "ps-0")["restarts"], 0);
  EXPECT_TRUE(fs::exists(dir_ / "cmodel" / "manifest.json"));
  const std::string log = Job("logs ckpt --replica ps-1").out;
  const size_t restart = log.find("--- parasol: restart 1 of ps-1 ---");
  ASSERT_NE(restart, std::string::npos) << log;
  const size_t restored = log.find("ps server: restored ", restart);
  ASSERT_NE(restored, std::string::npos) << log;
  EXPECT_NE(log.find("(shard 1 of 2) from cmodel/checkpoints/ckpt-", restored), std::string::npos)
      << log;
  EXPECT_EQ(log.find("ps server: restored "), restored) << "restored before it was killed";
  EXPECT_NE(Job("logs ckpt --replica worker-0").out.find("worker 0: checkpoint "),
            std::string::npos);
}

// kind serve: a model server on the replica's own port, kept running (restarted when killed, on
// the same port) until the job is stopped.
TEST_F(ControlCliTest, ServeJobRunsAModelServerUntilStoppedAndRestartsIt) {
  const std::string d = dir_.string();
  const std::string src = PARASOL_SOURCE_DIR;
  const CommandResult trained =
      RunParasol("train --config " + src + "/data/churn/model.yaml --train " + src +
                 "/data/churn/train.csv --epochs 2 --out " + d + "/models/churn/1");
  ASSERT_EQ(trained.code, 0) << trained.out;
  const std::string spec = "name: churn-serve\nkind: serve\nworkingDir: " + d +
                           "\nserve: {args: {model-base: models/churn}}\n";
  ASSERT_EQ(Job("submit -f " + WriteSpec("serve.yaml", spec)).code, 0);
  json job = WaitForState("churn-serve", "Running", "server-0");
  const int port = Replica(job, "server-0")["port"].get<int>();
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(1, 0);
  // GET /v1/models/churn on the replica's port until version 1 is AVAILABLE (30 s at most).
  auto available = [&] {
    for (int i = 0; i < 300; ++i) {
      auto res = client.Get("/v1/models/churn");
      if (res && res->status == 200 && res->body.find("\"AVAILABLE\"") != std::string::npos) {
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  };
  ASSERT_TRUE(available()) << Job("logs churn-serve").out;
  auto res =
      client.Post("/v1/models/churn:predict",
                  R"({"instances": [{"tenure": 45, "contract": "One year"}]})", "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const double p = json::parse(res->body)["predictions"][0].get<double>();
  EXPECT_GT(p, 0.0);
  EXPECT_LT(p, 1.0);

  // Killed: restarted under the default OnFailure, on the same port.
  const std::vector<std::string> server = {"PARASOL_REPLICA=server-0", d + "/state/"};
  const std::vector<pid_t> pids =
      ProcessesWith(server, " serve --rest-port " + std::to_string(port));
  ASSERT_EQ(pids.size(), 1u);
  ASSERT_EQ(kill(pids[0], SIGKILL), 0);
  for (int i = 0; i < 300; ++i) {
    job = Describe("churn-serve");
    if (Replica(job, "server-0")["restarts"] == 1 && Replica(job, "server-0")["state"] == "Running")
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(job["state"], "Running") << job.dump();
  EXPECT_EQ(Replica(job, "server-0")["restarts"], 1) << job.dump();
  EXPECT_EQ(Replica(job, "server-0")["port"], port);
  EXPECT_TRUE(available()) << Job("logs churn-serve").out;

  // Stopped: the job ends Stopped and no server is left.
  ASSERT_EQ(Job("stop churn-serve").code, 0);
  job = WaitForState("churn-serve", "Stopped", "server-0");
  EXPECT_EQ(job["state"], "Stopped");
  EXPECT_TRUE(ProcessesWith(server, " serve ").empty());
  EXPECT_FALSE(client.Get("/v1/models/churn"));
}

TEST_F(ControlCliTest, ReplicasReportMetricsThroughTheirMetricsFile) {
  const std::string spec = R"(name: curves
kind: custom
replicas:
  worker:
    count: 2
    command: ["sh", "-c", "for s in 1 2 3; do echo \"{\\\"step\\\": $s, \\\"loss\\\": 0.$((9 - s - PARASOL_REPLICA_INDEX))}\" >> $PARASOL_METRICS_FILE; done; echo garbage >> $PARASOL_METRICS_FILE"]
)";
  ASSERT_EQ(Job("submit --watch -f " + WriteSpec("curves.yaml", spec)).code, 0);
  json metrics;
  for (int i = 0; i < 100; ++i) {
    metrics = Json("metrics curves --json");
    if (metrics["series"].size() == 2 && metrics["series"][1]["points"].size() == 3) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(metrics["series"].size(), 2u) << metrics.dump();
  EXPECT_EQ(metrics["series"][0]["replica"], "worker-0");
  EXPECT_EQ(metrics["series"][0]["name"], "loss");
  const auto& points = metrics["series"][1]["points"];  // worker-1: 0.7, 0.6, 0.5
  ASSERT_EQ(points.size(), 3u) << metrics.dump();
  EXPECT_EQ(points[0][0], 1);
  EXPECT_DOUBLE_EQ(points[0][1].get<double>(), 0.7);
  EXPECT_DOUBLE_EQ(points[2][1].get<double>(), 0.5);
  // The line that was not JSON is counted, not ingested.
  EXPECT_EQ(Replica(Describe("curves"), "worker-1")["metricsBadLines"], 1);
}

TEST_F(ControlCliTest, JobsQueueForCpuAndGetDistinctGpus) {
  StartControl({"--cpus", "1", "--gpus", "2"});
  const std::string d = dir_.string();
  const std::string first = "name: first\nkind: custom\nworkingDir: " + d +
                            "\nresources: {cpu: 1}\nreplicas:\n  worker: {command: [sh, -c, "
                            "'while [ ! -f release ]; do sleep 0.05; done']}\n";
  const std::string second =
      "name: second\nkind: custom\nresources: {cpu: 1}\nreplicas:\n  worker: {command: [true]}\n";
  ASSERT_EQ(Job("submit -f " + WriteSpec("first.yaml", first)).code, 0);
  WaitForState("first", "Running");
  ASSERT_EQ(Job("submit -f " + WriteSpec("second.yaml", second)).code, 0);
  // The second job waits while the first holds the only core: once the service has tried to
  // place it (its reason is no longer "queued"), it stays Pending saying why.
  json waiting = Describe("second");
  for (int i = 0; i < 100 && waiting.value("reason", "") == "queued"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    waiting = Describe("second");
  }
  EXPECT_EQ(waiting["state"], "Pending");
  EXPECT_NE(waiting["reason"].get<std::string>().find("waiting for resources: needs cpu 1"),
            std::string::npos)
      << waiting.dump();
  std::ofstream(dir_ / "release") << "";
  WaitForState("first", "Succeeded");
  WaitForState("second", "Succeeded");

  // Two GPUs, one per worker, through CUDA_VISIBLE_DEVICES; a replica without one sees none.
  const std::string gpus =
      "name: gpus\nkind: custom\nreplicas:\n"
      "  worker: {count: 2, command: [sh, -c, 'echo \"gpu=$CUDA_VISIBLE_DEVICES\"'],"
      " resources: {gpu: 1}}\n";
  ASSERT_EQ(Job("submit --watch -f " + WriteSpec("gpus.yaml", gpus)).code, 0);
  const std::string w0 = Job("logs gpus --replica worker-0").out;
  const std::string w1 = Job("logs gpus --replica worker-1").out;
  EXPECT_TRUE((w0 == "gpu=0\n" && w1 == "gpu=1\n") || (w0 == "gpu=1\n" && w1 == "gpu=0\n"))
      << w0 << w1;
  const std::string cpu_only =
      "name: cpu-only\nkind: custom\nreplicas:\n"
      "  main: {command: [sh, -c, 'echo \"gpu=${CUDA_VISIBLE_DEVICES-unset}\"']}\n";
  ASSERT_EQ(Job("submit --watch -f " + WriteSpec("cpu-only.yaml", cpu_only)).code, 0);
  EXPECT_EQ(Job("logs cpu-only --replica main-0").out, "gpu=\n");
  const CommandResult greedy =
      Job("submit -f " + WriteSpec("greedy.yaml",
                                   "name: greedy\nkind: custom\nresources: {gpu: 3}\n"
                                   "replicas: {worker: {command: [true]}}\n"));
  EXPECT_EQ(greedy.code, 1);
  EXPECT_NE(greedy.out.find("gpu 3"), std::string::npos) << greedy.out;
}

TEST_F(ControlCliTest, DeadlineStopAndFollowedLogs) {
  const std::string slow =
      "name: slow\nkind: custom\nactiveDeadlineSeconds: 1\n"
      "replicas: {worker: {command: [sleep, '600']}}\n";
  const CommandResult watched = Job("submit --watch -f " + WriteSpec("slow.yaml", slow));
  EXPECT_EQ(watched.code, 1) << watched.out;
  const json slow_job = Describe("slow");
  EXPECT_EQ(slow_job["state"], "Failed");
  EXPECT_NE(slow_job["reason"].get<std::string>().find("DeadlineExceeded"), std::string::npos);
  EXPECT_EQ(Replica(slow_job, "worker-0")["state"], "Stopped");

  const std::string chatty =
      "name: chatty\nkind: custom\nreplicas:\n"
      "  ps: {command: [sh, -c, 'echo serving; exec sleep 600']}\n"
      "  worker: {command: [sh, -c, 'for i in 1 2 3; do echo line $i; sleep 0.2; done']}\n";
  ASSERT_EQ(Job("submit -f " + WriteSpec("chatty.yaml", chatty)).code, 0);
  // -f follows until the replicas end: each line once, prefixed by its replica.
  const CommandResult followed = Job("logs chatty -f");
  EXPECT_EQ(followed.code, 0) << followed.out;
  EXPECT_NE(followed.out.find("[worker-0] line 1\n"), std::string::npos) << followed.out;
  EXPECT_NE(followed.out.find("[worker-0] line 3\n"), std::string::npos) << followed.out;
  EXPECT_NE(followed.out.find("[ps-0] serving\n"), std::string::npos) << followed.out;
  EXPECT_EQ(followed.out.find("line 3", followed.out.find("line 3") + 1), std::string::npos);

  const std::string forever =
      "name: forever\nkind: custom\nreplicas: {worker: {count: 2, command: [sleep, '600']}}\n";
  ASSERT_EQ(Job("submit -f " + WriteSpec("forever.yaml", forever)).code, 0);
  const json running = WaitForState("forever", "Running");
  const CommandResult stop = Job("stop forever");
  EXPECT_EQ(stop.code, 0) << stop.out;
  EXPECT_NE(stop.out.find("Stopped"), std::string::npos) << stop.out;
  const json stopped = WaitForState("forever", "Stopped", "worker-1");
  for (const char* r : {"worker-0", "worker-1"}) {
    const std::string address =
        "127.0.0.1:" + std::to_string(Replica(running, r)["port"].get<int>());
    for (int i = 0; i < 100 && ProcessesWithEnv(address) > 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    EXPECT_EQ(ProcessesWithEnv(address), 0) << r;
  }
  // Deleting forgets the job and its logs; the name is free again.
  EXPECT_EQ(Job("delete forever").code, 0);
  EXPECT_EQ(Job("describe forever").code, 1);
  EXPECT_FALSE(fs::exists(dir_ / "state" / "jobs" / "forever"));
  EXPECT_EQ(Job("submit -f " + dir_.string() + "/forever.yaml").code, 0);
}

TEST_F(ControlCliTest, KubernetesBackendReportsWhatTheApiServerSays) {
  // No cluster here: the API server address is closed, so creating the objects fails, and the
  // job says why. (The backend against API responses: src/control/k8s_api_test.cc.)
  std::ofstream(dir_ / "kubeconfig")
      << "current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u, namespace: "
         "ml}}]\nclusters: [{name: k, cluster: {server: 'http://127.0.0.1:1'}}]\n"
         "users: [{name: u, user: {token: t}}]\n";
  StartControl({"--backend", "k8s", "--kubeconfig", (dir_ / "kubeconfig").string()});
  const CommandResult no_image = Job("submit -f " + kHelloSpec);
  EXPECT_EQ(no_image.code, 2) << no_image.out;
  EXPECT_NE(no_image.out.find("image: required"), std::string::npos) << no_image.out;
  std::string spec = ReadFile(kHelloSpec) + "image: busybox:1.36\n";
  ASSERT_EQ(Job("submit -f " + WriteSpec("hello.yaml", spec)).code, 0);
  const json job = WaitForState("hello", "Failed");
  EXPECT_NE(job["reason"].get<std::string>().find("create Service/hello: cannot reach"),
            std::string::npos)
      << job.dump();
}

// `parasol job` against a service whose replies are malformed (a real HTTP server on a port of
// the kernel's choice answering wrong JSON): a clear error naming the request and the field, and
// exit 1, never a crash.
TEST(ControlCliReplyTest, MalformedRepliesAreErrorsNamingTheField) {
  httplib::Server server;
  std::mutex mu;
  std::string body;
  auto answer = [&](const httplib::Request&, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu);
    res.set_content(body, "application/json");
  };
  server.Get(".*", answer);
  server.Post(".*", answer);
  server.Delete(".*", answer);
  const int port = server.bind_to_any_port("127.0.0.1");
  ASSERT_GT(port, 0);
  std::thread serving([&] { server.listen_after_bind(); });
  const std::string endpoint = " --endpoint http://127.0.0.1:" + std::to_string(port);
  const struct {
    std::string command, reply, error;
  } cases[] = {
      {"describe j", R"({"name": "j", "kind": "custom", "state": 3})",
       "malformed reply to GET /api/v1/jobs/j: state: expected a string, got 3"},
      {"describe j", "{}", "malformed reply to GET /api/v1/jobs/j: name: missing"},
      {"describe j --json", "[]",
       "malformed reply to GET /api/v1/jobs/j: the reply: expected an "
       "object, got []"},
      {"list", R"({"jobs": {}})", "malformed reply to GET /api/v1/jobs: jobs: expected an array"},
      {"metrics j", R"({"series": [{"replica": "w", "name": "loss", "points": [["x", 1]]}]})",
       "series[0].points[0][0]: expected a number, got \"x\""},
      {"stop j", "nothing", "sent bad JSON to POST /api/v1/jobs/j/stop"},
      {"delete j", R"({"deleted": 1})",
       "malformed reply to DELETE /api/v1/jobs/j: deleted: expected true or false, got 1"},
      {"logs j", R"({"name": "j"})", "malformed reply to GET /api/v1/jobs/j: kind: missing"},
  };
  for (const auto& c : cases) {
    {
      std::lock_guard<std::mutex> lock(mu);
      body = c.reply;
    }
    const CommandResult r = RunParasol("job " + c.command + endpoint);
    EXPECT_EQ(r.code, 1) << c.command << " answered " << c.reply << ": " << r.out;
    EXPECT_NE(r.out.find("parasol: error: the control service sent"), std::string::npos)
        << c.command << ": " << r.out;
    EXPECT_NE(r.out.find(c.error), std::string::npos) << c.command << ": " << r.out;
  }
  server.stop();
  serving.join();
}

}  // namespace
