// Control-plane `kind: train` jobs end to end: the built-in trainer, distributed jobs, a killed
// worker resuming its share and a killed parameter server restarting from the job's checkpoint.

#include "tests/control_cli_fixture.h"

namespace {

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
  const std::vector<pid_t> pids = ProcessesOnceReady(
      [&] {  // worker 1 has finished 3 epochs
        const std::string lines = ReadFile(metrics);
        return std::count(lines.begin(), lines.end(), '\n') >= 3;
      },
      worker1, "ps worker", 600);
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
  // Once worker 0 has written a checkpoint.
  const std::vector<pid_t> pids =
      ProcessesOnceReady([&] { return fs::exists(latest); }, ps1, "ps server", 1500);
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

}  // namespace
