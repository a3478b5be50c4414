#include "serve/rest_api.h"

#include <nlohmann/json.hpp>

#include "gtest/gtest.h"
#include "model/model.h"
#include "serve/test_models.h"

namespace parasol {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

// Models: "csv" (x numeric, c categorical; version 1) and "svm" (libsvm; versions 1 and 2 with
// labels stable → 1, canary → 2).
class RestApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::WriteCsvModel(tmp_.path() / "csv" / "1", 0.5f, 2.0f, -1.0f);
    testing::WriteLibsvmModel(tmp_.path() / "svm" / "1", {{3, 1.0f}, {17, -2.0f}}, 0.25f);
    testing::WriteLibsvmModel(tmp_.path() / "svm" / "2", {{3, 2.0f}}, 0.0f);
    fs::create_directories(tmp_.path() / "empty");
    const fs::path config = tmp_.path() / "models.yaml";
    std::ofstream(config) << "models:\n"
                          << "  - {name: csv, base_path: csv}\n"
                          << "  - {name: svm, base_path: svm, version_policy: all,"
                          << " labels: {stable: 1, canary: 2}}\n"
                          << "  - {name: empty, base_path: empty}\n";
    RepositoryOptions options;
    options.config_path = config.string();
    repo_ = std::make_unique<ModelRepository>(options);
    ASSERT_TRUE(repo_->PollOnce().ok());
    api_ = std::make_unique<RestApi>(repo_.get(), 4096);
  }

  HttpResponse Get(const std::string& path) { return api_->Handle({"GET", path, ""}); }
  HttpResponse Post(const std::string& path, const std::string& body) {
    return api_->Handle({"POST", path, body});
  }
  // The error message of a response, checking its status.
  std::string Error(const HttpResponse& r, int status) {
    EXPECT_EQ(r.status, status) << r.body;
    json j = json::parse(r.body, nullptr, false);
    EXPECT_TRUE(j.is_object() && j.contains("error")) << r.body;
    return j.is_object() && j.contains("error") ? j["error"].get<std::string>() : "";
  }

  testing::TempDir tmp_;
  std::unique_ptr<ModelRepository> repo_;
  std::unique_ptr<RestApi> api_;
};

float P(double z) { return Sigmoid(static_cast<float>(z)); }

TEST_F(RestApiTest, PredictRowAndColumnarFormats) {
  auto r = Post("/v1/models/csv:predict",
                R"({"instances": [{"x": 2, "c": "red"}, {"x": 1, "c": "blue", "y": "Yes"}, {}]})");
  ASSERT_EQ(r.status, 200) << r.body;
  json j = json::parse(r.body);
  ASSERT_EQ(j["predictions"].size(), 3u);
  EXPECT_NEAR(j["predictions"][0].get<double>(), P(-1 + 0.5 * 2 + 2), 1e-6);
  EXPECT_NEAR(j["predictions"][1].get<double>(), P(-1 + 0.5), 1e-6);  // label field ignored
  EXPECT_NEAR(j["predictions"][2].get<double>(), P(-1), 1e-6);        // all absent

  r = Post("/v1/models/csv/versions/1:predict", R"({"inputs": {"x": [2, 0], "c": ["red", null]}})");
  ASSERT_EQ(r.status, 200) << r.body;
  j = json::parse(r.body);
  EXPECT_NEAR(j["outputs"][0].get<double>(), P(2), 1e-6);
  EXPECT_NEAR(j["outputs"][1].get<double>(), P(-1), 1e-6);
  EXPECT_EQ(r.headers,
            (std::vector<std::pair<std::string, std::string>>{{"Parasol-Model-Version", "1"}}));
}

TEST_F(RestApiTest, LibsvmStringsVersionsAndLabels) {
  auto r = Post("/v1/models/svm/labels/stable:predict", R"({"instances": ["3:1 17:0.5", "4:1"]})");
  ASSERT_EQ(r.status, 200) << r.body;
  json j = json::parse(r.body);
  EXPECT_NEAR(j["predictions"][0].get<double>(), P(0.25 + 1 - 1), 1e-6);
  EXPECT_NEAR(j["predictions"][1].get<double>(), P(0.25), 1e-6);    // unknown feature: weight 0
  r = Post("/v1/models/svm:predict", R"({"instances": ["3:1"]})");  // latest
  EXPECT_NEAR(json::parse(r.body)["predictions"][0].get<double>(), P(2), 1e-6);
  r = Post("/v1/models/svm/versions/1:predict", R"({"instances": ["3:1"]})");
  EXPECT_NEAR(json::parse(r.body)["predictions"][0].get<double>(), P(1.25), 1e-6);
}

TEST_F(RestApiTest, ClassifyAndRegress) {
  auto r = Post("/v1/models/csv:classify", R"({"context": {"c": "red"}, "examples": [{"x": 0}]})");
  ASSERT_EQ(r.status, 200) << r.body;
  json j = json::parse(r.body);
  const double p = P(-1 + 2);
  EXPECT_EQ(j["results"][0][1][0], "1");
  EXPECT_NEAR(j["results"][0][1][1].get<double>(), p, 1e-6);
  EXPECT_NEAR(j["results"][0][0][1].get<double>(), 1 - p, 1e-6);
  r = Post("/v1/models/svm:regress", R"({"examples": [{"features": "3:1"}, "3:2"]})");
  ASSERT_EQ(r.status, 200) << r.body;
  j = json::parse(r.body);
  EXPECT_NEAR(j["results"][0].get<double>(), P(2), 1e-6);
  EXPECT_NEAR(j["results"][1].get<double>(), P(4), 1e-6);
}

TEST_F(RestApiTest, StatusAndMetadataInTfServingShape) {
  auto r = Get("/v1/models/svm");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body), json::parse(R"({"model_version_status": [
      {"version": "2", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}},
      {"version": "1", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}
  ]})"));
  r = Get("/v1/models/svm/labels/stable");
  EXPECT_EQ(json::parse(r.body)["model_version_status"][0]["version"], "1");
  r = Get("/v1/models/csv/metadata");
  ASSERT_EQ(r.status, 200) << r.body;
  json sig = json::parse(r.body)["metadata"]["signature_def"]["signature_def"]["serving_default"];
  EXPECT_EQ(sig["inputs"]["x"]["dtype"], "DT_FLOAT");
  EXPECT_EQ(sig["inputs"]["c"]["dtype"], "DT_STRING");
  EXPECT_EQ(json::parse(r.body)["model_spec"]["version"], "1");
}

TEST_F(RestApiTest, ErrorsGetTheRightStatusAndSayWhat) {
  EXPECT_EQ(Error(Post("/v1/models/nope:predict", "{}"), 404), "no model named 'nope'");
  EXPECT_NE(Error(Post("/v1/models/svm/versions/7:predict", R"({"instances": ["1:1"]})"), 404)
                .find("has no version 7"),
            std::string::npos);
  EXPECT_NE(Error(Post("/v1/models/svm/labels/beta:predict", "{}"), 400).find("no label 'beta'"),
            std::string::npos);
  EXPECT_NE(Error(Get("/v1/models/svm/versions/x"), 400).find("version 'x'"), std::string::npos);
  EXPECT_EQ(Error(Post("/v1/models/csv:predict", "{oops"), 400), "request body is not valid JSON");
  EXPECT_EQ(
      Error(Post("/v1/models/csv:predict", R"({"instances": [{"x": 1, "colour": "red"}]})"), 400),
      "instances[0]: unknown field 'colour' (not in the model's schema)");
  EXPECT_NE(Error(Post("/v1/models/csv:predict", R"({"instances": [{"x": "abc"}]})"), 400)
                .find("instances[0]: "),
            std::string::npos);
  EXPECT_NE(Error(Post("/v1/models/csv:predict", R"({"instances": ["3:1"]})"), 400)
                .find("send a JSON object"),
            std::string::npos);
  EXPECT_NE(Error(Post("/v1/models/svm:predict", R"({"instances": ["3:x"]})"), 400)
                .find("instances[0]: "),
            std::string::npos);
  EXPECT_NE(
      Error(Post("/v1/models/csv:predict", std::string(5000, ' ')), 413).find("over the limit"),
      std::string::npos);
  EXPECT_NE(Error(Post("/v1/models/empty:predict", R"({"instances": ["3:1"]})"), 404)
                .find("no available version"),
            std::string::npos);
  // A /v1 path TF Serving does not serve is INVALID_ARGUMENT there ("Malformed request"): 400.
  EXPECT_NE(Error(Post("/v1/models/csv:explain", "{}"), 400).find("unknown method ':explain'"),
            std::string::npos);
  Error(Get("/v1/models/csv:predict"), 400);
  Error(Post("/v1/models/csv", "{}"), 400);
  Error(Get("/v1/models"), 400);
  EXPECT_NE(Error(Get("/v1/nothing"), 400).find("malformed request: "), std::string::npos);
  Error(Get("/nowhere"), 404);
}

// The same error paths as TF Serving's gRPC API (tf_grpc_service_test.cc), as TF Serving's REST
// API answers them: its gRPC code through the HTTP mapping both servers share (wire/).
TEST_F(RestApiTest, TfServingCodesOverRest) {
  const std::string row = R"({"instances": ["3:1"]})";
  // An unknown label is INVALID_ARGUMENT → 400, for scoring and status alike.
  EXPECT_EQ(Error(Post("/v1/models/svm/labels/beta:regress", R"({"examples": ["3:1"]})"), 400),
            "model 'svm' has no label 'beta'");
  Error(Get("/v1/models/svm/labels/beta"), 400);
  EXPECT_EQ(Error(Post("/v1/models/gone/labels/stable:predict", row), 400),
            "no model named 'gone', so no label 'stable'");
  // A version that does not serve, or none available: NOT_FOUND → 404.
  Error(Post("/v1/models/svm/versions/3:predict", row), 404);
  Error(Post("/v1/models/empty:classify", R"({"examples": ["3:1"]})"), 404);
  Error(Get("/v1/models/empty/metadata"), 404);
  // signature_name in the body: serving_default or nothing; else 400 (TF Serving's REST checks it
  // against the model's signatures: INVALID_ARGUMENT).
  EXPECT_EQ(Post("/v1/models/svm:predict", R"({"signature_name": "serving_default", )"
                                           R"("instances": ["3:1"]})")
                .status,
            200);
  EXPECT_EQ(
      Error(Post("/v1/models/svm:predict", R"({"signature_name": "other", "instances": ["3:1"]})"),
            400),
      "model_spec.signature_name: no signature 'other' (this model has 'serving_default')");
  Error(Post("/v1/models/svm:classify", R"({"signature_name": "other", "examples": ["3:1"]})"),
        400);
  EXPECT_EQ(Error(Post("/v1/models/svm:predict", R"({"signature_name": 7, "instances": []})"), 400),
            "signature_name: expected a string");
}

TEST_F(RestApiTest, KserveV2) {
  EXPECT_EQ(Get("/v2/health/live").status, 200);
  Error(Get("/v2/health/ready"), 503);  // "empty" has no version
  EXPECT_EQ(Get("/v2/models/csv/ready").status, 200);
  Error(Get("/v2/models/empty/ready"), 503);
  auto r = Get("/v2/models/svm");
  ASSERT_EQ(r.status, 200);
  json meta = json::parse(r.body);
  EXPECT_EQ(meta["name"], "svm");
  EXPECT_EQ(meta["versions"], json::array({"1", "2"}));
  EXPECT_EQ(meta["inputs"][0]["datatype"], "BYTES");
  r = Post("/v2/models/csv/versions/1/infer", R"({"id": "q", "inputs": [
      {"name": "x", "shape": [2], "datatype": "FP32", "data": [2, 0]},
      {"name": "c", "shape": [2, 1], "datatype": "BYTES", "data": [["red"], ["blue"]]}]})");
  ASSERT_EQ(r.status, 200) << r.body;
  json out = json::parse(r.body);
  EXPECT_EQ(out["id"], "q");
  EXPECT_EQ(out["model_version"], "1");
  EXPECT_EQ(out["outputs"][0]["shape"], json::array({2}));
  EXPECT_NEAR(out["outputs"][0]["data"][0].get<double>(), P(2), 1e-6);
  EXPECT_NEAR(out["outputs"][0]["data"][1].get<double>(), P(-1), 1e-6);
  Error(Post("/v2/models/csv/infer", R"({"inputs": [{"name": "x"}]})"), 400);
  Error(Get("/v2/models/csv/infer"), 404);
}

TEST_F(RestApiTest, MetricsCountRequestsErrorsAndTables) {
  Post("/v1/models/csv:predict", R"({"instances": [{"x": 1}]})");
  Post("/v1/models/csv:predict", "{bad");
  auto r = Get("/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/plain; version=0.0.4");
  for (const char* line : {
           "parasol_serve_requests_total{model=\"csv\",api=\"predict\"} 2\n",
           "parasol_serve_request_errors_total{model=\"csv\",api=\"predict\"} 1\n",
           "parasol_serve_request_latency_seconds_count{model=\"csv\",api=\"predict\"} 2\n",
           "parasol_serve_request_latency_seconds_bucket{model=\"csv\",api=\"predict\",le=\"+Inf\"}"
           " 2\n",
           "parasol_serve_loaded_versions{model=\"svm\"} 2\n",
           "parasol_serve_table_rows{model=\"csv\",version=\"1\"} 3\n",
           "# TYPE parasol_serve_request_latency_seconds histogram\n",
       }) {
    EXPECT_NE(r.body.find(line), std::string::npos) << line << "\nin\n" << r.body;
  }
}

}  // namespace
}  // namespace parasol
