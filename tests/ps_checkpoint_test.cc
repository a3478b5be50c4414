// Parameter-server checkpoints and recovery end to end: real `parasol cluster` jobs and
// `parasol ps server` processes; servers and workers killed with SIGKILL mid-job.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "gtest/gtest.h"
#include "test_util/parasol_process.h"
#include "test_util/run_parasol.h"

namespace {

namespace fs = std::filesystem;
using ::parasol::testing::ParasolProcess;
using Result = ::parasol::testing::CommandResult;
constexpr auto Parasol = ::parasol::testing::RunParasol;

std::string ReadFile(const fs::path& p) { return ::parasol::testing::ReadFile(p.string()); }

class PsCheckpointTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::path(::testing::TempDir()) / ("ps_checkpoint_test_" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    const std::string d = dir_.string();
    ASSERT_EQ(
        Parasol("gen --rows 200000 --features 20 --vocab 50000 --seed 5 --out " + d + "/all.svm")
            .code,
        0);
    ASSERT_EQ(std::system(("head -n 160000 " + d + "/all.svm > " + d +
                           "/train.svm && tail -n 40000 " + d + "/all.svm > " + d + "/test.svm")
                              .c_str()),
              0);
    // The same rows as libffm (feature i of a line is field i) for the deep models, and a small
    // DCN-v2 to train on them.
    const std::string to_ffm =
        "awk '{printf \"%s\", $1; for (i = 2; i <= NF; i++) printf \" %d:%s\", i - 2, $i; "
        "print \"\"}' ";
    ASSERT_EQ(std::system(("head -n 60000 " + d + "/train.svm | " + to_ffm + "> " + d +
                           "/train.ffm && " + to_ffm + d + "/test.svm > " + d + "/test.ffm")
                              .c_str()),
              0);
    std::ofstream(dir_ / "dcn.yaml") << "model: dcn\nembedding_dim: 4\nhidden: [16]\n"
                                        "cross_layers: 1\nepochs: 4\n";
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }

  static double Auc(const std::string& model, const std::string& test = "test.svm") {
    const Result r =
        Parasol("eval --json --model " + model + " --data " + dir_.string() + "/" + test);
    EXPECT_EQ(r.code, 0) << r.out;
    return nlohmann::json::parse(r.out.substr(r.out.find('{')))["auc"].get<double>();
  }

  // The job's model and data flags: FM on libsvm, or the small DCN-v2 on libffm.
  static std::vector<std::string> JobFlags(bool deep) {
    const std::string d = dir_.string();
    if (deep) return {"--train", d + "/train.ffm", "--config", d + "/dcn.yaml"};
    return {"--train", d + "/train.svm", "--model", "fm", "--k", "4", "--epochs", "8"};
  }

  // `parasol cluster` in the background, stderr to LOG; waits until its first checkpoint is
  // whole, then returns the process.
  static std::unique_ptr<ParasolProcess> StartJob(const std::string& name, bool deep = false) {
    const std::string d = dir_.string();
    std::vector<std::string> args = {"cluster",   "--servers", "2",
                                     "--workers", "2",         "--checkpoint-every",
                                     "0.3s",      "--out",     d + "/" + name};
    for (const std::string& flag : JobFlags(deep)) args.push_back(flag);
    auto job = std::make_unique<ParasolProcess>(args, d + "/" + name + ".log");
    const fs::path latest = dir_ / name / "checkpoints" / "LATEST";
    for (int i = 0; i < 600 && !fs::exists(latest); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_TRUE(fs::exists(latest));
    return job;
  }

  // Waits until a checkpoint of job NAME records batches finished by worker W, so a worker
  // killed after it has a share to resume (the first checkpoint can precede any batch of a
  // worker on a loaded machine).
  static bool WaitForCheckpointedBatches(const std::string& name, size_t w) {
    const fs::path root = dir_ / name / "checkpoints";
    for (int i = 0; i < 1500; ++i) {
      std::string latest = fs::exists(root / "LATEST") ? ReadFile(root / "LATEST") : "";
      if (!latest.empty() && latest.back() == '\n') latest.pop_back();
      const auto manifest = nlohmann::json::parse(
          latest.empty() ? "{}" : ReadFile(root / latest / "manifest.json"), nullptr, false);
      if (manifest.is_object() && manifest.contains("checkpoint")) {
        const auto& clocks = manifest["checkpoint"]["worker_clocks"];
        if (clocks.is_array() && clocks.size() > w && clocks[w].is_number_integer() &&
            clocks[w].get<int64_t>() > 0) {
          return true;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  // The pid the launcher logged for "server S" / "worker W".
  static pid_t LoggedPid(const std::string& name, const std::string& role) {
    std::istringstream log(ReadFile(dir_ / (name + ".log")));
    std::string line;
    const std::string prefix = "cluster: " + role + " pid ";
    while (std::getline(log, line)) {
      if (line.rfind(prefix, 0) == 0) return std::stoi(line.substr(prefix.size()));
    }
    ADD_FAILURE() << "no '" << prefix << "' in the log";
    return -1;
  }

  // Kills server 1 of a running job (FM, or the deep model) with SIGKILL: the launcher restarts
  // it from the latest checkpoint, the job finishes, and its model is about as good as an
  // uninterrupted run's.
  static void KillAServerAndFinish(const std::string& name, bool deep, double tolerance) {
    const fs::path dir = dir_;
    auto job = StartJob(name, deep);
    const pid_t server = LoggedPid(name, "server 1");
    ASSERT_GT(server, 0);
    ASSERT_EQ(kill(server, SIGKILL), 0);
    ASSERT_EQ(job->Stop(0), 0) << ReadFile(dir / (name + ".log"));
    const std::string log = ReadFile(dir / (name + ".log"));
    EXPECT_NE(log.find("cluster: server 1 died (exit 137); restart 1 of 3 from"), std::string::npos)
        << log;
    EXPECT_NE(log.find("restored"), std::string::npos) << log;

    std::string plain_command =
        "cluster --servers 2 --workers 2 --out " + (dir / (name + "-plain")).string();
    for (const std::string& flag : JobFlags(deep)) plain_command += " " + flag;
    const Result uninterrupted = Parasol(plain_command);
    ASSERT_EQ(uninterrupted.code, 0) << uninterrupted.out;
    const std::string test = deep ? "test.ffm" : "test.svm";
    const double killed = Auc((dir / name).string(), test),
                 plain = Auc((dir / (name + "-plain")).string(), test);
    std::printf("%s test AUC: server killed and restored %.4f, uninterrupted %.4f\n", name.c_str(),
                killed, plain);
    EXPECT_GT(plain, 0.7);
    EXPECT_NEAR(killed, plain, tolerance);
  }

  static fs::path dir_;
};

fs::path PsCheckpointTest::dir_;

TEST_F(PsCheckpointTest, RestoreOntoThreeThenOneServerGivesIdenticalPredictions) {
  const std::string d = dir_.string();
  const Result job = Parasol("cluster --servers 2 --workers 2 --train " + d + "/train.svm --out " +
                             d + "/two --model fm --k 4 --epochs 2 " + "--checkpoint-every 400");
  ASSERT_EQ(job.code, 0) << job.out;
  const std::string two = d + "/two/checkpoints/" + ReadFile(dir_ / "two/checkpoints/LATEST");
  const std::string c2 = two.substr(0, two.size() - 1);  // LATEST ends with a newline
  auto manifest = nlohmann::json::parse(ReadFile(fs::path(c2) / "manifest.json"));
  ASSERT_EQ(manifest["tables"][0]["shards"].size(), 2u);
  // The final checkpoint counts the same features as the model written at the end.
  const auto model = nlohmann::json::parse(ReadFile(dir_ / "two" / "manifest.json"));
  EXPECT_GT(model["feature_count"].get<int64_t>(), 1000);
  EXPECT_EQ(manifest["feature_count"], model["feature_count"]);
  // Several checkpoints were taken, and later ones are deltas with fewer rows.
  EXPECT_NE(job.out.find("checkpoints/ckpt-000002"), std::string::npos) << job.out;

  // Restores `from` onto `n` server processes, checkpoints them into ROOT; the new checkpoint.
  auto rescale = [&](const std::string& from, int n, const std::string& root) {
    std::vector<std::unique_ptr<ParasolProcess>> servers;
    std::vector<std::string> addresses;
    for (int s = 0; s < n; ++s) {
      servers.push_back(std::make_unique<ParasolProcess>(
          std::vector<std::string>{"ps", "server", "--listen", "127.0.0.1:0", "--model", "fm",
                                   "--k", "4", "--restore", from, "--shard", std::to_string(s),
                                   "--num-shards", std::to_string(n), "--checkpoint-dir", root}));
      const std::string line = servers.back()->ReadLine();
      EXPECT_EQ(line.rfind("listening on ", 0), 0u) << line;
      addresses.push_back(line.substr(13));
    }
    std::string list;
    for (const auto& a : addresses) list += (list.empty() ? "" : ",") + a;
    const Result r =
        Parasol("ps checkpoint --servers " + list + " --dir " + root + " --model-from " + from);
    EXPECT_EQ(r.code, 0) << r.out;
    for (auto& s : servers) EXPECT_EQ(s->Stop(SIGTERM), 0);
    return root + "/ckpt-000001";
  };
  const std::string c3 = rescale(c2, 3, d + "/three");
  EXPECT_EQ(
      nlohmann::json::parse(ReadFile(fs::path(c3) / "manifest.json"))["tables"][0]["shards"].size(),
      3u);
  const std::string c1 = rescale(c3, 1, d + "/one");

  auto predict = [&](const std::string& model, const std::string& out) {
    const Result r =
        Parasol("predict --model " + model + " --data " + d + "/test.svm --out " + d + "/" + out);
    EXPECT_EQ(r.code, 0) << r.out;
    return ReadFile(dir_ / out);
  };
  const std::string from_two = predict(c2, "p2.txt");
  EXPECT_GT(from_two.size(), 100000u);
  EXPECT_EQ(predict(c3, "p3.txt"), from_two);
  EXPECT_EQ(predict(c1, "p1.txt"), from_two);
  // The final checkpoint is the trained model.
  EXPECT_EQ(predict(d + "/two", "pm.txt"), from_two);
}

TEST_F(PsCheckpointTest, KilledServerRestartsFromTheLatestCheckpointAndTheJobFinishes) {
  KillAServerAndFinish("srv", /*deep=*/false, 0.005);
}

TEST_F(PsCheckpointTest, ADeepModelJobSurvivesAKilledServerToo) {
  // The layers live in the servers' dense table: server 1's half comes back from the
  // checkpoint with its rows.
  KillAServerAndFinish("deep", /*deep=*/true, 0.01);
}

TEST_F(PsCheckpointTest, KilledWorkerIsRestartedAndResumesItsShare) {
  auto job = StartJob("wrk");
  ASSERT_TRUE(WaitForCheckpointedBatches("wrk", 1)) << ReadFile(dir_ / "wrk.log");
  const pid_t worker = LoggedPid("wrk", "worker 1");
  ASSERT_GT(worker, 0);
  ASSERT_EQ(kill(worker, SIGKILL), 0);
  ASSERT_EQ(job->Stop(0), 0) << ReadFile(dir_ / "wrk.log");
  const std::string log = ReadFile(dir_ / "wrk.log");
  EXPECT_NE(log.find("cluster: worker 1 killed (signal 9); restart 1 of 3"), std::string::npos)
      << log;
  const size_t at = log.find("worker 1/2: resumed after batch ");
  ASSERT_NE(at, std::string::npos) << log;
  EXPECT_GT(std::stoll(log.substr(at + 32)), 0) << log;
  EXPECT_GT(Auc(dir_.string() + "/wrk"), 0.7);
}

}  // namespace
