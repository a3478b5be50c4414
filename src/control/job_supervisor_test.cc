// The job state machine over a scripted backend: no processes, no clock but the one passed in.
#include "control/job_supervisor.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <utility>

#include "control/job_service.h"
#include "control/job_store.h"
#include "gtest/gtest.h"

namespace parasol::control {
namespace {

// A backend that does what the test says: places when told, starts every replica, reports the
// events queued for the next Poll, and records every call.
class ScriptedBackend : public JobBackend {
 public:
  absl::Status Admit(const JobSpec&) override { return absl::OkStatus(); }
  absl::StatusOr<bool> Place(JobRecord& job, std::string* waiting) override {
    if (!place_error.ok()) return place_error;
    if (!free_now) {
      *waiting = "waiting for resources";
      return false;
    }
    job.replicas.clear();
    for (const auto& role : ExpandJob(job.spec, "parasol").replicas) {
      for (int i = 0; i < role.count; ++i) {
        ReplicaStatus r;
        r.role = role.role;
        r.index = i;
        r.name = role.role + "-" + std::to_string(i);
        job.replicas.push_back(r);
      }
    }
    return true;
  }
  absl::Status StartReplica(const JobRecord&, ReplicaStatus& replica) override {
    started.push_back(replica.name);
    if (replica.name == fail_start) return absl::UnavailableError("cannot exec x");
    replica.pid = 1000 + static_cast<int>(started.size());
    return absl::OkStatus();
  }
  std::vector<std::string> StopReplicas(const JobRecord&, const std::vector<std::string>& replicas,
                                        bool force) override {
    for (const auto& r : replicas) stops.push_back(force ? r + "!" : r);
    return stop_at_once ? replicas : std::vector<std::string>{};
  }
  absl::StatusOr<std::vector<ReplicaEvent>> Poll(JobRecord&, double) override {
    ++polls;
    if (!poll_error.ok()) return poll_error;
    return std::exchange(events, {});
  }
  void Release(const JobRecord&) override { ++releases; }
  std::vector<ReplicaEvent> Recover(JobRecord&) override { return std::exchange(events, {}); }
  CollectedMetrics CollectMetrics(JobRecord&, double) override { return {}; }
  absl::StatusOr<std::string> ReadLog(const JobRecord&, const std::string&, uint64_t,
                                      size_t) override {
    return absl::NotFoundError("none");
  }
  absl::Status Remove(const JobRecord&) override { return absl::OkStatus(); }

  void Exit(const std::string& replica, int code) {
    events.push_back({replica, ReplicaEvent::Type::kExited, code, ""});
  }

  bool free_now = true;
  bool stop_at_once = false;
  std::string fail_start;
  absl::Status place_error, poll_error;
  std::vector<ReplicaEvent> events;
  std::vector<std::string> started, stops;
  int polls = 0, releases = 0;
};

JobRecord Job(const std::string& extra) {
  JobRecord job;
  auto spec = ParseJobSpec(
      "name: j\nkind: custom\nreplicas:\n  ps: {count: 1, command: [x]}\n"
      "  worker: {count: 2, command: [x]}\n" +
          extra,
      "j.yaml");
  EXPECT_TRUE(spec.ok()) << spec.status();
  job.spec = *spec;
  job.reason = "queued";
  return job;
}

const ReplicaStatus& R(JobRecord& job, const std::string& name) {
  const ReplicaStatus* r = job.FindReplica(name);
  EXPECT_NE(r, nullptr) << name;
  static const ReplicaStatus kNone;
  return r != nullptr ? *r : kNone;
}

TEST(JobSupervisorTest, APendingJobWaitsThenStartsAndNothingHappeningIsNoChange) {
  ScriptedBackend backend;
  JobSupervisor supervisor(backend);
  JobRecord job = Job("");
  backend.free_now = false;
  EXPECT_TRUE(supervisor.Step(job, 10));  // "queued" becomes the backend's reason
  EXPECT_EQ(job.state, JobState::kPending);
  EXPECT_EQ(job.reason, "waiting for resources");
  EXPECT_FALSE(supervisor.Step(job, 11));  // still waiting: nothing to persist
  EXPECT_EQ(backend.polls, 0);

  backend.free_now = true;
  EXPECT_TRUE(supervisor.Step(job, 12));
  EXPECT_EQ(job.state, JobState::kRunning);
  EXPECT_EQ(job.reason, "");
  EXPECT_EQ(job.started_at, 12);
  EXPECT_EQ(backend.started, (std::vector<std::string>{"ps-0", "worker-0", "worker-1"}));
  for (const auto& r : job.replicas) EXPECT_EQ(r.state, ReplicaState::kRunning) << r.name;
  // No event: no change, so the service does not rewrite the record.
  EXPECT_FALSE(supervisor.Step(job, 13));
  EXPECT_FALSE(supervisor.Step(job, 14));
}

TEST(JobSupervisorTest, ExitsAreRestartedWithBackoffThenFailTheJobAndStopTheRest) {
  ScriptedBackend backend;
  JobSupervisor supervisor(backend, /*stop_grace_seconds=*/5);
  JobRecord job = Job("restartPolicy: OnFailure\nbackoffLimit: 1\n");
  supervisor.Step(job, 100);
  backend.Exit("worker-0", 3);
  EXPECT_TRUE(supervisor.Step(job, 101));
  EXPECT_EQ(R(job, "worker-0").state, ReplicaState::kPending);
  EXPECT_EQ(R(job, "worker-0").restarts, 1);
  EXPECT_EQ(job.restarts, 1);
  EXPECT_EQ(R(job, "worker-0").reason, "restarting after exit 3 (job restart 1 of backoffLimit 1)");
  EXPECT_FALSE(supervisor.Step(job, 101.1));  // backoff: 0.2 s before the first restart
  EXPECT_TRUE(supervisor.Step(job, 101.2));
  EXPECT_EQ(R(job, "worker-0").state, ReplicaState::kRunning);
  EXPECT_EQ(backend.started.back(), "worker-0");
  EXPECT_EQ(backend.started.size(), 4u);

  backend.Exit("worker-0", 3);  // the backoff limit is spent
  EXPECT_TRUE(supervisor.Step(job, 102));
  EXPECT_EQ(job.state, JobState::kFailed);
  EXPECT_EQ(job.reason, "replica worker-0 failed (exit 3): backoffLimit 1 reached");
  EXPECT_EQ(job.finished_at, 102);
  EXPECT_EQ(backend.stops, (std::vector<std::string>{"ps-0", "worker-1"}));
  EXPECT_TRUE(R(job, "ps-0").stopping);
  EXPECT_EQ(backend.releases, 0);  // replicas still run

  // Past the grace period they are killed; their exits count as Stopped, then the job's
  // resources are released, once.
  EXPECT_FALSE(supervisor.Step(job, 106.9));
  EXPECT_TRUE(supervisor.Step(job, 107));
  EXPECT_EQ(backend.stops, (std::vector<std::string>{"ps-0", "worker-1", "ps-0!", "worker-1!"}));
  backend.Exit("ps-0", 137);
  backend.Exit("worker-1", 137);
  EXPECT_TRUE(supervisor.Step(job, 108));
  EXPECT_EQ(R(job, "ps-0").state, ReplicaState::kStopped);
  EXPECT_EQ(R(job, "ps-0").reason, "stopped when the job ended");
  EXPECT_EQ(R(job, "worker-1").state, ReplicaState::kStopped);
  EXPECT_EQ(job.state, JobState::kFailed);
  EXPECT_EQ(backend.releases, 1);
  EXPECT_FALSE(supervisor.Step(job, 109));
  EXPECT_EQ(backend.releases, 1);
}

TEST(JobSupervisorTest, WorkersSucceedingEndTheJobAndStopTheParameterServers) {
  ScriptedBackend backend;
  JobSupervisor supervisor(backend);
  JobRecord job = Job("");
  supervisor.Step(job, 1);
  backend.Exit("worker-0", 0);
  supervisor.Step(job, 2);
  EXPECT_EQ(job.state, JobState::kRunning);
  EXPECT_TRUE(backend.stops.empty());
  backend.Exit("worker-1", 0);
  backend.stop_at_once = true;  // as Kubernetes: deleting the StatefulSet is the stop
  EXPECT_TRUE(supervisor.Step(job, 3));
  EXPECT_EQ(job.state, JobState::kSucceeded);
  EXPECT_EQ(job.reason, "all workers succeeded");
  EXPECT_EQ(backend.stops, std::vector<std::string>{"ps-0"});
  EXPECT_EQ(R(job, "ps-0").state, ReplicaState::kStopped);
  EXPECT_EQ(backend.releases, 1);
}

TEST(JobSupervisorTest, OutcomesDecidedByTheBackendAreFinal) {
  // A Kubernetes Job that failed has used its own retries: no restart here, whatever the policy.
  ScriptedBackend backend;
  JobSupervisor supervisor(backend);
  JobRecord job = Job("restartPolicy: OnFailure\nbackoffLimit: 5\n");
  supervisor.Step(job, 1);
  backend.events.push_back(
      {"worker-1", ReplicaEvent::Type::kFailed, std::nullopt, "Job j: gave up"});
  EXPECT_TRUE(supervisor.Step(job, 2));
  EXPECT_EQ(job.state, JobState::kFailed);
  EXPECT_EQ(job.reason, "replica worker-1 failed: Job j: gave up");
  EXPECT_EQ(job.restarts, 0);
  EXPECT_EQ(backend.started.size(), 3u);
}

TEST(JobSupervisorTest, DeadlineStopAndFailures) {
  ScriptedBackend backend;
  JobSupervisor supervisor(backend);
  JobRecord job = Job("activeDeadlineSeconds: 30\n");
  supervisor.Step(job, 100);
  EXPECT_FALSE(supervisor.Step(job, 130));
  EXPECT_TRUE(supervisor.Step(job, 130.5));
  EXPECT_EQ(job.state, JobState::kFailed);
  EXPECT_EQ(job.reason, "DeadlineExceeded: ran longer than activeDeadlineSeconds 30");
  EXPECT_EQ(backend.stops.size(), 3u);

  // A user's stop; a replica waiting for its restart is not started again.
  JobRecord stopped = Job("restartPolicy: OnFailure\n");
  supervisor.Step(stopped, 1);
  backend.Exit("worker-0", 1);
  supervisor.Step(stopped, 2);
  ASSERT_EQ(R(stopped, "worker-0").state, ReplicaState::kPending);
  supervisor.Stop(stopped, "stopped by request", 3);
  EXPECT_EQ(stopped.state, JobState::kStopped);
  EXPECT_EQ(stopped.reason, "stopped by request");
  EXPECT_EQ(R(stopped, "worker-0").state, ReplicaState::kStopped);
  EXPECT_EQ(R(stopped, "worker-0").reason, "not restarted: the job ended");
  EXPECT_TRUE(R(stopped, "worker-1").stopping);

  // The backend cannot place it, or start a replica: the job fails saying why.
  ScriptedBackend broken;
  JobSupervisor broken_supervisor(broken);
  JobRecord unplaced = Job("");
  broken.place_error = absl::UnavailableError("create Service/j: cannot reach");
  EXPECT_TRUE(broken_supervisor.Step(unplaced, 1));
  EXPECT_EQ(unplaced.state, JobState::kFailed);
  EXPECT_EQ(unplaced.reason, "create Service/j: cannot reach");
  EXPECT_EQ(broken.releases, 1);
  broken.place_error = absl::OkStatus();
  broken.fail_start = "worker-1";
  JobRecord unstarted = Job("");
  unstarted.spec.name = "k";
  broken_supervisor.Step(unstarted, 1);
  EXPECT_EQ(unstarted.state, JobState::kFailed);
  EXPECT_EQ(unstarted.reason, "replica worker-1 failed: cannot exec x");
}

TEST(JobSupervisorTest, AFailedLookIsTheJobsReasonWhileItLasts) {
  ScriptedBackend backend;
  JobSupervisor supervisor(backend);
  JobRecord job = Job("");
  supervisor.Step(job, 1);
  backend.poll_error = absl::UnavailableError("cannot reach the API server");
  EXPECT_TRUE(supervisor.Step(job, 2));
  EXPECT_EQ(job.reason, "cannot reach the API server");
  EXPECT_FALSE(supervisor.Step(job, 3));
  backend.poll_error = absl::OkStatus();
  EXPECT_TRUE(supervisor.Step(job, 4));
  EXPECT_EQ(job.reason, "");
  EXPECT_EQ(job.state, JobState::kRunning);
}

TEST(JobSupervisorTest, RecoveryAppliesWhatTheBackendFoundAlive) {
  ScriptedBackend backend;
  JobSupervisor supervisor(backend);
  JobRecord job = Job("");
  supervisor.Step(job, 1);
  backend.events.push_back({"ps-0", ReplicaEvent::Type::kRunning, std::nullopt,
                            "re-attached after a restart of the control service"});
  JobSupervisor restarted(backend);
  restarted.Recover(job);
  EXPECT_EQ(R(job, "ps-0").reason, "re-attached after a restart of the control service");
  EXPECT_EQ(R(job, "ps-0").state, ReplicaState::kRunning);
}

// A real store that counts how often the service saves a job.
class CountingStore : public JobStore {
 public:
  explicit CountingStore(std::unique_ptr<JobStore> inner) : inner_(std::move(inner)) {}
  absl::Status Create(const JobRecord& record) override { return inner_->Create(record); }
  absl::Status Update(const JobRecord& record) override {
    ++updates;
    return inner_->Update(record);
  }
  absl::StatusOr<JobRecord> Get(const std::string& name) override { return inner_->Get(name); }
  absl::StatusOr<std::vector<JobRecord>> List() override { return inner_->List(); }
  absl::Status Delete(const std::string& name) override { return inner_->Delete(name); }
  absl::Status AppendMetrics(const std::string& name,
                             const std::vector<MetricPoint>& points) override {
    return inner_->AppendMetrics(name, points);
  }
  absl::StatusOr<std::vector<MetricPoint>> Metrics(const std::string& name) override {
    return inner_->Metrics(name);
  }
  int updates = 0;

 private:
  std::unique_ptr<JobStore> inner_;
};

// The service saves a job when its step changed it, and only then (no record is serialised to
// find out).
TEST(JobServiceTest, AJobIsSavedWhenItsStepChangedItAndOnlyThen) {
  const std::string db = (std::filesystem::path(::testing::TempDir()) /
                          ("job_service_" + std::to_string(getpid()) + ".db"))
                             .string();
  std::filesystem::remove(db);
  auto sqlite = OpenSqliteJobStore(db);
  ASSERT_TRUE(sqlite.ok()) << sqlite.status();
  auto store = std::make_unique<CountingStore>(*std::move(sqlite));
  auto backend = std::make_unique<ScriptedBackend>();
  CountingStore& saves = *store;
  ScriptedBackend& scripted = *backend;
  {
    JobService service(std::move(store), std::move(backend));  // not started: ticked by hand
    ASSERT_TRUE(
        service.Submit("name: j\nkind: custom\nreplicas: {worker: {command: [x]}}\n", "j.yaml")
            .ok());
    service.Tick(1);  // placed and started
    EXPECT_EQ(saves.updates, 1);
    service.Tick(2);
    service.Tick(3);
    EXPECT_EQ(saves.updates, 1);  // nothing happened
    scripted.Exit("worker-0", 0);
    service.Tick(4);
    EXPECT_EQ(saves.updates, 2);
    auto saved = saves.Get("j");
    ASSERT_TRUE(saved.ok()) << saved.status();
    EXPECT_EQ(saved->state, JobState::kSucceeded);
    EXPECT_EQ(saved->replicas[0].exit_code, 0);
    service.Tick(5);  // an ended job with nothing running is left alone
    EXPECT_EQ(saves.updates, 2);
    EXPECT_EQ(scripted.releases, 1);
  }
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(db + suffix);
}

}  // namespace
}  // namespace parasol::control
