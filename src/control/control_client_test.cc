// ControlClient against a real HTTP server on a loopback port of the kernel's choice that answers
// what the test says: good replies come through, malformed ones are errors naming the field.
#include "control/control_client.h"

#include <httplib.h>

#include <mutex>
#include <thread>

#include "control/job_record.h"
#include "gtest/gtest.h"

namespace parasol::control {
namespace {

// Answers every request with `status` and `body`.
class CannedServer {
 public:
  CannedServer() {
    auto answer = [this](const httplib::Request&, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mu_);
      res.status = status_;
      res.set_content(body_, "application/json");
    };
    server_.Get(".*", answer);
    server_.Post(".*", answer);
    server_.Delete(".*", answer);
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~CannedServer() {
    server_.stop();
    thread_.join();
  }
  void Answer(int status, std::string body) {
    std::lock_guard<std::mutex> lock(mu_);
    status_ = status;
    body_ = std::move(body);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  int status_ = 200;
  std::string body_;
};

// A record as the service writes it.
nlohmann::json GoodJob() {
  JobRecord job;
  job.spec = *ParseJobSpec(
      "name: j\nkind: custom\nworkingDir: /w\nreplicas: {worker: {command: [x]}}\n", "j.yaml");
  ReplicaStatus r;
  r.name = "worker-0";
  r.role = "worker";
  r.exit_code = 0;
  job.replicas.push_back(r);
  return nlohmann::json::parse(JobRecordToJson(job));
}

class ControlClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto client = ControlClient::Create(server_.url());
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = *std::move(client);
  }
  // What Get("j") makes of a reply `body` (status 200).
  absl::Status GetWith(const std::string& body) {
    server_.Answer(200, body);
    return client_->Get("j").status();
  }

  CannedServer server_;
  std::unique_ptr<ControlClient> client_;
};

TEST_F(ControlClientTest, WellFormedRepliesComeThrough) {
  server_.Answer(200, GoodJob().dump());
  auto job = client_->Get("j");
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(job->name, "j");
  EXPECT_EQ(job->working_dir, "/w");
  EXPECT_EQ(job->restart_policy, "Never");
  ASSERT_EQ(job->replicas.size(), 1u);
  EXPECT_EQ(job->replicas[0].name, "worker-0");
  EXPECT_EQ(job->replicas[0].exit_code, 0);
  EXPECT_EQ(job->json, GoodJob());  // as sent, for --json
  // Fields a newer service adds are not read, so they are no error.
  nlohmann::json newer = GoodJob();
  newer["priority"] = 3;
  newer["replicas"][0]["node"] = "n1";
  server_.Answer(200, nlohmann::json{{"jobs", {GoodJob(), newer}}}.dump());
  auto list = client_->List();
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_EQ(list->jobs.size(), 2u);
  server_.Answer(200, R"({"job": "j", "series": [{"replica": "w", "name": "loss",
                      "points": [[1, 0.5, 17.0], [2, 0.4, 18.0]]}]})");
  auto metrics = client_->Metrics("j");
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  ASSERT_EQ(metrics->series.size(), 1u);
  EXPECT_EQ(metrics->series[0].points,
            (std::vector<std::pair<double, double>>{{1, 0.5}, {2, 0.4}}));
  server_.Answer(202, R"({"deleted": false})");
  auto deleted = client_->Delete("j");
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_FALSE(*deleted);
  // The service's own errors keep their code and message.
  server_.Answer(404, R"({"error": "no job named 'j'", "code": "NOT_FOUND"})");
  EXPECT_EQ(client_->Get("j").status(), absl::NotFoundError("no job named 'j'"));
}

TEST_F(ControlClientTest, MalformedRepliesAreErrorsNamingTheField) {
  struct Case {
    std::string what;
    nlohmann::json reply;
    std::string message;
  };
  nlohmann::json no_state = GoodJob();
  no_state.erase("state");
  nlohmann::json exit_text = GoodJob();
  exit_text["replicas"][0]["exitCode"] = "3";
  nlohmann::json pid_float = GoodJob();
  pid_float["replicas"][0]["pid"] = 1.5;
  nlohmann::json no_spec = GoodJob();
  no_spec.erase("spec");
  nlohmann::json dir_number = GoodJob();
  dir_number["spec"]["workingDir"] = 7;
  nlohmann::json replicas_object = GoodJob();
  replicas_object["replicas"] = nlohmann::json::object();
  const std::vector<Case> cases = {
      {"a missing field", no_state, "state: required"},
      {"a string for a number", exit_text,
       "replicas[0].exitCode: expected an integer, got the string \"3\""},
      {"a fraction for an integer", pid_float, "replicas[0].pid: expected an integer, got '1.5'"},
      {"a missing object", no_spec, "spec: required"},
      {"a nested field of another type", dir_number, "spec.workingDir: expected a string, got '7'"},
      {"an object for a list", replicas_object, "replicas: expected a list, got a mapping"},
      {"not an object", nlohmann::json::array({1, 2}), "expected a mapping, got a list"},
  };
  for (const Case& c : cases) {
    const absl::Status st = GetWith(c.reply.dump());
    EXPECT_EQ(st.code(), absl::StatusCode::kInternal) << c.what << ": " << st;
    EXPECT_EQ(st.message(),
              "the control service sent a malformed reply to GET /api/v1/jobs/j: " + c.message)
        << c.what;
  }
  const absl::Status not_json = GetWith("<html>");
  EXPECT_EQ(not_json.code(), absl::StatusCode::kInternal);
  EXPECT_NE(not_json.message().find("sent bad JSON to GET /api/v1/jobs/j"), std::string::npos)
      << not_json;

  const std::string sent = "the control service sent a malformed reply to ";
  server_.Answer(200, R"({"jobs": [{"name": "x"}]})");
  EXPECT_EQ(client_->List().status(),
            absl::InternalError(sent + "GET /api/v1/jobs: jobs[0].kind: required"));
  server_.Answer(200, R"({"series": [{"replica": "w", "name": "loss", "points": [[1]]}]})");
  EXPECT_EQ(client_->Metrics("j").status(),
            absl::InternalError(sent + "GET /api/v1/jobs/j/metrics: series[0].points[0]: "
                                       "expected [step, value, ...], got 1 item(s)"));
  server_.Answer(200, R"({"series": [{"replica": "w", "name": "loss", "points": [[1, "x"]]}]})");
  EXPECT_EQ(client_->Metrics("j").status(),
            absl::InternalError(sent + "GET /api/v1/jobs/j/metrics: series[0].points[0][1]: "
                                       "expected a number, got the string \"x\""));
  server_.Answer(200, R"({"deleted": "yes"})");
  EXPECT_EQ(client_->Delete("j").status(),
            absl::InternalError(sent + "DELETE /api/v1/jobs/j: deleted: expected true or false, "
                                       "got the string \"yes\""));
  server_.Answer(201, R"({"name": 5})");
  EXPECT_EQ(client_->Submit("name: j", "j.yaml", "").status(),
            absl::InternalError(sent + "POST /api/v1/jobs: name: expected a string, got '5'"));
  server_.Answer(200, "null");
  EXPECT_EQ(
      client_->Stop("j").status(),
      absl::InternalError(sent + "POST /api/v1/jobs/j/stop: expected a mapping, got nothing"));
}

}  // namespace
}  // namespace parasol::control
