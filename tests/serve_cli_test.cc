// `parasol serve` as a real process on a real loopback port, driven by an HTTP client: the
// answers equal `parasol predict`, new versions go live, broken ones stay out, and a hot reload
// under load fails no request.
#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "proto/serving.grpc.pb.h"
#include "proto/tf_serving.grpc.pb.h"
#include "test_util/parasol_process.h"
#include "test_util/run_parasol.h"

namespace parasol {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using testing::RunParasol;

const std::string kChurn = std::string(PARASOL_SOURCE_DIR) + "/data/churn";

// `parasol serve ARGS...` as a child process; its first stdout line gives the port.
class Server {
 public:
  explicit Server(std::vector<std::string> args) : process_(WithServe(std::move(args))) {
    const std::string line = process_.ReadLine();
    const auto colon = line.rfind(':');
    if (line.rfind("REST listening on ", 0) == 0 && colon != std::string::npos) {
      port_ = std::stoi(line.substr(colon + 1));
    }
    const std::string grpc = process_.ReadLine();
    if (grpc.rfind("gRPC listening on ", 0) == 0) grpc_address_ = grpc.substr(18);
  }
  ~Server() { EXPECT_EQ(process_.Stop(SIGTERM), 0) << "server did not stop cleanly"; }
  int port() const { return port_; }
  const std::string& grpc_address() const { return grpc_address_; }

 private:
  static std::vector<std::string> WithServe(std::vector<std::string> args) {
    args.insert(args.begin(), "serve");
    args.insert(args.end(), {"--port", "0"});  // gRPC on any free port too
    return args;
  }
  testing::ParasolProcess process_;
  int port_ = 0;
  std::string grpc_address_;
};

class ServeCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("serve_cli_" +
            std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "_" +
            std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "churn");
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Trains `config` (model.yaml: LR, fm.yaml: FM) on churn into a version folder, via a temporary
  // name so the server never sees it half-written.
  void Train(const std::string& config, int version) {
    const fs::path tmp = dir_ / ("train-" + std::to_string(version));
    auto r = RunParasol("train --config " + kChurn + "/" + config + " --train " + kChurn +
                        "/train.csv --out " + tmp.string());
    ASSERT_EQ(r.code, 0) << r.out;
    fs::rename(tmp, dir_ / "churn" / std::to_string(version));
  }

  // GET /v1/models/churn until `pred` holds for its JSON, or 30 s pass.
  bool WaitForStatus(httplib::Client& client, const std::function<bool(const json&)>& pred) {
    for (int i = 0; i < 300; ++i) {
      auto res = client.Get("/v1/models/churn");
      if (res && res->status == 200 && pred(json::parse(res->body))) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

  fs::path dir_;
};

// version → state in a model_version_status answer.
std::map<std::string, std::string> States(const json& status) {
  std::map<std::string, std::string> out;
  for (const auto& s : status["model_version_status"]) out[s["version"]] = s["state"];
  return out;
}

// data/churn/test.csv as TF Serving instances: numbers as JSON numbers, empty as null, the label
// column left out. (The file quotes strings and has no commas inside quotes.)
json ChurnInstances() {
  std::ifstream in(kChurn + "/test.csv");
  std::string line;
  std::getline(in, line);
  auto split = [](const std::string& l) {
    std::vector<std::string> cols;
    std::stringstream ss(l);
    std::string c;
    while (std::getline(ss, c, ',')) cols.push_back(c);
    if (!l.empty() && l.back() == ',') cols.push_back("");
    return cols;
  };
  std::vector<std::string> names = split(line);
  for (auto& n : names) n = n.substr(1, n.size() - 2);
  json instances = json::array();
  while (std::getline(in, line)) {
    const auto cols = split(line);
    json row = json::object();
    for (size_t i = 0; i < cols.size(); ++i) {
      if (names[i] == "churn") continue;
      const std::string& c = cols[i];
      if (c.empty()) {
        row[names[i]] = nullptr;
      } else if (c.front() == '"') {
        row[names[i]] = c.substr(1, c.size() - 2);
      } else if (c.find('.') != std::string::npos) {
        row[names[i]] = std::stod(c);
      } else {
        row[names[i]] = std::stoll(c);
      }
    }
    instances.push_back(row);
  }
  return instances;
}

std::vector<float> PredictFile(const fs::path& model) {
  auto r = RunParasol("predict --model " + model.string() + " --data " + kChurn + "/test.csv");
  EXPECT_EQ(r.code, 0) << r.out;
  std::vector<float> probs;
  std::stringstream ss(r.out);
  std::string l;
  while (std::getline(ss, l)) probs.push_back(std::stof(l));
  return probs;
}

std::vector<float> Floats(const json& values) {
  std::vector<float> out;
  for (const auto& v : values) out.push_back(static_cast<float>(v.get<double>()));
  return out;
}

// The first `rows` instances as columns (TF Serving's columnar "inputs"): field → values.
json Columns(const json& instances, size_t rows) {
  json columns = json::object();
  for (size_t i = 0; i < rows; ++i) {
    for (const auto& [name, value] : instances[i].items()) columns[name].push_back(value);
  }
  return columns;
}

// KServe V2 "inputs": one tensor per column.
json KServeInputs(const json& columns) {
  json inputs = json::array();
  for (const auto& [name, values] : columns.items()) {
    inputs.push_back({{"name", name},
                      {"shape", {values.size()}},
                      {"datatype", values[0].is_string() ? "BYTES" : "FP32"},
                      {"data", values}});
  }
  return inputs;
}

// TF Serving's gRPC Predict request for the first `rows` instances, one tensor per column:
// DT_DOUBLE where `numeric` and every value of the column is a number, else DT_STRING (an empty
// value for null, which a numeric tensor cannot hold).
tensorflow::serving::PredictRequest TfPredictRequest(const json& instances, size_t rows,
                                                     bool numeric) {
  tensorflow::serving::PredictRequest request;
  request.mutable_model_spec()->set_name("churn");
  for (const auto& [name, unused] : instances[0].items()) {
    bool all_numbers = numeric;
    for (size_t i = 0; i < rows; ++i) all_numbers = all_numbers && instances[i][name].is_number();
    tensorflow::TensorProto& t = (*request.mutable_inputs())[name];
    t.set_dtype(all_numbers ? tensorflow::DT_DOUBLE : tensorflow::DT_STRING);
    t.mutable_tensor_shape()->add_dim()->set_size(rows);
    for (size_t i = 0; i < rows; ++i) {
      const json& v = instances[i][name];
      if (all_numbers) {
        t.add_double_val(v.get<double>());
      } else {
        t.add_string_val(v.is_string() ? v.get<std::string>() : v.is_null() ? "" : v.dump());
      }
    }
  }
  return request;
}

TEST_F(ServeCliTest, AnswersEqualParasolPredictInEveryFormat) {
  Train("fm.yaml", 1);
  Server server({"--model-base", (dir_ / "churn").string(), "--rest-port", "0"});
  ASSERT_GT(server.port(), 0);
  httplib::Client client("127.0.0.1", server.port());
  const std::vector<float> expected = PredictFile(dir_ / "churn" / "1");
  const json instances = ChurnInstances();
  ASSERT_EQ(instances.size(), expected.size());
  ASSERT_GT(expected.size(), 1000u);

  auto res = client.Post("/v1/models/churn:predict", json{{"instances", instances}}.dump(),
                         "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(Floats(json::parse(res->body)["predictions"]), expected);
  EXPECT_EQ(res->get_header_value("Parasol-Model-Version"), "1");

  // Columnar, on the first 50 rows.
  const json columns = Columns(instances, 50);
  res = client.Post("/v1/models/churn/versions/1:predict", json{{"inputs", columns}}.dump(),
                    "application/json");
  ASSERT_TRUE(res && res->status == 200) << (res ? res->body : "no answer");
  EXPECT_EQ(Floats(json::parse(res->body)["outputs"]),
            std::vector<float>(expected.begin(), expected.begin() + 50));

  // KServe V2: one tensor per column.
  res = client.Post("/v2/models/churn/infer", json{{"inputs", KServeInputs(columns)}}.dump(),
                    "application/json");
  ASSERT_TRUE(res && res->status == 200) << (res ? res->body : "no answer");
  EXPECT_EQ(Floats(json::parse(res->body)["outputs"][0]["data"]),
            std::vector<float>(expected.begin(), expected.begin() + 50));

  // gRPC: the same rows with every field as text.
  auto stub = serving::ModelService::NewStub(
      grpc::CreateChannel(server.grpc_address(), grpc::InsecureChannelCredentials()));
  serving::PredictRequest request;
  request.mutable_model_spec()->set_name("churn");
  for (size_t i = 0; i < 50; ++i) {
    auto* fields = request.add_rows()->mutable_fields();
    for (const auto& [name, value] : instances[i].items()) {
      if (value.is_string()) {
        (*fields)[name] = value.get<std::string>();
      } else if (!value.is_null()) {
        (*fields)[name] = value.dump();
      }
    }
  }
  serving::PredictResponse response;
  grpc::ClientContext context;
  ASSERT_TRUE(stub->Predict(&context, request, &response).ok());
  EXPECT_EQ(std::vector<float>(response.probabilities().begin(), response.probabilities().end()),
            std::vector<float>(expected.begin(), expected.begin() + 50));

  // Errors over the wire: JSON bodies with the right status.
  res = client.Post("/v1/models/churn:predict", R"({"instances": [{"tenur": 3}]})",
                    "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_EQ(json::parse(res->body)["error"],
            "instances[0]: unknown field 'tenur' (not in the model's schema)");
  res = client.Get("/v1/models/other");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  EXPECT_EQ(json::parse(res->body)["error"], "no model named 'other'");
  res = client.Get("/v2/health/ready");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  res = client.Get("/metrics");
  ASSERT_TRUE(res);
  // REST row + columnar + error, and gRPC: one count per model and API whatever the transport.
  EXPECT_NE(res->body.find("parasol_serve_requests_total{model=\"churn\",api=\"predict\"} 4"),
            std::string::npos)
      << res->body;

  // TF Serving's own gRPC Predict, every test row: one tensor per column (DT_DOUBLE, or
  // DT_STRING where a column has strings or empty values, which a numeric tensor cannot hold).
  auto tf_stub = tensorflow::serving::PredictionService::NewStub(
      grpc::CreateChannel(server.grpc_address(), grpc::InsecureChannelCredentials()));
  const tensorflow::serving::PredictRequest tf_request =
      TfPredictRequest(instances, instances.size(), /*numeric=*/true);
  tensorflow::serving::PredictResponse tf_response;
  grpc::ClientContext tf_context;
  const grpc::Status tf_status = tf_stub->Predict(&tf_context, tf_request, &tf_response);
  ASSERT_TRUE(tf_status.ok()) << tf_status.error_message();
  const auto& probs = tf_response.outputs().at("probability").float_val();
  EXPECT_EQ(std::vector<float>(probs.begin(), probs.end()), expected);
  EXPECT_EQ(tf_response.model_spec().version().value(), 1);
}

// Every probability within 1e-6 of the other's (deep models score in batches, whose row
// grouping may differ between a file and a request by the last bit of a GEMM).
void ExpectClose(const std::vector<float>& got, const std::vector<float>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-6) << "row " << i;
}

TEST_F(ServeCliTest, DeepModelsAnswerAsParasolPredictOnEveryApi) {
  // DeepFM, then DCN-v2, as version 1 of the churn model (small layers: fast).
  const json instances = ChurnInstances();
  for (const char* model : {"deepfm", "dcn"}) {
    SCOPED_TRACE(model);
    fs::remove_all(dir_ / "churn");
    fs::create_directories(dir_ / "churn");
    const int version = 1;
    const fs::path tmp = dir_ / (std::string("train-") + model);
    const fs::path config = dir_ / (std::string(model) + ".yaml");
    std::ofstream(config) << "format: csv\nschema: " << kChurn << "/schema.yaml\nmodel: " << model
                          << "\nembedding_dim: 8\nhidden: [32, 16]\ncross_layers: 2\nepochs: 2\n";
    auto r = RunParasol("train --config " + config.string() + " --train " + kChurn +
                        "/train.csv --out " + tmp.string());
    ASSERT_EQ(r.code, 0) << r.out;
    fs::rename(tmp, dir_ / "churn" / std::to_string(version));
    Server server({"--model-base", (dir_ / "churn").string(), "--rest-port", "0"});
    ASSERT_GT(server.port(), 0);
    httplib::Client client("127.0.0.1", server.port());
    auto tf_stub = tensorflow::serving::PredictionService::NewStub(
        grpc::CreateChannel(server.grpc_address(), grpc::InsecureChannelCredentials()));
    const std::vector<float> expected = PredictFile(dir_ / "churn" / std::to_string(version));
    ASSERT_EQ(instances.size(), expected.size());
    const std::string path = "/v1/models/churn/versions/" + std::to_string(version);
    // TF Serving REST, every row.
    auto res =
        client.Post(path + ":predict", json{{"instances", instances}}.dump(), "application/json");
    ASSERT_TRUE(res && res->status == 200) << (res ? res->body : "no answer");
    ExpectClose(Floats(json::parse(res->body)["predictions"]), expected);
    // One row at a time (a batch of one), the first 20 rows.
    for (size_t i = 0; i < 20; ++i) {
      res = client.Post(path + ":predict", json{{"instances", {instances[i]}}}.dump(),
                        "application/json");
      ASSERT_TRUE(res && res->status == 200) << (res ? res->body : "no answer");
      ExpectClose(Floats(json::parse(res->body)["predictions"]), {expected[i]});
    }
    // KServe V2, the first 50 rows as columns.
    res = client.Post("/v2/models/churn/versions/" + std::to_string(version) + "/infer",
                      json{{"inputs", KServeInputs(Columns(instances, 50))}}.dump(),
                      "application/json");
    ASSERT_TRUE(res && res->status == 200) << (res ? res->body : "no answer");
    ExpectClose(Floats(json::parse(res->body)["outputs"][0]["data"]),
                std::vector<float>(expected.begin(), expected.begin() + 50));
    // TF Serving gRPC, the first 50 rows with every column as strings.
    tensorflow::serving::PredictRequest request =
        TfPredictRequest(instances, 50, /*numeric=*/false);
    request.mutable_model_spec()->mutable_version()->set_value(version);
    tensorflow::serving::PredictResponse response;
    grpc::ClientContext context;
    const grpc::Status status = tf_stub->Predict(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    const auto& probs = response.outputs().at("probability").float_val();
    ExpectClose(std::vector<float>(probs.begin(), probs.end()),
                std::vector<float>(expected.begin(), expected.begin() + 50));
  }
}

// A loopback TCP connection that sends `bytes` and returns its descriptor (-1 on failure).
int ConnectAndSend(int port, const std::string& bytes) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      write(fd, bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size())) {
    close(fd);
    return -1;
  }
  timeval tv{20, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return fd;
}

TEST_F(ServeCliTest, StalledClientsHoldUpNoOneAndADeclaredHugeBodyIsRefusedAtOnce) {
  Train("model.yaml", 1);
  Server server(
      {"--model-base", (dir_ / "churn").string(), "--rest-port", "0", "--rest-threads", "2"});
  ASSERT_GT(server.port(), 0);
  // 256 clients stall mid-request (more than the server has threads, a hundred times over).
  std::vector<int> stalled;
  for (int i = 0; i < 256; ++i) {
    const int fd =
        ConnectAndSend(server.port(), i % 2 == 0 ? "POST /v1/models/churn:predict HTTP/1.1\r\nX-"
                                                 : "POST /v1/models/churn:predict HTTP/1.1\r\n"
                                                   "Content-Length: 500\r\n\r\n{\"inst");
    ASSERT_GE(fd, 0);
    stalled.push_back(fd);
  }
  // A normal client is answered meanwhile.
  httplib::Client normal("127.0.0.1", server.port());
  normal.set_read_timeout(20, 0);
  auto res = normal.Post("/v1/models/churn:predict", R"({"instances": [{"tenure": 3}]})",
                         "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
  // A head declaring 100 MB gets its 413 without a byte of the body sent.
  const int huge = ConnectAndSend(server.port(),
                                  "POST /v1/models/churn:predict HTTP/1.1\r\nHost: x\r\n"
                                  "Content-Length: 100000000\r\n\r\n");
  ASSERT_GE(huge, 0);
  std::string reply;
  char buf[4096];
  ssize_t n;
  while ((n = read(huge, buf, sizeof(buf))) > 0) reply.append(buf, n);
  EXPECT_EQ(reply.rfind("HTTP/1.1 413", 0), 0u) << reply;
  EXPECT_NE(reply.find("--max-body-bytes"), std::string::npos) << reply;
  close(huge);
  for (int fd : stalled) close(fd);
}

TEST_F(ServeCliTest, OversizedBodyGets413AndTheServerKeepsServing) {
  Train("model.yaml", 1);
  Server server(
      {"--model-base", (dir_ / "churn").string(), "--rest-port", "0", "--max-body-bytes", "1000"});
  ASSERT_GT(server.port(), 0);
  httplib::Client client("127.0.0.1", server.port());
  auto res = client.Post("/v1/models/churn:predict", std::string(5000, ' '), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 413);
  EXPECT_NE(json::parse(res->body)["error"].get<std::string>().find("over the limit of 1000"),
            std::string::npos);
  httplib::Client again("127.0.0.1", server.port());
  res = again.Post("/v1/models/churn:predict", R"({"instances": [{"tenure": 3}]})",
                   "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
}

// `curl ARGS` (silent); the HTTP status and body it got, or status 0 when curl failed.
struct CurlAnswer {
  int status = 0;
  std::string body;
};
CurlAnswer Curl(const std::string& args) {
  CurlAnswer answer;
  FILE* pipe = popen(("curl -s -w '\\n%{http_code}' " + args).c_str(), "r");
  if (pipe == nullptr) return answer;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof(buf), pipe)) > 0;) answer.body.append(buf, n);
  if (pclose(pipe) != 0) return {};
  const auto last = answer.body.rfind('\n');
  if (last == std::string::npos) return {};
  answer.status = std::stoi(answer.body.substr(last + 1));
  answer.body.resize(last);
  return answer;
}

// TF Serving's docs post JSON with `curl -d @file` and no Content-Type, so curl declares it
// application/x-www-form-urlencoded: any size up to --max-body-bytes is read as JSON (httplib's
// form handling used to refuse it over 8 KiB), and over the limit it is still 413.
TEST_F(ServeCliTest, CurlDashDBodiesAreJsonWhateverTheirTypeUpToTheBodyLimit) {
  Train("model.yaml", 1);
  Server server({"--model-base", (dir_ / "churn").string(), "--rest-port", "0", "--max-body-bytes",
                 "200000"});
  ASSERT_GT(server.port(), 0);
  const std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + "/v1/models/churn";
  const std::vector<float> expected = PredictFile(dir_ / "churn" / "1");
  const json instances = ChurnInstances();
  const size_t rows = 200;
  ASSERT_GT(instances.size(), rows);
  const json some(instances.begin(), instances.begin() + rows);

  const fs::path body = dir_ / "predict.json";
  std::ofstream(body) << json{{"instances", some}}.dump();
  ASSERT_GT(fs::file_size(body), 8192u * 4);
  ASSERT_LT(fs::file_size(body), 200000u);
  CurlAnswer res = Curl("-d @" + body.string() + " " + url + ":predict");
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(Floats(json::parse(res.body)["predictions"]),
            std::vector<float>(expected.begin(), expected.begin() + rows));
  // The same from a classify body (examples), as TF Serving's docs show.
  const fs::path examples = dir_ / "regress.json";
  std::ofstream(examples) << json{{"examples", some}}.dump();
  res = Curl("-d @" + examples.string() + " " + url + ":regress");
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(Floats(json::parse(res.body)["results"]),
            std::vector<float>(expected.begin(), expected.begin() + rows));

  // Over --max-body-bytes, whatever the type: 413 with the reason, and the server keeps serving.
  json many = json::array();
  while (many.dump().size() < 210000) many.insert(many.end(), some.begin(), some.end());
  const fs::path big = dir_ / "big.json";
  std::ofstream(big) << json{{"instances", many}}.dump();
  res = Curl("-d @" + big.string() + " " + url + ":predict");
  EXPECT_EQ(res.status, 413) << res.body;
  EXPECT_NE(res.body.find("over the limit of 200000 bytes"), std::string::npos) << res.body;
  res = Curl("-H 'Content-Type: application/json' -d @" + big.string() + " " + url + ":predict");
  EXPECT_EQ(res.status, 413) << res.body;

  // A multipart form is not a JSON document: refused with the way to send it.
  res = Curl("-F 'file=@" + body.string() + "' " + url + ":predict");
  EXPECT_EQ(res.status, 400) << res.body;
  EXPECT_NE(res.body.find("multipart/form-data"), std::string::npos) << res.body;
  res = Curl("-d @" + body.string() + " " + url + ":predict");
  EXPECT_EQ(res.status, 200) << res.body;
}

TEST_F(ServeCliTest, NewVersionGoesLiveAndABrokenOneNeverReplacesIt) {
  Train("model.yaml", 1);
  Server server(
      {"--model-base", (dir_ / "churn").string(), "--rest-port", "0", "--poll-seconds", "0.1"});
  ASSERT_GT(server.port(), 0);
  httplib::Client client("127.0.0.1", server.port());
  const std::string body = json{{"instances", {ChurnInstances()[0]}}}.dump();

  Train("fm.yaml", 2);
  ASSERT_TRUE(WaitForStatus(client, [](const json& s) {
    auto states = States(s);
    return states["2"] == "AVAILABLE" && states["1"] == "END";
  }));
  auto res = client.Post("/v1/models/churn:predict", body, "application/json");
  ASSERT_TRUE(res && res->status == 200);
  EXPECT_EQ(res->get_header_value("Parasol-Model-Version"), "2");
  EXPECT_EQ(Floats(json::parse(res->body)["predictions"])[0], PredictFile(dir_ / "churn" / "2")[0]);

  // Version 3: a copy of 2 with its table cut short (a crashed copy, a full disk).
  fs::copy(dir_ / "churn" / "2", dir_ / "v3");
  fs::resize_file(dir_ / "v3" / "weights.bin", 100);
  fs::rename(dir_ / "v3", dir_ / "churn" / "3");
  json v3;
  ASSERT_TRUE(WaitForStatus(client, [&v3](const json& s) {
    for (const auto& v : s["model_version_status"]) {
      if (v["version"] == "3" && v["state"] == "END") v3 = v;
    }
    return !v3.is_null();
  }));
  EXPECT_NE(v3["status"]["error_code"], "OK");
  EXPECT_NE(v3["status"]["error_message"].get<std::string>().find("weights.bin"), std::string::npos)
      << v3;
  res = client.Post("/v1/models/churn:predict", body, "application/json");
  ASSERT_TRUE(res && res->status == 200);
  EXPECT_EQ(res->get_header_value("Parasol-Model-Version"), "2");
  EXPECT_EQ(States(json::parse(client.Get("/v1/models/churn")->body))["2"], "AVAILABLE");
}

TEST_F(ServeCliTest, HotReloadAndTrafficShiftUnderLoadFailNoRequest) {
  Train("model.yaml", 1);
  const fs::path config = dir_ / "models.yaml";
  auto write_config = [&](int stable_weight, int canary_weight) {
    std::ofstream(dir_ / "models.yaml.tmp")
        << "models:\n  - name: churn\n    base_path: churn\n    version_policy: all\n"
        << "    labels: {stable: 1, canary: 2}\n    traffic: {stable: " << stable_weight
        << ", canary: " << canary_weight << "}\n";
    fs::rename(dir_ / "models.yaml.tmp", config);
  };
  write_config(100, 0);
  Server server({"--model-config", config.string(), "--rest-port", "0", "--poll-seconds", "0.1"});
  ASSERT_GT(server.port(), 0);
  const std::string body = json{{"instances", {ChurnInstances()[0], ChurnInstances()[1]}}}.dump();

  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  std::mutex mu;
  std::set<std::string> versions_seen;
  std::string first_failure;
  auto client_loop = [&] {
    httplib::Client client("127.0.0.1", server.port());
    client.set_keep_alive(true);
    while (!stop.load()) {
      auto res = client.Post("/v1/models/churn:predict", body, "application/json");
      std::lock_guard<std::mutex> lock(mu);
      if (res && res->status == 200) {
        ++ok;
        versions_seen.insert(res->get_header_value("Parasol-Model-Version"));
      } else {
        ++failed;
        if (first_failure.empty()) {
          first_failure = res ? res->body : httplib::to_string(res.error());
        }
      }
    }
  };
  std::vector<std::thread> clients;
  for (int i = 0; i < 2; ++i) clients.emplace_back(client_loop);
  httplib::Client admin("127.0.0.1", server.port());
  auto wait_for_version = [&](const std::string& v) {
    for (int i = 0; i < 300; ++i) {
      {
        std::lock_guard<std::mutex> lock(mu);
        versions_seen.clear();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      std::lock_guard<std::mutex> lock(mu);
      if (versions_seen == std::set<std::string>{v}) return true;
    }
    return false;
  };

  ASSERT_TRUE(wait_for_version("1"));
  Train("fm.yaml", 2);  // loaded while requests run; still takes no traffic (weight 0)
  ASSERT_TRUE(WaitForStatus(admin, [](const json& s) { return States(s)["2"] == "AVAILABLE"; }));
  write_config(0, 100);  // shift all traffic to the canary without a restart
  EXPECT_TRUE(wait_for_version("2"));
  write_config(100, 0);  // and back
  EXPECT_TRUE(wait_for_version("1"));
  // Latest-1 policy and a new version 3: versions 1 and 2 are unloaded while requests run.
  fs::copy(dir_ / "churn" / "2", dir_ / "v3");
  fs::rename(dir_ / "v3", dir_ / "churn" / "3");
  std::ofstream(dir_ / "models.yaml.tmp")
      << "models:\n  - {name: churn, base_path: churn, version_policy: {latest: 1}}\n";
  fs::rename(dir_ / "models.yaml.tmp", config);
  EXPECT_TRUE(wait_for_version("3"));
  EXPECT_TRUE(WaitForStatus(admin, [](const json& s) {
    auto states = States(s);
    return states["3"] == "AVAILABLE" && states["2"] == "END" && states["1"] == "END";
  }));
  stop = true;
  for (auto& t : clients) t.join();
  EXPECT_EQ(failed.load(), 0) << first_failure;
  EXPECT_GT(ok.load(), 0);
}

// Incremental updates: delta checkpoints written by `parasol cluster` and dropped into the served
// version's deltas/ folder are applied in place while a load loop runs (no request fails); the
// answers then equal `parasol predict` on the full checkpoint (base + deltas), and a delta over
// another base is refused with the reason in status.
TEST_F(ServeCliTest, DeltaCheckpointsApplyInPlaceUnderLoadAndEqualParasolPredict) {
  const fs::path job = dir_ / "job";
  auto r =
      RunParasol("cluster --config " + kChurn + "/fm.yaml --train " + kChurn + "/train.csv --out " +
                 job.string() + " --epochs 1 --batch-size 1 --checkpoint-every 1500");
  ASSERT_EQ(r.code, 0) << r.out;
  auto ckpt = [&](int id) {
    char name[32];
    std::snprintf(name, sizeof(name), "ckpt-%06d", id);
    return job / "checkpoints" / name;
  };
  ASSERT_TRUE(fs::exists(ckpt(3) / "manifest.json")) << r.out;
  for (int id : {2, 3}) {
    auto m = json::parse(std::ifstream(ckpt(id) / "manifest.json"));
    ASSERT_TRUE(m["tables"][0]["shards"][0]["delta"].get<bool>()) << id;
  }
  fs::copy(ckpt(1), dir_ / "v1", fs::copy_options::recursive);
  fs::rename(dir_ / "v1", dir_ / "churn" / "1");
  Server server(
      {"--model-base", (dir_ / "churn").string(), "--rest-port", "0", "--poll-seconds", "0.1"});
  ASSERT_GT(server.port(), 0);
  httplib::Client admin("127.0.0.1", server.port());
  const std::string body = json{{"instances", ChurnInstances()}}.dump();
  auto served = [&] {
    auto res = admin.Post("/v1/models/churn:predict", body, "application/json");
    EXPECT_TRUE(res && res->status == 200) << (res ? res->body : "no answer");
    return res && res->status == 200 ? Floats(json::parse(res->body)["predictions"])
                                     : std::vector<float>();
  };
  const std::vector<float> base = PredictFile(ckpt(1));
  const std::vector<float> full = PredictFile(ckpt(3));
  ASSERT_NE(base, full);  // the deltas change answers
  EXPECT_EQ(served(), base);

  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  const std::string small = json{{"instances", {ChurnInstances()[0], ChurnInstances()[1]}}}.dump();
  auto client_loop = [&] {
    httplib::Client client("127.0.0.1", server.port());
    client.set_keep_alive(true);
    while (!stop.load()) {
      auto res = client.Post("/v1/models/churn:predict", small, "application/json");
      (res && res->status == 200 ? ok : failed)++;
    }
  };
  std::vector<std::thread> clients;
  for (int i = 0; i < 2; ++i) clients.emplace_back(client_loop);

  // Delta 3 first: its base is checkpoint 2, not the served checkpoint 1, so it is refused.
  const fs::path deltas = dir_ / "churn" / "1" / "deltas";
  fs::create_directories(deltas);
  auto drop = [&](int id) {  // prepared under another name, renamed in
    fs::copy(ckpt(id), deltas / "incoming", fs::copy_options::recursive);
    fs::rename(deltas / "incoming", deltas / std::to_string(id));
  };
  drop(3);
  ASSERT_TRUE(WaitForStatus(admin, [](const json& s) {
    return s["model_version_status"][0]["deltas"]["refused"].contains("3");
  }));
  auto status = json::parse(admin.Get("/v1/models/churn")->body)["model_version_status"][0];
  EXPECT_NE(status["deltas"]["refused"]["3"].get<std::string>().find(
                "a delta over checkpoint 'ckpt-000002', but version 1 is at checkpoint "
                "'ckpt-000001'"),
            std::string::npos)
      << status;
  EXPECT_EQ(status["state"], "AVAILABLE");
  EXPECT_EQ(served(), base);

  // Delta 2 (over checkpoint 1) applies, and then the waiting delta 3 on top of it.
  drop(2);
  ASSERT_TRUE(WaitForStatus(
      admin, [](const json& s) { return s["model_version_status"][0]["deltas"]["applied"] == 2; }));
  status = json::parse(admin.Get("/v1/models/churn")->body)["model_version_status"][0];
  EXPECT_EQ(status["deltas"]["checkpoint"], "ckpt-000003") << status;
  EXPECT_TRUE(status["deltas"]["refused"].empty()) << status;
  EXPECT_EQ(served(), full);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  stop = true;
  for (auto& t : clients) t.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_GT(ok.load(), 0);

  const std::string metrics = admin.Get("/metrics")->body;
  EXPECT_NE(metrics.find("parasol_serve_deltas_applied_total{model=\"churn\",version=\"1\"} 2"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("parasol_serve_deltas_refused{model=\"churn\",version=\"1\"} 0"),
            std::string::npos);
}

TEST_F(ServeCliTest, QuantizedTablesAnswerNearFp32OnRestAndGrpcAndThroughAReload) {
  Train("fm.yaml", 1);
  const json instances = ChurnInstances();
  const std::vector<float> expected = PredictFile(dir_ / "churn" / "1");
  ASSERT_EQ(instances.size(), expected.size());
  auto lookup_bias = [](const std::string& address, std::vector<float>* values) {
    auto stub = serving::ModelService::NewStub(
        grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
    serving::LookupRequest request;
    request.mutable_model_spec()->set_name("churn");
    request.add_keys(~uint64_t{0});  // the bias row: every model has it
    serving::LookupResponse response;
    grpc::ClientContext context;
    const grpc::Status status = stub->Lookup(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ASSERT_EQ(response.found_size(), 1);
    EXPECT_TRUE(response.found(0));
    values->assign(response.values().begin(), response.values().end());
  };
  std::vector<float> fp32_row;
  {
    Server fp32({"--model-base", (dir_ / "churn").string(), "--rest-port", "0"});
    ASSERT_NO_FATAL_FAILURE(lookup_bias(fp32.grpc_address(), &fp32_row));
  }
  ASSERT_GT(fp32_row.size(), 1u);
  const auto [lo, hi] = std::minmax_element(fp32_row.begin(), fp32_row.end());

  for (const std::string precision : {"fp16", "int8"}) {
    SCOPED_TRACE(precision);
    fs::remove_all(dir_ / "churn" / "2");
    Server server({"--model-base", (dir_ / "churn").string(), "--rest-port", "0", "--quantize",
                   precision, "--poll-seconds", "0.1"});
    ASSERT_GT(server.port(), 0);
    const double bound = precision == "fp16" ? 2e-3 : 2e-2;
    auto expect_near = [&](const std::vector<float>& got, size_t rows) {
      ASSERT_EQ(got.size(), rows);
      for (size_t i = 0; i < rows; ++i) EXPECT_NEAR(got[i], expected[i], bound) << "row " << i;
    };
    httplib::Client client("127.0.0.1", server.port());
    auto res = client.Post("/v1/models/churn:predict", json{{"instances", instances}}.dump(),
                           "application/json");
    ASSERT_TRUE(res && res->status == 200) << (res ? res->body : "no answer");
    expect_near(Floats(json::parse(res->body)["predictions"]), instances.size());
    // TF Serving gRPC Predict, the first 50 rows.
    auto tf_stub = tensorflow::serving::PredictionService::NewStub(
        grpc::CreateChannel(server.grpc_address(), grpc::InsecureChannelCredentials()));
    tensorflow::serving::PredictRequest request = TfPredictRequest(instances, 50, false);
    tensorflow::serving::PredictResponse response;
    grpc::ClientContext context;
    const grpc::Status status = tf_stub->Predict(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    const auto& probs = response.outputs().at("probability").float_val();
    expect_near(std::vector<float>(probs.begin(), probs.end()), 50);
    // Parasol gRPC Lookup answers the decoded row: within half an int8 step (or an fp16
    // rounding) of the fp32 row.
    std::vector<float> row;
    ASSERT_NO_FATAL_FAILURE(lookup_bias(server.grpc_address(), &row));
    ASSERT_EQ(row.size(), fp32_row.size());
    for (size_t i = 0; i < row.size(); ++i) {
      const double tolerance =
          precision == "fp16" ? std::fabs(fp32_row[i]) / 1024 : (*hi - *lo) / 255 * 0.51;
      EXPECT_NEAR(row[i], fp32_row[i], tolerance + 1e-12) << i;
    }
    // A new version, loaded while serving, is quantized too.
    fs::copy(dir_ / "churn" / "1", dir_ / "train-copy", fs::copy_options::recursive);
    fs::rename(dir_ / "train-copy", dir_ / "churn" / "2");
    ASSERT_TRUE(WaitForStatus(client, [](const json& status) {
      return States(status) == std::map<std::string, std::string>{{"2", "AVAILABLE"}, {"1", "END"}};
    }));
    res = client.Post("/v1/models/churn/versions/2:predict", json{{"instances", instances}}.dump(),
                      "application/json");
    ASSERT_TRUE(res && res->status == 200) << (res ? res->body : "no answer");
    expect_near(Floats(json::parse(res->body)["predictions"]), instances.size());
    std::vector<float> reloaded;
    ASSERT_NO_FATAL_FAILURE(lookup_bias(server.grpc_address(), &reloaded));
    EXPECT_EQ(reloaded, row);
  }
  auto r = RunParasol("serve --rest-port 0 --port 0 --model-base " + (dir_ / "churn").string() +
                      " --quantize int4");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("--quantize: unknown precision 'int4' (expected fp32, fp16 or int8)"),
            std::string::npos)
      << r.out;
}

TEST_F(ServeCliTest, BadFlagsConfigsAndBusyPortsExitWithTheReason) {
  auto r = RunParasol("serve");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("give exactly one of --model-base and --model-config"), std::string::npos)
      << r.out;
  std::ofstream(dir_ / "bad.yaml") << "models: [{name: a, base_path: x, labels: {b: 1},"
                                   << " traffic: {c: 1}}]\n";
  r = RunParasol("serve --model-config " + (dir_ / "bad.yaml").string());
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("bad.yaml:1: models[0].traffic.c: not a label of this model"),
            std::string::npos)
      << r.out;
  Train("model.yaml", 1);
  Server first({"--model-base", (dir_ / "churn").string(), "--rest-port", "0"});
  ASSERT_GT(first.port(), 0);
  r = RunParasol("serve --port 0 --model-base " + (dir_ / "churn").string() + " --rest-port " +
                 std::to_string(first.port()));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("cannot listen on 127.0.0.1:" + std::to_string(first.port())),
            std::string::npos)
      << r.out;
  r = RunParasol("serve --rest-port 0 --model-base " + (dir_ / "churn").string() + " --port " +
                 first.grpc_address().substr(first.grpc_address().rfind(':') + 1));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("cannot listen on 127.0.0.1:"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace parasol
