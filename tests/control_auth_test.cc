// `parasol control --auth` end to end: the real service on a free loopback port, signed by real
// clients — curl --aws-sigv4, python3-botocore (tests/sigv4_client.py) and the `parasol` CLI —
// with tenants, their jobs (real processes), quotas and the audit log.
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "common/subprocess.h"
#include "control/auth/credentials.h"
#include "gtest/gtest.h"
#include "test_util/control_service.h"
#include "test_util/run_parasol.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using parasol::auth::SigningCredentials;
using parasol::testing::CommandResult;
using parasol::testing::ReadFile;

CommandResult Shell(const std::string& command) { return parasol::testing::RunCommand(command); }

// A job of `name` that runs until stopped, reserving `cpu` cores and 100Mi.
std::string SleeperSpec(const std::string& name, const std::string& cpu = "1") {
  return "name: " + name + "\nkind: custom\nresources: {cpu: " + cpu +
         ", memory: 100Mi}\nreplicas:\n  worker: {count: 1, command: [sh, -c, "
         "\"echo hello from " +
         name + "; exec sleep 600\"]}\n";
}

class ControlAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("control_auth_" +
            std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "_" +
            std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "home");
    auto started = parasol::testing::StartControlService(
        (dir_ / "state").string(), {"--auth", "--master-key", (dir_ / "master.key").string()});
    ASSERT_TRUE(started.ok()) << started.status();
    control_ = std::move(started->process);
    endpoint_ = started->endpoint;
    auto admin = parasol::auth::ParseCredentials(
        ReadFile((dir_ / "state/admin.credentials").string()), "admin.credentials");
    ASSERT_TRUE(admin.ok()) << admin.status();
    admin_ = *admin;
  }

  void TearDown() override {
    if (control_ != nullptr) {
      const json jobs = Json(admin_, "job list --json");
      for (const auto& j : jobs.value("jobs", json::array())) {
        As(admin_, "job delete " + j["name"].get<std::string>());
      }
      control_->Stop(SIGTERM);
    }
    fs::remove_all(dir_);
  }

  // `parasol ARGS --endpoint E` signed with `creds` through the environment.
  CommandResult As(const SigningCredentials& creds, const std::string& args) {
    return Shell("env HOME=" + (dir_ / "home").string() + " PARASOL_ACCESS_KEY_ID=" +
                 creds.access_key + " PARASOL_SECRET_ACCESS_KEY=" + creds.secret_key + " " +
                 PARASOL_BINARY + " " + args + " --endpoint " + endpoint_);
  }

  json Json(const SigningCredentials& creds, const std::string& args) {
    const CommandResult r = As(creds, args);
    EXPECT_EQ(r.code, 0) << args << ": " << r.out;
    const auto j = json::parse(r.out, nullptr, false);
    if (j.is_discarded()) ADD_FAILURE() << args << " printed no JSON: " << r.out;
    return j.is_discarded() ? json::object() : j;
  }

  // Creates tenant `name` with `flags` through the CLI; its first key.
  SigningCredentials Tenant(const std::string& name, const std::string& flags = "") {
    const CommandResult r = As(admin_, "tenant create " + name + " " + flags);
    EXPECT_EQ(r.code, 0) << r.out;
    auto creds = parasol::auth::ParseCredentials(r.out, "tenant create output");
    EXPECT_TRUE(creds.ok()) << creds.status() << r.out;
    return creds.ok() ? *creds : SigningCredentials{};
  }

  std::string WriteSpec(const std::string& file, const std::string& text) {
    const fs::path p = dir_ / file;
    std::ofstream(p) << text;
    return p.string();
  }

  // curl --aws-sigv4 with `creds` (none: unsigned): "STATUS BODY".
  std::string Curl(const SigningCredentials* creds, const std::string& method,
                   const std::string& path, const std::string& body_file = "",
                   const std::string& region = "local") {
    std::string cmd =
        "curl -s -o " + (dir_ / "curl.out").string() + " -w '%{http_code}' -X " + method;
    if (creds != nullptr) {
      cmd += " --aws-sigv4 'aws:amz:" + region + ":parasol' --user '" + creds->access_key + ":" +
             creds->secret_key + "'";
    }
    if (!body_file.empty()) {
      cmd += " -H 'Content-Type: application/yaml' --data-binary @" + body_file;
    } else if (method == "POST") {
      cmd += " --data ''";  // a Content-Length: 0, which a POST needs
    }
    const CommandResult r = Shell(cmd + " '" + endpoint_ + path + "'");
    return r.out + " " + ReadFile((dir_ / "curl.out").string());
  }

  // tests/sigv4_client.py (botocore): one "STATUS BODY" line per request it sent.
  std::vector<std::string> Botocore(const SigningCredentials& creds, const std::string& method,
                                    const std::string& path, const std::string& body = "",
                                    const std::string& flag = "") {
    const std::string script = std::string(PARASOL_SOURCE_DIR) + "/tests/sigv4_client.py";
    std::string cmd = "/usr/bin/python3 " + script + " " + endpoint_ + " " + creds.access_key +
                      " " + creds.secret_key + " " + method + " '" + path + "'";
    if (!body.empty()) cmd += " '" + body + "'";
    if (!flag.empty()) cmd += " " + flag;
    const CommandResult r = Shell(cmd);
    EXPECT_EQ(r.code, 0) << r.out;
    std::vector<std::string> lines;
    std::istringstream in(r.out);
    for (std::string line; std::getline(in, line);) {
      if (!line.empty()) lines.push_back(line);
    }
    return lines;
  }

  void WaitRunning(const SigningCredentials& creds, const std::string& job) {
    for (int i = 0; i < 300; ++i) {
      if (Json(creds, "job describe " + job + " --json").value("state", "") == "Running") return;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ADD_FAILURE() << job << " never ran";
  }

  fs::path dir_;
  std::unique_ptr<parasol::Subprocess> control_;
  std::string endpoint_;
  SigningCredentials admin_;
};

TEST_F(ControlAuthTest, AdminCredentialsAndCurlSigning) {
  struct stat st;
  ASSERT_EQ(stat((dir_ / "state/admin.credentials").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(ReadFile((dir_ / "state/admin.credentials").string())
                .rfind("[default]\naws_access_key_id = " + admin_.access_key +
                           "\naws_secret_access_key = " + admin_.secret_key + "\n",
                       0),
            0u);

  const std::string unsigned_reply = Curl(nullptr, "GET", "/api/v1/jobs");
  EXPECT_EQ(unsigned_reply.substr(0, 4), "401 ") << unsigned_reply;
  EXPECT_NE(unsigned_reply.find("not signed"), std::string::npos);
  EXPECT_EQ(Curl(&admin_, "GET", "/api/v1/jobs"), "200 {\"jobs\":[]}\n");
  const std::string spec = WriteSpec("a.yaml", SleeperSpec("by-curl"));
  EXPECT_EQ(Curl(&admin_, "POST", "/api/v1/jobs", spec).substr(0, 4), "201 ");

  SigningCredentials wrong = admin_;
  wrong.secret_key = "not-the-secret";
  const std::string bad = Curl(&wrong, "GET", "/api/v1/jobs");
  EXPECT_EQ(bad.substr(0, 4), "403 ") << bad;
  EXPECT_NE(bad.find("signature does not match"), std::string::npos) << bad;
  SigningCredentials unknown{"PKUNKNOWNUNKNOWNUNKN", admin_.secret_key};
  const std::string who = Curl(&unknown, "GET", "/api/v1/jobs");
  EXPECT_EQ(who.substr(0, 4), "403 ") << who;
  EXPECT_NE(who.find("unknown or revoked access key"), std::string::npos) << who;
  const std::string region = Curl(&admin_, "GET", "/api/v1/jobs", "", "us-east-1");
  EXPECT_EQ(region.substr(0, 4), "401 ") << region;
  EXPECT_NE(region.find("region 'us-east-1'"), std::string::npos) << region;
  // healthz stays open for probes.
  EXPECT_EQ(Curl(nullptr, "GET", "/api/v1/healthz").substr(0, 4), "200 ");
  for (const auto& file : {"state/audit.log", "state/auth.db", "state/control.db"}) {
    EXPECT_EQ(ReadFile((dir_ / file).string()).find(admin_.secret_key), std::string::npos) << file;
  }
}

TEST_F(ControlAuthTest, WorkflowsAreTheAdminsOnlyAndTheirCliSigns) {
  // Unsigned: 401 before routing; a tenant: 403; the admin reaches the route (here a run that
  // does not exist: 404), through curl and through `parasol workflow`, which signs.
  const std::string unsigned_reply = Curl(nullptr, "GET", "/api/v1/workflows/runs");
  EXPECT_EQ(unsigned_reply.substr(0, 4), "401 ") << unsigned_reply;
  const SigningCredentials a = Tenant("team-a");
  const std::string tenant_reply = Curl(&a, "GET", "/api/v1/workflows/runs");
  EXPECT_EQ(tenant_reply.substr(0, 4), "403 ") << tenant_reply;
  EXPECT_NE(tenant_reply.find("only the admin"), std::string::npos) << tenant_reply;
  EXPECT_EQ(Curl(&admin_, "GET", "/api/v1/workflows/runs").substr(0, 4), "200 ");
  EXPECT_EQ(Curl(&admin_, "GET", "/api/v1/workflows/runs/nosuch").substr(0, 4), "404 ");
  const CommandResult by_tenant = As(a, "workflow describe nosuch");
  EXPECT_EQ(by_tenant.code, 1) << by_tenant.out;
  EXPECT_NE(by_tenant.out.find("only the admin"), std::string::npos) << by_tenant.out;
  const CommandResult by_admin = As(admin_, "workflow describe nosuch");
  EXPECT_EQ(by_admin.code, 1) << by_admin.out;
  EXPECT_EQ(by_admin.out.find("only the admin"), std::string::npos) << by_admin.out;
  EXPECT_EQ(by_admin.out.find("not signed"), std::string::npos) << by_admin.out;
  // The refusals are audited.
  const std::string audit = ReadFile((dir_ / "state/audit.log").string());
  EXPECT_NE(audit.find("/api/v1/workflows"), std::string::npos) << audit;
}

TEST_F(ControlAuthTest, BotocoreSignsAndReplaysAreRefused) {
  const SigningCredentials team = Tenant("team-a");
  const std::string body =
      "{\"name\": \"by-boto\", \"kind\": \"custom\", \"replicas\": {\"worker\": {\"command\": "
      "[\"sleep\", \"600\"]}}}";
  auto replies = Botocore(team, "POST", "/api/v1/jobs", body);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].substr(0, 4), "201 ") << replies[0];
  EXPECT_NE(replies[0].find("\"tenant\":\"team-a\""), std::string::npos) << replies[0];

  replies = Botocore(team, "GET", "/api/v1/jobs/by-boto", "", "--replay");
  ASSERT_EQ(replies.size(), 2u);
  EXPECT_EQ(replies[0].substr(0, 4), "200 ") << replies[0];
  EXPECT_EQ(replies[1].substr(0, 4), "403 ") << replies[1];
  EXPECT_NE(replies[1].find("replayed request"), std::string::npos) << replies[1];

  replies = Botocore(team, "POST", "/api/v1/jobs/by-boto/metrics",
                     "{\"replica\": \"worker-0\", \"points\": [{\"step\": 1, \"loss\": 0.5}]}",
                     "--tamper");
  ASSERT_EQ(replies.size(), 2u);
  EXPECT_EQ(replies[0].substr(0, 4), "200 ") << replies[0];
  EXPECT_EQ(replies[1].substr(0, 4), "403 ") << replies[1];
  EXPECT_NE(replies[1].find("signature does not match"), std::string::npos) << replies[1];
  // Query parameters are signed too: the logs endpoint through botocore.
  WaitRunning(team, "by-boto");
  replies = Botocore(team, "GET", "/api/v1/jobs/by-boto/logs?replica=worker-0&offset=0");
  ASSERT_FALSE(replies.empty());
  EXPECT_EQ(replies[0].substr(0, 3), "200") << replies[0];
}

TEST_F(ControlAuthTest, ClockSkewBeyondFifteenMinutesIsRefused) {
  auto past = Botocore(admin_, "GET", "/api/v1/jobs", "", "--skew=-960");
  ASSERT_EQ(past.size(), 1u);
  EXPECT_EQ(past[0].substr(0, 4), "401 ") << past[0];
  EXPECT_NE(past[0].find("s in the past; at most 900 s of clock skew"), std::string::npos)
      << past[0];
  auto future = Botocore(admin_, "GET", "/api/v1/jobs", "", "--skew=960");
  ASSERT_EQ(future.size(), 1u);
  EXPECT_EQ(future[0].substr(0, 4), "401 ") << future[0];
  EXPECT_NE(future[0].find("in the future"), std::string::npos) << future[0];
  auto late = Botocore(admin_, "GET", "/api/v1/jobs", "", "--skew=-840");
  ASSERT_EQ(late.size(), 1u);
  EXPECT_EQ(late[0].substr(0, 4), "200 ") << late[0];
}

TEST_F(ControlAuthTest, ATenantSeesAndControlsOnlyItsOwnJobs) {
  const SigningCredentials a = Tenant("team-a");
  const SigningCredentials b = Tenant("team-b");
  const std::string spec = WriteSpec("a.yaml", SleeperSpec("job-a"));
  const CommandResult submitted = As(a, "job submit -f " + spec);
  ASSERT_EQ(submitted.code, 0) << submitted.out;
  WaitRunning(a, "job-a");
  EXPECT_EQ(Json(a, "job describe job-a --json")["tenant"], "team-a");
  EXPECT_EQ(Json(a, "job list --json")["jobs"].size(), 1u);
  EXPECT_EQ(Json(admin_, "job list --json")["jobs"].size(), 1u);
  EXPECT_EQ(Json(b, "job list --json")["jobs"].size(), 0u);

  // Every job endpoint answers team-b exactly as for a job that does not exist.
  const std::string missing = Curl(&b, "GET", "/api/v1/jobs/no-such-job");
  ASSERT_EQ(missing.substr(0, 4), "404 ");
  auto same_as_missing = [&](const std::string& reply, const std::string& what) {
    EXPECT_EQ(reply.substr(0, 4), "404 ") << what << ": " << reply;
    EXPECT_NE(reply.find("no job named 'job-a'"), std::string::npos) << what << ": " << reply;
  };
  same_as_missing(Curl(&b, "GET", "/api/v1/jobs/job-a"), "get");
  same_as_missing(Curl(&b, "GET", "/api/v1/jobs/job-a/logs?replica=worker-0"), "logs");
  same_as_missing(Curl(&b, "GET", "/api/v1/jobs/job-a/metrics"), "metrics");
  const std::string points = WriteSpec(
      "points.json", "{\"replica\": \"worker-0\", \"points\": [{\"step\": 1, \"loss\": 1}]}");
  same_as_missing(Curl(&b, "POST", "/api/v1/jobs/job-a/metrics", points), "report metrics");
  same_as_missing(Curl(&b, "POST", "/api/v1/jobs/job-a/stop"), "stop");
  same_as_missing(Curl(&b, "DELETE", "/api/v1/jobs/job-a"), "delete");
  for (const std::string cmd :
       {"describe job-a", "logs job-a", "metrics job-a", "stop job-a", "delete job-a"}) {
    const CommandResult r = As(b, "job " + cmd);
    EXPECT_EQ(r.code, 1) << cmd << ": " << r.out;
    EXPECT_NE(r.out.find("no job named 'job-a'"), std::string::npos) << cmd << ": " << r.out;
  }
  // Still running, and its owner and the admin still reach it.
  EXPECT_EQ(Json(a, "job describe job-a --json")["state"], "Running");
  const CommandResult logs = As(a, "job logs job-a");
  EXPECT_NE(logs.out.find("hello from job-a"), std::string::npos) << logs.out;
  EXPECT_EQ(Json(admin_, "job describe job-a --json")["tenant"], "team-a");
  // A name is one namespace: team-b cannot take team-a's either (409, not a leak of its details).
  const CommandResult taken = As(b, "job submit -f " + spec);
  EXPECT_NE(taken.code, 0);
  EXPECT_EQ(As(a, "job stop job-a").code, 0);
}

TEST_F(ControlAuthTest, OnlyTheAdminManagesTenantsAndKeys) {
  const SigningCredentials a = Tenant("team-a");
  for (const std::string cmd :
       {"tenant create x", "tenant list", "tenant delete team-a", "key create --tenant team-a"}) {
    const CommandResult r = As(a, cmd);
    EXPECT_EQ(r.code, 1) << cmd << ": " << r.out;
    EXPECT_NE(r.out.find("only the admin"), std::string::npos) << cmd << ": " << r.out;
  }
  // A second key works; revoked, it is refused; deleting the tenant revokes the rest.
  const CommandResult made = As(admin_, "key create --tenant team-a");
  ASSERT_EQ(made.code, 0) << made.out;
  auto second = parasol::auth::ParseCredentials(made.out, "key create output");
  ASSERT_TRUE(second.ok()) << made.out;
  EXPECT_EQ(As(*second, "job list").code, 0);
  EXPECT_EQ(As(admin_, "key revoke " + second->access_key).code, 0);
  CommandResult refused = As(*second, "job list");
  EXPECT_EQ(refused.code, 1);
  EXPECT_NE(refused.out.find("unknown or revoked access key"), std::string::npos) << refused.out;
  EXPECT_EQ(As(a, "job list").code, 0);
  const json tenants = Json(admin_, "tenant list --json");
  ASSERT_EQ(tenants["tenants"].size(), 2u);  // admin, team-a
  EXPECT_EQ(As(admin_, "tenant delete team-a").code, 0);
  refused = As(a, "job list");
  EXPECT_NE(refused.out.find("unknown or revoked access key"), std::string::npos) << refused.out;

  // The CLI signs with ~/.parasol/credentials when no variables are set.
  fs::create_directories(dir_ / "home/.parasol");
  std::ofstream(dir_ / "home/.parasol/credentials")
      << "[default]\naws_access_key_id = " << admin_.access_key
      << "\naws_secret_access_key = " << admin_.secret_key << "\n";
  const CommandResult from_file =
      Shell("env -u PARASOL_ACCESS_KEY_ID HOME=" + (dir_ / "home").string() + " " + PARASOL_BINARY +
            " tenant list --endpoint " + endpoint_);
  EXPECT_EQ(from_file.code, 0) << from_file.out;
  EXPECT_NE(from_file.out.find("admin"), std::string::npos) << from_file.out;
}

TEST_F(ControlAuthTest, QuotasRefuseWhatWouldExceedThemAndShowUsage) {
  const SigningCredentials a = Tenant("team-q", "--cpu 2 --memory 1Gi --jobs 2");
  ASSERT_EQ(As(a, "job submit -f " + WriteSpec("q1.yaml", SleeperSpec("q1", "1.5"))).code, 0);
  CommandResult over = As(a, "job submit -f " + WriteSpec("q2.yaml", SleeperSpec("q2", "1")));
  EXPECT_EQ(over.code, 1) << over.out;
  EXPECT_NE(over.out.find("tenant 'team-q': quota exceeded for cpu: the job asks 1 cpu, 1.5 in "
                          "use by the tenant's unfinished jobs, the quota is 2 cpu"),
            std::string::npos)
      << over.out;
  CommandResult unstated = As(
      a, "job submit -f " +
             WriteSpec("q3.yaml", "name: q3\nkind: custom\nreplicas:\n  w: {command: [true]}\n"));
  EXPECT_EQ(unstated.code, 2) << unstated.out;
  EXPECT_NE(unstated.out.find("must state resources.cpu"), std::string::npos) << unstated.out;
  // Exactly at the limit fits.
  ASSERT_EQ(As(a, "job submit -f " + WriteSpec("q4.yaml", SleeperSpec("q4", "0.5"))).code, 0);
  over = As(a, "job submit -f " + WriteSpec("q5.yaml", SleeperSpec("q5", "0.1")));
  EXPECT_NE(over.out.find("quota exceeded for jobs: the job asks 1 job, 2 in use"),
            std::string::npos)
      << over.out;

  const CommandResult shown = As(a, "quota show");
  EXPECT_EQ(shown.code, 0) << shown.out;
  EXPECT_NE(shown.out.find("tenant team-q"), std::string::npos) << shown.out;
  const json q = Json(a, "quota show --json");
  EXPECT_EQ(q["usage"]["cpu"], 2.0);
  EXPECT_EQ(q["usage"]["jobs"], 2);
  EXPECT_EQ(q["usage"]["memoryBytes"], 200 << 20);
  EXPECT_EQ(q["quota"]["memoryBytes"], 1 << 30);
  EXPECT_TRUE(q["quota"]["gpu"].is_null());
  // Another tenant's quota is the admin's to see.
  EXPECT_EQ(As(a, "quota show --tenant admin").code, 1);
  EXPECT_EQ(Json(admin_, "quota show --tenant team-q --json")["usage"]["jobs"], 2);

  // Once q1 has ended, its share is free again.
  ASSERT_EQ(As(a, "job delete q1").code, 0);
  const CommandResult fits = As(a, "job submit -f " + WriteSpec("q2.yaml", SleeperSpec("q2", "1")));
  EXPECT_EQ(fits.code, 0) << fits.out;
}

TEST_F(ControlAuthTest, AuditLogRecordsWhoDidWhatWithoutSecrets) {
  const SigningCredentials a = Tenant("team-a");
  const SigningCredentials b = Tenant("team-b");
  ASSERT_EQ(As(a, "job submit -f " + WriteSpec("a.yaml", SleeperSpec("audited"))).code, 0);
  EXPECT_EQ(As(b, "job stop audited").code, 1);
  EXPECT_EQ(As(a, "job stop audited").code, 0);
  Curl(nullptr, "GET", "/api/v1/jobs");

  const json all = Json(admin_, "audit --json");
  auto has = [](const json& entries, const std::string& tenant, const std::string& action,
                const std::string& target, int result) {
    for (const auto& e : entries["entries"]) {
      if (e["tenant"] == tenant && e["action"] == action && e["target"] == target &&
          e["result"] == result) {
        return true;
      }
    }
    return false;
  };
  EXPECT_TRUE(has(all, "admin", "tenant.create", "team-a", 201)) << all.dump();
  EXPECT_TRUE(has(all, "team-a", "job.submit", "audited", 201)) << all.dump();
  EXPECT_TRUE(has(all, "team-b", "job.stop", "audited", 404)) << all.dump();
  EXPECT_TRUE(has(all, "team-a", "job.stop", "audited", 200)) << all.dump();
  EXPECT_TRUE(has(all, "", "auth", "", 401)) << all.dump();
  // A refused signature names the key it claimed to be.
  SigningCredentials forged = a;
  forged.secret_key = "guessed";
  EXPECT_EQ(As(forged, "job list").code, 1);
  bool claimed = false;
  const json after = Json(admin_, "audit --json");
  for (const auto& e : after["entries"]) {
    claimed |= e["action"] == "auth" && e["accessKey"] == a.access_key && e["result"] == 403;
  }
  EXPECT_TRUE(claimed) << after.dump();
  for (const auto& e : all["entries"]) {
    if (e["tenant"] == "team-a") {
      EXPECT_EQ(e["accessKey"], a.access_key);
    }
  }
  // A tenant reads its own entries only.
  const json mine = Json(b, "audit --json");
  ASSERT_FALSE(mine["entries"].empty());
  for (const auto& e : mine["entries"]) EXPECT_EQ(e["tenant"], "team-b") << e.dump();
  const CommandResult table = As(admin_, "audit");
  EXPECT_NE(table.out.find("job.submit"), std::string::npos) << table.out;
  const std::string log = ReadFile((dir_ / "state/audit.log").string());
  for (const std::string& secret : {admin_.secret_key, a.secret_key, b.secret_key}) {
    EXPECT_EQ(log.find(secret), std::string::npos);
  }
}

TEST(ControlNoAuthTest, TenantCommandsNeedAuth) {
  const fs::path dir =
      fs::path(::testing::TempDir()) / ("control_noauth_" + std::to_string(getpid()));
  fs::remove_all(dir);
  parasol::SpawnOptions o;
  o.argv = {PARASOL_BINARY, "control",     "--listen",
            "127.0.0.1:0",  "--state-dir", (dir / "state").string()};
  o.capture_stdout = true;
  o.die_with_parent = true;
  auto p = parasol::Subprocess::Spawn(o);
  ASSERT_TRUE(p.ok()) << p.status();
  const std::string line = (*p)->ReadLine();
  ASSERT_EQ(line.rfind("listening on ", 0), 0u) << line;
  const CommandResult r =
      Shell(std::string("env -u PARASOL_ACCESS_KEY_ID HOME=/nonexistent ") + PARASOL_BINARY +
            " tenant list --endpoint http://" + line.substr(13));
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("authentication is off"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(dir / "state/admin.credentials"));
  (*p)->Stop(SIGTERM);
  fs::remove_all(dir);
}

}  // namespace
