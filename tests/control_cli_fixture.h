// The control plane end to end, shared by control_cli_test.cc and control_train_cli_test.cc: the
// real `parasol control` service on a free loopback port with its SQLite file, real replica
// processes, and the real `parasol job` CLI, started by ControlCliTest for every test.
#pragma once
#include <httplib.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "common/subprocess.h"
#include "gtest/gtest.h"
#include "test_util/control_service.h"
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

// Polls every 20 ms, at most `tries` times, until `ready()`; then the pids ProcessesWith finds
// (empty when never ready).
inline std::vector<pid_t> ProcessesOnceReady(const std::function<bool()>& ready,
                                             const std::vector<std::string>& needles,
                                             const std::string& argv_part, int tries) {
  for (int i = 0; i < tries; ++i) {
    if (ready()) return ProcessesWith(needles, argv_part);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return {};
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
    auto started = parasol::testing::StartControlService((dir_ / "state").string(), flags);
    ASSERT_TRUE(started.ok()) << started.status();
    control_ = std::move(started->process);
    endpoint_ = started->endpoint;
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

}  // namespace
