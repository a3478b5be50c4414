// `parasol cluster` end to end: real server and worker processes on loopback.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "gtest/gtest.h"
#include "test_util/parasol_process.h"
#include "test_util/run_parasol.h"

namespace {

namespace fs = std::filesystem;

using Result = ::parasol::testing::CommandResult;
constexpr auto Parasol = ::parasol::testing::RunParasol;

std::string ReadFile(const fs::path& p) { return ::parasol::testing::ReadFile(p.string()); }

// Processes whose command line contains `marker` (ours carry a unique --seed).
int ProcessesWith(const std::string& marker) {
  int count = 0;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string cmdline = ReadFile(entry.path() / "cmdline");
    std::string flat = cmdline;
    for (char& c : flat) c = c == '\0' ? ' ' : c;
    if (flat.find("ps server") != std::string::npos && flat.find(marker) != std::string::npos) {
      ++count;
    }
  }
  return count;
}

class ClusterTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::path(::testing::TempDir()) / ("cluster_test_" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    ASSERT_TRUE(::parasol::testing::GenerateSplit(
        dir_.string(), "--rows 12000 --features 10 --vocab 3000 --seed 9", 10000));
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }
  static fs::path dir_;
};

fs::path ClusterTest::dir_;

TEST_F(ClusterTest, OneWorkerReproducesLocalTrainingBitForBit) {
  const std::string d = dir_.string();
  const std::string common = " --train " + d + "/train.svm --model fm --k 4 --optimizer adagrad " +
                             "--batch-size 32 --epochs 2 --seed 4101";
  const Result cluster =
      Parasol("cluster --servers 2 --workers 1 --out " + d + "/cluster" + common);
  ASSERT_EQ(cluster.code, 0) << cluster.out;
  const Result local = Parasol("train --threads 1 --out " + d + "/local" + common);
  ASSERT_EQ(local.code, 0) << local.out;
  const std::string weights = ReadFile(dir_ / "cluster" / "weights.bin");
  EXPECT_GT(weights.size(), 10000u);
  EXPECT_EQ(weights, ReadFile(dir_ / "local" / "weights.bin"));
  EXPECT_EQ(ProcessesWith("4101"), 0);
}

TEST_F(ClusterTest, TwoByTwoJobLearnsAndLeavesNoProcessBehind) {
  const std::string d = dir_.string();
  const Result cluster =
      Parasol("cluster --servers 2 --workers 2 --train " + d + "/train.svm --out " + d +
              "/two --epochs 3 --optimizer ftrl --seed 4102");
  ASSERT_EQ(cluster.code, 0) << cluster.out;
  EXPECT_NE(cluster.out.find("worker 1/2"), std::string::npos) << cluster.out;
  const Result eval = Parasol("eval --model " + d + "/two --data " + d + "/test.svm --json");
  ASSERT_EQ(eval.code, 0) << eval.out;
  const double auc = std::stod(eval.out.substr(eval.out.find("\"auc\":") + 6));
  EXPECT_GT(auc, 0.7) << eval.out;
  EXPECT_EQ(ProcessesWith("4102"), 0);
}

TEST_F(ClusterTest, SspAndAspRunAndBadModesAreUsageErrors) {
  const std::string d = dir_.string();
  // Each mode writes its own model, which records the staleness it was trained with (the clock
  // spread each mode allows is asserted in-process: src/distributed/worker_test.cc).
  for (const auto& [mode, staleness] :
       {std::pair{"ssp:2", "\"staleness\": 2"}, std::pair{"asp", "\"staleness\": -1"}}) {
    const std::string out = d + "/mode-" + std::string(mode).substr(0, 3);
    const Result r = Parasol("cluster --servers 1 --workers 2 --train " + d + "/train.svm --out " +
                             out + " --consistency " + mode + " --seed 4104");
    EXPECT_EQ(r.code, 0) << mode << ": " << r.out;
    const std::string manifest = ReadFile(fs::path(out) / "manifest.json");
    EXPECT_NE(manifest.find(staleness), std::string::npos) << mode << ": " << manifest;
    const Result eval = Parasol("eval --model " + out + " --data " + d + "/test.svm --json");
    ASSERT_EQ(eval.code, 0) << mode << ": " << eval.out;
    EXPECT_GT(std::stod(eval.out.substr(eval.out.find("\"auc\":") + 6)), 0.65) << mode;
  }
  const Result bad =
      Parasol("cluster --train " + d + "/train.svm --out " + d + "/x --consistency sync");
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.out.find("consistency 'sync'"), std::string::npos) << bad.out;
  EXPECT_EQ(ProcessesWith("4104"), 0);
}

TEST_F(ClusterTest, AFailingWorkerFailsTheJobAndStopsTheServers) {
  const std::string d = dir_.string();
  {
    std::ofstream bad(dir_ / "bad.svm");
    bad << "1 1:1\n0 2:1\nnot-a-label 3:1\n";
  }
  const Result cluster = Parasol("cluster --servers 2 --workers 2 --train " + d +
                                 "/bad.svm --out " + d + "/bad --seed 4103");
  EXPECT_EQ(cluster.code, 1) << cluster.out;
  EXPECT_NE(cluster.out.find("bad.svm:3"), std::string::npos) << cluster.out;
  EXPECT_NE(cluster.out.find("job stopped"), std::string::npos) << cluster.out;
  EXPECT_FALSE(fs::exists(dir_ / "bad" / "manifest.json"));
  EXPECT_EQ(ProcessesWith("4103"), 0);
}

// Ctrl-C reaches only the launcher (its replicas run in their own sessions): it stops the job as
// the supervisor stops any, so the servers shut down cleanly and nothing is left running.
TEST_F(ClusterTest, InterruptStopsEveryReplicaAndFailsTheJob) {
  const std::string d = dir_.string();
  const fs::path log = dir_ / "interrupted.log";
  ::parasol::testing::ParasolProcess job(
      {"cluster", "--servers", "2", "--workers", "2", "--train", d + "/train.svm", "--out",
       d + "/interrupted", "--epochs", "1000", "--seed", "4105"},
      log.string());
  // Until both servers listen (their output reaches the launcher's stderr).
  auto listening = [&] {
    const std::string text = ReadFile(log);
    const size_t first = text.find("listening on ");
    return first != std::string::npos && text.find("listening on ", first + 1) != std::string::npos;
  };
  for (int i = 0; i < 500 && !listening(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  // Each server is a shim and its `ps server` (the workers do not count).
  ASSERT_EQ(ProcessesWith("4105"), 4) << ReadFile(log);
  EXPECT_EQ(job.Stop(SIGINT), 1);
  const std::string text = ReadFile(log);
  EXPECT_NE(text.find("cluster: stopping the job (signal 2)"), std::string::npos) << text;
  EXPECT_NE(text.find("stopping (SIGTERM)"), std::string::npos) << text;  // a server's last words
  EXPECT_NE(text.find("stopped by signal 2; job stopped"), std::string::npos) << text;
  EXPECT_FALSE(fs::exists(dir_ / "interrupted" / "manifest.json"));
  EXPECT_EQ(ProcessesWith("4105"), 0);
}

}  // namespace
