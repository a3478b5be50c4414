#include <unistd.h>

#include <filesystem>

#include "control/job_store.h"
#include "gtest/gtest.h"

namespace parasol::control {
namespace {

namespace fs = std::filesystem;

class SqliteJobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) / ("job_store_" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string db() const { return (dir_ / "control.db").string(); }

  static JobRecord Job(const std::string& name, double created) {
    JobRecord job;
    job.spec.name = name;
    ReplicaSpec worker;
    worker.role = "worker";
    worker.command = {"true"};
    job.spec.replicas = {worker};
    job.created_at = created;
    return job;
  }

  fs::path dir_;
};

TEST_F(SqliteJobStoreTest, RecordsSurviveReopeningTheFile) {
  {
    auto store = OpenSqliteJobStore(db());
    ASSERT_TRUE(store.ok()) << store.status();
    ASSERT_TRUE((*store)->Create(Job("b", 2)).ok());
    ASSERT_TRUE((*store)->Create(Job("a", 1)).ok());
    JobRecord a = Job("a", 1);
    a.state = JobState::kRunning;
    a.restarts = 2;
    ReplicaStatus r;
    r.name = "worker-0";
    r.role = "worker";
    r.state = ReplicaState::kRunning;
    r.pid = 1234;
    r.start_ticks = 987654321;
    r.port = 40001;
    r.exit_code = 3;
    r.gpus = {1};
    a.replicas.push_back(r);
    ASSERT_TRUE((*store)->Update(a).ok());
  }
  auto store = OpenSqliteJobStore(db());
  ASSERT_TRUE(store.ok()) << store.status();
  auto jobs = (*store)->List();
  ASSERT_TRUE(jobs.ok()) << jobs.status();
  ASSERT_EQ(jobs->size(), 2u);
  EXPECT_EQ((*jobs)[0].name(), "a");  // oldest first
  EXPECT_EQ((*jobs)[1].name(), "b");
  auto a = (*store)->Get("a");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->state, JobState::kRunning);
  EXPECT_EQ(a->restarts, 2);
  ASSERT_EQ(a->replicas.size(), 1u);
  EXPECT_EQ(a->replicas[0].pid, 1234);
  EXPECT_EQ(a->replicas[0].start_ticks, 987654321u);
  EXPECT_EQ(a->replicas[0].exit_code, 3);
  EXPECT_EQ(a->replicas[0].gpus, std::vector<int>{1});
  EXPECT_EQ(a->spec, Job("a", 1).spec);
}

TEST_F(SqliteJobStoreTest, DuplicatesAndMissingJobsAreReported) {
  auto store = OpenSqliteJobStore(db());
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE((*store)->Create(Job("a", 1)).ok());
  EXPECT_EQ((*store)->Create(Job("a", 2)).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ((*store)->Update(Job("zz", 1)).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ((*store)->Get("zz").status().code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE((*store)->Delete("a").ok());
  EXPECT_EQ((*store)->Delete("a").code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE((*store)->List()->empty());
}

TEST_F(SqliteJobStoreTest, MetricsAreKeptPerJobAndDeletedWithIt) {
  auto store = OpenSqliteJobStore(db());
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE((*store)->Create(Job("a", 1)).ok());
  ASSERT_TRUE((*store)->Create(Job("b", 2)).ok());
  ASSERT_TRUE((*store)
                  ->AppendMetrics("a", {{"worker-0", "loss", 2, 10, 0.5},
                                        {"worker-0", "loss", 1, 9, 0.7},
                                        {"worker-0", "auc", 1, 9, 0.6}})
                  .ok());
  ASSERT_TRUE((*store)->AppendMetrics("b", {{"worker-0", "loss", 1, 9, 0.1}}).ok());
  auto a = (*store)->Metrics("a");
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_EQ(a->size(), 3u);
  EXPECT_EQ((*a)[0].name, "auc");  // by replica, name, step
  EXPECT_EQ((*a)[1].step, 1);
  EXPECT_EQ((*a)[1].value, 0.7);
  EXPECT_EQ((*a)[2].step, 2);
  ASSERT_TRUE((*store)->Delete("a").ok());
  EXPECT_TRUE((*store)->Metrics("a")->empty());
  EXPECT_EQ((*store)->Metrics("b")->size(), 1u);
}

TEST_F(SqliteJobStoreTest, UnopenableFileIsAnErrorNamingIt) {
  auto store = OpenSqliteJobStore((dir_ / "no" / "such" / "dir" / "x.db").string());
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find("x.db"), std::string::npos) << store.status();
}

}  // namespace
}  // namespace parasol::control
