// `parasol cluster` as a control-plane job: the kind-train spec it builds (and what the local
// backend runs for it), and the "cluster: ..." lines it derives from the job's record. The
// processes themselves are tested end to end in tests/cluster_test.cc and
// tests/ps_checkpoint_test.cc.
#include "distributed/local_cluster.h"

#include "common/log.h"
#include "gtest/gtest.h"

namespace parasol {
namespace {

using control::JobRecord;
using control::JobState;
using control::ReplicaState;
using control::ReplicaStatus;

LocalClusterOptions TwoByTwo() {
  LocalClusterOptions o;
  o.out_dir = "m";
  o.servers = 2;
  o.workers = 2;
  o.checkpoint_every = "30s";
  o.checkpoint_root = "m/checkpoints";
  o.keep_checkpoints = 2;
  o.restore = "old/ckpt-000004";
  o.max_restarts = 5;
  o.train_flags = {{"train", "a.svm"}, {"k", "4"}};
  return o;
}

TEST(LocalClusterTest, IsAKindTrainJobRestartingKilledReplicasWithinMaxRestarts) {
  const control::JobSpec spec = LocalClusterJob(TwoByTwo(), "/work/dir");
  EXPECT_EQ(spec.kind, control::JobKind::kTrain);
  EXPECT_EQ(spec.working_dir, "/work/dir");
  EXPECT_EQ(spec.restart_policy, control::RestartPolicy::kExitCode);
  EXPECT_EQ(spec.backoff_limit, 5);
  auto again = control::ParseJobSpec(control::JobSpecToJson(spec), "json");
  ASSERT_TRUE(again.ok()) << again.status() << control::JobSpecToJson(spec);
  EXPECT_EQ(*again, spec);  // a valid spec, which the control plane could run as well

  const control::JobSpec expanded = control::ExpandJob(spec, "/bin/parasol");
  ASSERT_EQ(expanded.replicas.size(), 2u);
  EXPECT_EQ(expanded.replicas[0].count, 2);
  EXPECT_EQ(
      expanded.replicas[0].command,
      (std::vector<std::string>{"/bin/parasol", "ps", "server", "--checkpoint-dir", "m/checkpoints",
                                "--restore-latest", "--restore", "old/ckpt-000004", "--", "--train",
                                "a.svm", "--k", "4", "--out", "m"}));
  EXPECT_EQ(expanded.replicas[1].count, 2);
  EXPECT_EQ(
      expanded.replicas[1].command,
      (std::vector<std::string>{"/bin/parasol", "ps", "worker", "--resume", "--checkpoint-every",
                                "30s", "--checkpoint-dir", "m/checkpoints", "--keep-checkpoints",
                                "2", "--train", "a.svm", "--k", "4", "--out", "m"}));
}

TEST(LocalClusterTest, WithoutCheckpointsNeitherServersNorWorkersGetCheckpointFlags) {
  LocalClusterOptions o = TwoByTwo();
  o.checkpoint_every = "";
  o.checkpoint_root = "";
  o.restore = "";
  const control::JobSpec expanded = control::ExpandJob(LocalClusterJob(o, "/w"), "/bin/parasol");
  ASSERT_EQ(expanded.replicas.size(), 2u);
  EXPECT_EQ(expanded.replicas[0].command,
            (std::vector<std::string>{"/bin/parasol", "ps", "server", "--", "--train", "a.svm",
                                      "--k", "4", "--out", "m"}));
  EXPECT_EQ(expanded.replicas[1].command,
            (std::vector<std::string>{"/bin/parasol", "ps", "worker", "--resume", "--train",
                                      "a.svm", "--k", "4", "--out", "m"}));
}

ReplicaStatus Replica(const std::string& role, int index, int64_t pid, int port) {
  ReplicaStatus r;
  r.name = role + "-" + std::to_string(index);
  r.role = role;
  r.index = index;
  r.state = ReplicaState::kRunning;
  r.pid = pid;
  r.port = port;
  return r;
}

TEST(LocalClusterTest, LogSaysWhatTheSupervisorDidInTheClusterLines) {
  JobRecord job;
  job.spec = LocalClusterJob(TwoByTwo(), "/w");
  job.spec.backoff_limit = 3;
  job.replicas = {Replica("ps", 0, 11, 7001), Replica("ps", 1, 12, 7002),
                  Replica("worker", 0, 21, 7003), Replica("worker", 1, 22, 7004)};
  // No checkpoint under the root yet: a restarted server comes back from --restore.
  LocalClusterLog events("/nonexistent/checkpoints", "old/ckpt-000004");
  log::ScopedCapture capture;
  job.state = JobState::kPending;
  events.Report(job);  // nothing while the job waits
  job.state = JobState::kRunning;
  events.Report(job);
  events.Report(job);  // nothing changed: nothing said
  // Worker 1 killed, server 1 died: both to be restarted after their backoff.
  for (int i : {1, 3}) {
    job.replicas[i].state = ReplicaState::kPending;
    job.replicas[i].exit_code = 137;
    job.replicas[i].restarts = 1;
  }
  events.Report(job);
  job.replicas[1].state = job.replicas[3].state = ReplicaState::kRunning;
  job.replicas[1].pid = 13;
  job.replicas[3].pid = 23;
  events.Report(job);
  EXPECT_EQ(capture.text(),
            "cluster: server 0 pid 11 on 127.0.0.1:7001\n"
            "cluster: server 1 pid 12 on 127.0.0.1:7002\n"
            "cluster: 2 servers (127.0.0.1:7001, 127.0.0.1:7002), 2 workers\n"
            "cluster: worker 0 pid 21\n"
            "cluster: worker 1 pid 22\n"
            "cluster: server 1 died (exit 137); restart 1 of 3 from old/ckpt-000004\n"
            "cluster: worker 1 killed (signal 9); restart 2 of 3\n"
            "cluster: server 1 pid 13 on 127.0.0.1:7002\n"
            "cluster: worker 1 pid 23 (resuming)\n");
}

TEST(LocalClusterTest, FailureNamesTheReplicaAsTheLauncherAlwaysDid) {
  JobRecord job;
  job.spec = LocalClusterJob(TwoByTwo(), "/w");
  job.state = JobState::kFailed;
  job.replicas = {Replica("ps", 0, 11, 7001), Replica("worker", 0, 21, 7003)};
  job.replicas[1].state = ReplicaState::kFailed;
  job.replicas[1].exit_code = 1;
  EXPECT_EQ(LocalClusterLog::FailureOf(job), "worker 0 failed (exit 1); job stopped");
  job.replicas[1].state = ReplicaState::kSucceeded;
  job.replicas[0].state = ReplicaState::kFailed;
  job.replicas[0].exit_code = 137;
  job.replicas[0].restarts = 3;
  EXPECT_EQ(LocalClusterLog::FailureOf(job),
            "parameter server 0 died (exit 137) after 3 restarts; job stopped");
  job.replicas[0].exit_code.reset();
  job.replicas[0].reason = "no such file";
  EXPECT_EQ(LocalClusterLog::FailureOf(job),
            "parameter server 0 died (did not start: no such file) after 3 restarts; job stopped");
}

}  // namespace
}  // namespace parasol
