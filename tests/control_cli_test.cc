// The control plane end to end: the real `parasol control` service on a free loopback port with
// its SQLite file, real replica processes, and the real `parasol job` CLI.

#include "tests/control_cli_fixture.h"

namespace {

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
  EXPECT_NE(r.out.find("bad.yaml:4: replicas.worker.count: expected a positive integer"),
            std::string::npos)
      << r.out;
  const CommandResult typo =
      Job("submit -f " + WriteSpec("typo.yaml",
                                   "name: t\nkind: custom\nreplicas: {w: {command: [x]}}\n"
                                   "restartpolicy: Never\n"));
  EXPECT_EQ(typo.code, 2);
  EXPECT_NE(typo.out.find("typo.yaml:4: restartpolicy: unknown key, did you mean 'restartPolicy'?"),
            std::string::npos)
      << typo.out;
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
  // A job as the service writes it, but for one replica's exit code sent as text.
  const std::string kJobWithTextExitCode =
      R"({"name": "j", "kind": "custom", "state": "Failed", "reason": "", "createdAt": 1,
          "startedAt": 1, "finishedAt": 2, "restarts": 0,
          "spec": {"restartPolicy": "Never", "backoffLimit": 3},
          "replicas": [{"name": "w-0", "state": "Failed", "reason": "", "restarts": 0,
                        "pid": 0, "port": 1, "exitCode": "3"}]})";
  const struct {
    std::string command, reply, error;
  } cases[] = {
      {"describe j", R"({"name": "j", "kind": "custom", "state": 3})",
       "malformed reply to GET /api/v1/jobs/j: state: expected a string, got '3'\n"},
      {"describe j", "{}", "malformed reply to GET /api/v1/jobs/j: name: required\n"},
      {"describe j", kJobWithTextExitCode,
       "malformed reply to GET /api/v1/jobs/j: replicas[0].exitCode: expected an integer, got "
       "the string \"3\"\n"},
      {"describe j --json", "[]",
       "malformed reply to GET /api/v1/jobs/j: expected a mapping, got a list\n"},
      {"list", R"({"jobs": {}})",
       "malformed reply to GET /api/v1/jobs: jobs: expected a list, got a mapping\n"},
      {"metrics j", R"({"series": [{"replica": "w", "name": "loss", "points": [["x", 1]]}]})",
       "malformed reply to GET /api/v1/jobs/j/metrics: series[0].points[0][0]: expected a "
       "number, got the string \"x\"\n"},
      {"stop j", "nothing", "sent bad JSON to POST /api/v1/jobs/j/stop"},
      {"delete j", R"({"deleted": 1})",
       "malformed reply to DELETE /api/v1/jobs/j: deleted: expected true or false, got '1'\n"},
      {"logs j", R"({"name": "j"})", "malformed reply to GET /api/v1/jobs/j: kind: required\n"},
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
