#include "control/lifecycle.h"

#include "gtest/gtest.h"

namespace parasol::control {
namespace {

TEST(LifecycleTest, RestartPolicyHonoursItsLimits) {
  EXPECT_EQ(OnReplicaExit(RestartPolicy::kNever, 0, 0, 3), ExitAction::kSucceed);
  EXPECT_EQ(OnReplicaExit(RestartPolicy::kNever, 1, 0, 3), ExitAction::kFail);
  EXPECT_EQ(OnReplicaExit(RestartPolicy::kOnFailure, 1, 0, 3), ExitAction::kRestart);
  EXPECT_EQ(OnReplicaExit(RestartPolicy::kOnFailure, 1, 2, 3), ExitAction::kRestart);
  EXPECT_EQ(OnReplicaExit(RestartPolicy::kOnFailure, 1, 3, 3), ExitAction::kFail);
  EXPECT_EQ(OnReplicaExit(RestartPolicy::kOnFailure, 137, 0, 0), ExitAction::kFail);
  EXPECT_EQ(OnReplicaExit(RestartPolicy::kExitCode, 1, 0, 3), ExitAction::kFail);
  EXPECT_EQ(OnReplicaExit(RestartPolicy::kExitCode, 127, 0, 3), ExitAction::kFail);
  EXPECT_EQ(OnReplicaExit(RestartPolicy::kExitCode, 128, 0, 3), ExitAction::kRestart);
  EXPECT_EQ(OnReplicaExit(RestartPolicy::kExitCode, 255, 0, 3), ExitAction::kRestart);
  EXPECT_EQ(OnReplicaExit(RestartPolicy::kExitCode, 143, 3, 3), ExitAction::kFail);
  EXPECT_EQ(OnReplicaExit(RestartPolicy::kOnFailure, -1, 0, 3), ExitAction::kRestart);  // lost
  EXPECT_EQ(OnReplicaExit(RestartPolicy::kExitCode, -1, 0, 3), ExitAction::kFail);
}

TEST(LifecycleTest, RestartDelayDoublesAndIsCapped) {
  EXPECT_DOUBLE_EQ(RestartDelaySeconds(1), 0.2);
  EXPECT_DOUBLE_EQ(RestartDelaySeconds(2), 0.4);
  EXPECT_DOUBLE_EQ(RestartDelaySeconds(3), 0.8);
  EXPECT_DOUBLE_EQ(RestartDelaySeconds(30), 10.0);
}

ReplicaSpec Role(const std::string& role, int count) {
  ReplicaSpec r;
  r.role = role;
  r.count = count;
  r.command = {"x"};
  return r;
}

ReplicaStatus Replica(const std::string& role, int index, ReplicaState state) {
  ReplicaStatus r;
  r.name = role + "-" + std::to_string(index);
  r.role = role;
  r.index = index;
  r.state = state;
  return r;
}

JobRecord PsWorkerJob(ReplicaState ps, ReplicaState w0, ReplicaState w1) {
  JobRecord job;
  job.spec.replicas = {Role("ps", 1), Role("worker", 2)};
  job.state = JobState::kRunning;
  job.replicas = {Replica("ps", 0, ps), Replica("worker", 0, w0), Replica("worker", 1, w1)};
  return job;
}

TEST(LifecycleTest, JobSucceedsWhenWorkersSucceedWhateverTheParameterServersDo) {
  using R = ReplicaState;
  EXPECT_FALSE(DecideOutcome(PsWorkerJob(R::kRunning, R::kRunning, R::kRunning)));
  EXPECT_FALSE(DecideOutcome(PsWorkerJob(R::kRunning, R::kSucceeded, R::kPending)));
  auto done = DecideOutcome(PsWorkerJob(R::kRunning, R::kSucceeded, R::kSucceeded));
  ASSERT_TRUE(done);
  EXPECT_EQ(done->state, JobState::kSucceeded);
  auto failed = DecideOutcome(PsWorkerJob(R::kRunning, R::kSucceeded, R::kFailed));
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->state, JobState::kFailed);
  EXPECT_NE(failed->reason.find("worker-1"), std::string::npos) << failed->reason;
  // A parameter server failing beyond its policy fails the job too.
  auto ps_failed = DecideOutcome(PsWorkerJob(R::kFailed, R::kRunning, R::kRunning));
  ASSERT_TRUE(ps_failed);
  EXPECT_EQ(ps_failed->state, JobState::kFailed);
}

TEST(LifecycleTest, RolesOfAnExpandedTrainJobCountLikeWrittenOnes) {
  // kind train: the stored spec has no replicas; ps-0 and worker-0.. come from its expansion.
  using R = ReplicaState;
  JobRecord job = PsWorkerJob(R::kRunning, R::kSucceeded, R::kSucceeded);
  job.spec.kind = JobKind::kTrain;
  job.spec.replicas.clear();
  auto done = DecideOutcome(job);
  ASSERT_TRUE(done);
  EXPECT_EQ(done->state, JobState::kSucceeded);
  EXPECT_EQ(done->reason, "all workers succeeded");
  job.replicas[2].state = R::kRunning;
  EXPECT_FALSE(DecideOutcome(job));
}

TEST(LifecycleTest, WithoutWorkersEveryRoleMustSucceed) {
  JobSpec spec;
  spec.replicas = {Role("main", 1)};
  EXPECT_TRUE(CompletesJob(spec, "main"));
  spec.replicas.push_back(Role("worker", 1));
  EXPECT_FALSE(CompletesJob(spec, "main"));
  EXPECT_TRUE(CompletesJob(spec, "worker"));
}

}  // namespace
}  // namespace parasol::control
