// Workflows end to end (issue 13): the real `parasol control` service runs each step as a job
// of real processes, `parasol workflow` is the client, and the gate and deploy steps work against
// a real `parasol serve` polling its model base.

#include "tests/control_cli_fixture.h"

namespace {

class WorkflowCliTest : public ControlCliTest {
 protected:
  CommandResult Workflow(const std::string& args) {
    return RunParasol("workflow " + args + " --endpoint " + endpoint_);
  }
  // The run's name from the first line of `workflow run`'s output ("run NAME").
  static std::string RunName(const CommandResult& r) {
    if (r.out.rfind("run ", 0) != 0) {
      ADD_FAILURE() << "no 'run NAME' first line: " << r.out;
      return "";
    }
    return r.out.substr(4, r.out.find('\n') - 4);
  }
  json DescribeRun(const std::string& run) {
    const CommandResult r = Workflow("describe " + run + " --json");
    EXPECT_EQ(r.code, 0) << r.out;
    return json::parse(r.out, nullptr, false);
  }
  static const json& Step(const json& run, const std::string& name) {
    for (const auto& s : run["steps"]) {
      if (s["name"] == name) return s;
    }
    static const json kNone = json::object();
    ADD_FAILURE() << "no step " << name << " in " << run.dump();
    return kNone;
  }
};

TEST_F(WorkflowCliTest, BadSpecsAreRejectedNamingTheField) {
  const std::string head = "name: wf\nkind: workflow\nsteps:\n";
  const std::string job = "    job: {kind: custom, replicas: {main: {command: [\"true\"]}}}\n";
  struct Case {
    std::string body, expect;
  };
  const std::vector<Case> cases = {
      // A cycle names the step whose dependsOn closes it and the cycle.
      {"  - name: a\n    dependsOn: [b]\n" + job + "  - name: b\n    dependsOn: [a]\n" + job,
       "wf.yaml:8: steps[1].dependsOn: cycle: a -> b -> a (each depends on the next)"},
      {"  - name: a\n" + job + "  - name: b\n    dependsOn: [aa]\n" + job,
       "wf.yaml:7: steps[1].dependsOn[0]: unknown step 'aa', did you mean 'a'?"},
      {"  - name: train\n    train: {train: t.svm}\n  - name: ev\n    dependsOn: [train]\n"
       "    eval: {model: \"{{steps.train.outputs.modle}}\", data: t.svm}\n",
       "wf.yaml:8: steps[1].eval.model: {{steps.train.outputs.modle}}: step 'train' has no "
       "output 'modle' (it has: model)"},
      {"  - name: a\n" + job + "  - name: b\n    when: \"{{steps.a.outputs.x}} == 1\"\n" + job,
       "step 'a' is not among the dependsOn of 'b'"},
      {"  - name: g\n    gate: {candidate: m, data: d, metrics: {auc: {min: 0.9, max: 0.8}}}\n",
       "wf.yaml:5: steps[0].gate.metrics.auc.min: min 0.9 is greater than max 0.8"},
      {"  - name: g\n    gate: {candidate: m, data: d, metrics: {acu: {min: 0.9}}}\n",
       "steps[0].gate.metrics.acu: unknown metric 'acu', did you mean 'auc'?"},
  };
  for (const auto& c : cases) {
    const CommandResult r = Workflow("run -f " + WriteSpec("wf.yaml", head + c.body));
    EXPECT_EQ(r.code, 2) << r.out;
    EXPECT_NE(r.out.find(c.expect), std::string::npos) << "expected: " << c.expect << "\n" << r.out;
  }
  // Params: an unknown --set and a missing required one are named.
  const std::string with_param =
      "name: wf\nkind: workflow\nparams: {base: ~}\nsteps:\n  - name: a\n" + job;
  const std::string spec = WriteSpec("p.yaml", with_param);
  EXPECT_NE(Workflow("run -f " + spec).out.find("params.base: required"), std::string::npos);
  EXPECT_NE(Workflow("run -f " + spec + " --set base=x --set bse=y").out.find("no param 'bse'"),
            std::string::npos);
}

// A step that fails is retried (a new job per attempt); one that fails beyond its retries fails
// the run; rerun --from that step runs it and the steps after it again, keeping what succeeded.
TEST_F(WorkflowCliTest, FailedStepIsRetriedThenRerunFromThatStep) {
  const std::string spec = WriteSpec("retry.yaml", R"(name: retry
kind: workflow
steps:
  - name: first
    job: {kind: custom, replicas: {main: {command: [sh, -c, "echo 42 > {{outputs.answer}}"]}}}
    outputs: [answer]
  - name: once
    dependsOn: [first]
    retries: 1
    job: {kind: custom, replicas: {main: {command: [sh, -c, "[ -f {{step.dir}}/seen ] || { touch {{step.dir}}/seen; exit 3; }"]}}}
  - name: flaky
    dependsOn: [once]
    retries: 1
    job: {kind: custom, replicas: {main: {command: [sh, -c, "echo try >> {{step.dir}}/tries; test -f {{run.dir}}/ok"]}}}
  - name: last
    dependsOn: [flaky]
    job: {kind: custom, replicas: {main: {command: [sh, -c, "cat {{steps.first.outputs.answer}} > {{step.dir}}/copy"]}}}
)");
  const CommandResult r = Workflow("run --watch -f " + spec);
  EXPECT_EQ(r.code, 1) << r.out;
  const std::string run = RunName(r);
  json d = DescribeRun(run);
  EXPECT_EQ(d["state"], "Failed") << d.dump();
  EXPECT_EQ(Step(d, "first")["state"], "Succeeded");
  EXPECT_EQ(Step(d, "once")["state"], "Succeeded");
  EXPECT_EQ(Step(d, "once")["attempts"].size(), 2u) << d.dump();  // failed once, then retried
  EXPECT_EQ(Step(d, "flaky")["state"], "Failed");
  EXPECT_EQ(Step(d, "flaky")["attempts"].size(), 2u) << d.dump();
  EXPECT_EQ(Step(d, "last")["state"], "Skipped");
  const fs::path run_dir = d["dir"].get<std::string>();
  EXPECT_EQ(ReadFile(run_dir / "flaky" / "tries"), "try\ntry\n");
  // Each attempt was a job of the control plane, kept with its log.
  const std::string flaky_job = Step(d, "flaky")["job"];
  EXPECT_EQ(Describe(flaky_job)["state"], "Failed");

  std::ofstream(run_dir / "ok") << "";
  const CommandResult again = Workflow("rerun " + run + " --from flaky");
  EXPECT_EQ(again.code, 0) << again.out;
  EXPECT_EQ(RunName(again), run);
  d = DescribeRun(run);
  EXPECT_EQ(d["state"], "Succeeded") << d.dump();
  EXPECT_EQ(Step(d, "first")["attempts"].size(), 1u);  // not run again
  EXPECT_EQ(Step(d, "once")["attempts"].size(), 2u);
  EXPECT_EQ(Step(d, "flaky")["attempts"].size(), 3u);
  EXPECT_EQ(ReadFile(run_dir / "last" / "copy"), "42\n");
  EXPECT_EQ(ProcessesWithEnv("PARASOL_RUN=" + run), 0);  // no step left a process behind
}

// A step past its timeout is stopped and fails the run; a false `when` skips its step and the
// steps after it.
TEST_F(WorkflowCliTest, TimeoutsAndConditions) {
  const std::string spec = WriteSpec("cond.yaml", R"(name: cond
kind: workflow
params: {mode: fast}
steps:
  - name: slow
    timeoutSeconds: 1
    job: {kind: custom, replicas: {main: {command: [sleep, "60"]}}}
  - name: only-slow
    when: "{{params.mode}} == slow"
    job: {kind: custom, replicas: {main: {command: ["true"]}}}
  - name: after
    dependsOn: [only-slow]
    job: {kind: custom, replicas: {main: {command: ["true"]}}}
  - name: only-fast
    when: "{{params.mode}} != slow"
    job: {kind: custom, replicas: {main: {command: ["true"]}}}
)");
  const CommandResult r = Workflow("run -f " + spec);
  EXPECT_EQ(r.code, 1) << r.out;
  const std::string run = RunName(r);
  const json d = DescribeRun(run);
  EXPECT_EQ(d["state"], "Failed") << d.dump();
  EXPECT_EQ(Step(d, "slow")["state"], "Failed");
  EXPECT_NE(Step(d, "slow")["reason"].get<std::string>().find("DeadlineExceeded"),
            std::string::npos)
      << d.dump();
  EXPECT_EQ(Step(d, "only-slow")["state"], "Skipped");
  EXPECT_EQ(Step(d, "only-slow")["reason"], "when 'fast == slow' is false");
  EXPECT_EQ(Step(d, "after")["state"], "Skipped");
  EXPECT_EQ(Step(d, "only-fast")["state"], "Succeeded");
  for (int i = 0; i < 100 && ProcessesWithEnv("PARASOL_RUN=" + run) > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(ProcessesWithEnv("PARASOL_RUN=" + run), 0);  // the timed-out sleep was stopped
}

// The service is killed (SIGKILL) while a step runs; the restarted service finds the step's job
// and finishes the run without starting any step twice.
TEST_F(WorkflowCliTest, ControlServiceRestartMidRunLosesNothing) {
  const std::string marker = dir_.string() + "/go";
  const std::string spec = R"(name: slow
kind: workflow
steps:
  - name: wait
    job: {kind: custom, replicas: {main: {command: [sh, -c, "echo started >> {{step.dir}}/starts; while [ ! -f )" +
                           marker + R"( ]; do sleep 0.1; done"]}}}
  - name: after
    dependsOn: [wait]
    job: {kind: custom, replicas: {main: {command: ["true"]}}}
)";
  httplib::Client client(endpoint_);
  auto res =
      client.Post("/api/v1/workflows/runs", json({{"spec", spec}, {"source", "slow.yaml"}}).dump(),
                  "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 201) << res->body;
  const std::string run = json::parse(res->body)["name"];
  json d;
  for (int i = 0; i < 300 && Step(d = DescribeRun(run), "wait").value("state", "") != "Running";
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(Step(d, "wait")["state"], "Running") << d.dump();
  control_->Stop(SIGKILL);
  control_.reset();
  StartControl();
  std::ofstream(marker) << "";
  for (int i = 0; i < 300 && (d = DescribeRun(run))["state"] == "Running"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(d["state"], "Succeeded") << d.dump();
  EXPECT_EQ(Step(d, "wait")["attempts"].size(), 1u);
  EXPECT_EQ(ReadFile(fs::path(d["dir"].get<std::string>()) / "wait" / "starts"), "started\n");
  // REST errors come through wire/: an unknown run is 404 with the code.
  httplib::Client restarted(endpoint_);
  auto missing = restarted.Get("/api/v1/workflows/runs/nope");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_NE(missing->body.find("NOT_FOUND"), std::string::npos) << missing->body;
}

// data/churn/pipeline.yaml against a real `parasol serve`: a worse candidate is blocked by the
// gate and never reaches the server; an operator's blessing is recorded; a candidate as good as
// the served model is deployed as the next version and served.
TEST_F(WorkflowCliTest, GateBlocksAWorseCandidateAndDeploysAGoodOne) {
  const std::string src = PARASOL_SOURCE_DIR;
  const fs::path base = dir_ / "models" / "churn";
  fs::create_directories(base);
  ASSERT_EQ(RunParasol("train --config " + src + "/data/churn/model.yaml --train " + src +
                       "/data/churn/train.csv --out " + (base / "1").string())
                .code,
            0);
  parasol::SpawnOptions o;
  o.argv = {PARASOL_BINARY, "serve", "--model-base",   base.string(), "--rest-port", "0",
            "--port",       "0",     "--poll-seconds", "0.2"};
  o.capture_stdout = true;
  o.die_with_parent = true;
  auto serve = parasol::Subprocess::Spawn(o);
  ASSERT_TRUE(serve.ok()) << serve.status();
  const std::string line = (*serve)->ReadLine();
  ASSERT_EQ(line.rfind("REST listening on ", 0), 0u) << line;
  const std::string server = "http://" + line.substr(18);

  // A candidate trained on 200 rows only: worse than the served model.
  std::ifstream in(src + "/data/churn/train.csv");
  std::ofstream small(dir_ / "small.csv");
  std::string row;
  for (int i = 0; i < 201 && std::getline(in, row); ++i) small << row << "\n";
  small.close();
  const std::string pipeline = src + "/data/churn/pipeline.yaml";
  const std::string sets = " --set model_base=" + base.string() + " --set server=" + server +
                           " --set config=" + src + "/data/churn/model.yaml --set valid=" + src +
                           "/data/churn/test.csv";
  const CommandResult worse =
      Workflow("run -f " + pipeline + sets + " --set train=" + (dir_ / "small.csv").string());
  EXPECT_EQ(worse.code, 1) << worse.out;
  const std::string run = RunName(worse);
  json d = DescribeRun(run);
  EXPECT_EQ(d["state"], "Blocked") << d.dump();
  const json& gate = Step(d, "gate");
  EXPECT_EQ(gate["verdict"], "NOT_BLESSED") << d.dump();
  EXPECT_EQ(gate["figures"]["baselineModel"], (base / "1").string());
  EXPECT_LT(gate["figures"]["candidate"]["auc"].get<double>(),
            gate["figures"]["baseline"]["auc"].get<double>() - 0.001);
  bool change_failed = false;
  for (const auto& c : gate["figures"]["checks"]) {
    if (c["rule"] == "change >= -0.001") change_failed = !c["passed"].get<bool>();
  }
  EXPECT_TRUE(change_failed) << gate.dump();
  EXPECT_EQ(Step(d, "deploy")["state"], "Skipped");
  EXPECT_FALSE(fs::exists(base / "2"));  // never reached the server
  httplib::Client serve_client(server);
  auto status = serve_client.Get("/v1/models/churn");
  ASSERT_TRUE(status);
  EXPECT_EQ(json::parse(status->body)["model_version_status"].size(), 1u) << status->body;
  const CommandResult table = Workflow("describe " + run);
  EXPECT_NE(table.out.find("Gate gate: NOT_BLESSED"), std::string::npos) << table.out;

  // The full training data: as good as the served model (same config, one thread), so blessed
  // and deployed as version 2, which the server then serves.
  const CommandResult good = Workflow("run --watch -f " + pipeline + sets + " --set train=" + src +
                                      "/data/churn/train.csv");
  EXPECT_EQ(good.code, 0) << good.out;
  d = DescribeRun(RunName(good));
  EXPECT_EQ(d["state"], "Succeeded") << d.dump();
  EXPECT_EQ(Step(d, "gate")["verdict"], "BLESSED") << d.dump();
  EXPECT_EQ(Step(d, "deploy")["outputs"]["version"], "2") << d.dump();
  EXPECT_TRUE(fs::exists(base / "2" / "manifest.json"));
  status = serve_client.Get("/v1/models/churn");
  ASSERT_TRUE(status);
  bool serves_2 = false;
  const json versions = json::parse(status->body)["model_version_status"];
  for (const auto& v : versions) {
    serves_2 |= v["version"] == "2" && v["state"] == "AVAILABLE";
  }
  EXPECT_TRUE(serves_2) << status->body;

  // The blocked run, blessed by hand with a reason: its deploy runs (version 3).
  EXPECT_EQ(Workflow("bless " + run + " --step gate").code, 2);  // --reason is required
  const CommandResult blessed = Workflow("bless " + run + " --step gate --reason 'ok for a test'");
  EXPECT_EQ(blessed.code, 0) << blessed.out;
  for (int i = 0; i < 600 && (d = DescribeRun(run))["state"] == "Running"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(d["state"], "Succeeded") << d.dump();
  EXPECT_EQ(Step(d, "gate")["figures"]["manual"]["reason"], "ok for a test");
  EXPECT_EQ(Step(d, "deploy")["outputs"]["version"], "3") << d.dump();
  (*serve)->Stop(SIGTERM);
}

}  // namespace
