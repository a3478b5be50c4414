// TF Serving's gRPC API on a real loopback port, called by a client built from the same schema
// (proto/tf_serving.proto, whose names and field numbers are TF Serving's): tensors and
// examples map onto raw rows, answers equal the closed-form probabilities, errors carry codes.
#include "serve/tf_grpc_service.h"

#include <grpcpp/grpcpp.h>

#include <cstring>
#include <filesystem>
#include <functional>
#include <map>

#include "gtest/gtest.h"
#include "proto/tf_serving.grpc.pb.h"
#include "serve/grpc_service.h"
#include "serve/rest_api.h"
#include "serve/test_models.h"

namespace parasol {
namespace {

namespace tfs = tensorflow::serving;
using testing::Logistic;

// Model "csv" (x numeric, c categorical: p = sigmoid(0.5 + 2x + (c == red ? 1 : 0))) and
// "svm" (libsvm: p = sigmoid(0.25 + w3 * x3), w3 = 1), both version 1; csv's label "next" names
// version 2, which does not exist; "empty" has no version at all.
constexpr float kWx = 2, kWred = 1, kBias = 0.5f;

class TfGrpcServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::WriteCsvModel(tmp_.path() / "csv" / "1", kWx, kWred, kBias);
    testing::WriteLibsvmModel(tmp_.path() / "svm" / "1", {{3, 1.0f}}, 0.25f);
    std::filesystem::create_directories(tmp_.path() / "empty");
    ASSERT_NO_FATAL_FAILURE(testing::StartGrpcTestServer(
        tmp_.path(),
        "models: [{name: csv, base_path: csv, labels: {stable: 1, next: 2}},"
        " {name: svm, base_path: svm}, {name: empty, base_path: empty}]\n",
        &grpc_));
    auto channel = grpc::CreateChannel(grpc_.server->address(), grpc::InsecureChannelCredentials());
    predict_ = tfs::PredictionService::NewStub(channel);
    models_ = tfs::ModelService::NewStub(channel);
  }

  static tensorflow::TensorProto Strings(std::vector<std::string> values) {
    tensorflow::TensorProto t;
    t.set_dtype(tensorflow::DT_STRING);
    t.mutable_tensor_shape()->add_dim()->set_size(values.size());
    for (auto& v : values) t.add_string_val(v);
    return t;
  }
  // As numpy clients send them (tf.make_tensor_proto): raw bytes in tensor_content, shape [N, 1].
  static tensorflow::TensorProto FloatContent(const std::vector<float>& values) {
    tensorflow::TensorProto t;
    t.set_dtype(tensorflow::DT_FLOAT);
    t.mutable_tensor_shape()->add_dim()->set_size(values.size());
    t.mutable_tensor_shape()->add_dim()->set_size(1);
    t.set_tensor_content(
        std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float)));
    return t;
  }

  grpc::Status Predict(const tfs::PredictRequest& request, tfs::PredictResponse* response) {
    grpc::ClientContext context;
    return predict_->Predict(&context, request, response);
  }

  // The code (and message) each RPC answers for a request whose model_spec `edit` writes (none
  // when `edit` is null), the rest of it valid for model "csv".
  using Answers = std::map<std::string, grpc::StatusCode>;
  Answers Codes(const std::function<void(tfs::ModelSpec*)>& edit,
                std::map<std::string, std::string>* messages = nullptr) {
    Answers codes;
    // One call of `method` on `stub`, with `request`'s model_spec written by `edit`.
    auto call = [&](const std::string& rpc, auto* stub, auto method, auto request, auto response) {
      if (edit) edit(request.mutable_model_spec());
      grpc::ClientContext context;
      const grpc::Status st = (stub->*method)(&context, request, &response);
      codes[rpc] = st.error_code();
      if (messages != nullptr) (*messages)[rpc] = st.error_message();
    };
    using Prediction = tfs::PredictionService::Stub;
    tfs::PredictRequest predict;
    (*predict.mutable_inputs())["x"] = FloatContent({1});
    (*predict.mutable_inputs())["c"] = Strings({"red"});
    call("Predict", predict_.get(), &Prediction::Predict, predict, tfs::PredictResponse());
    tfs::Input input;
    auto& example = *input.mutable_example_list()->add_examples()->mutable_features();
    (*example.mutable_feature())["x"].mutable_float_list()->add_value(1.0f);
    tfs::ClassificationRequest classify;
    *classify.mutable_input() = input;
    call("Classify", predict_.get(), &Prediction::Classify, classify,
         tfs::ClassificationResponse());
    tfs::RegressionRequest regress;
    *regress.mutable_input() = input;
    call("Regress", predict_.get(), &Prediction::Regress, regress, tfs::RegressionResponse());
    tfs::GetModelMetadataRequest metadata;
    metadata.add_metadata_field("signature_def");
    call("GetModelMetadata", predict_.get(), &Prediction::GetModelMetadata, metadata,
         tfs::GetModelMetadataResponse());
    call("GetModelStatus", models_.get(), &tfs::ModelService::Stub::GetModelStatus,
         tfs::GetModelStatusRequest(), tfs::GetModelStatusResponse());
    return codes;
  }
  // model_spec writers for Codes().
  using Spec = std::function<void(tfs::ModelSpec*)>;
  static Spec Named(const std::string& name, const std::string& signature = "") {
    return [=](tfs::ModelSpec* s) {
      s->set_name(name);
      if (!signature.empty()) s->set_signature_name(signature);
    };
  }
  static Spec Labelled(const std::string& name, const std::string& label) {
    return [=](tfs::ModelSpec* s) {
      s->set_name(name);
      s->set_version_label(label);
    };
  }
  static Spec AtVersion(const std::string& name, int64_t version) {
    return [=](tfs::ModelSpec* s) {
      s->set_name(name);
      s->mutable_version()->set_value(version);
    };
  }
  // Every RPC answering `code`, then the `exceptions`.
  static Answers All(grpc::StatusCode code, Answers exceptions = {}) {
    Answers all;
    for (const char* rpc : {"Predict", "Classify", "Regress", "GetModelMetadata", "GetModelStatus"})
      all[rpc] = code;
    for (const auto& [rpc, c] : exceptions) all[rpc] = c;
    return all;
  }

  testing::TempDir tmp_;
  testing::GrpcTestServer grpc_;
  std::unique_ptr<tfs::PredictionService::Stub> predict_;
  std::unique_ptr<tfs::ModelService::Stub> models_;
};

TEST_F(TfGrpcServiceTest, PredictTakesOneTensorPerColumnInEveryEncoding) {
  tfs::PredictRequest request;
  request.mutable_model_spec()->set_name("csv");
  request.mutable_model_spec()->set_signature_name("serving_default");
  (*request.mutable_inputs())["x"] = FloatContent({1.5f, -0.25f, 0.0f});
  (*request.mutable_inputs())["c"] = Strings({"red", "blue", ""});
  tfs::PredictResponse response;
  grpc::Status st = Predict(request, &response);
  ASSERT_TRUE(st.ok()) << st.error_message();
  const auto& out = response.outputs().at("probability");
  EXPECT_EQ(out.dtype(), tensorflow::DT_FLOAT);
  ASSERT_EQ(out.tensor_shape().dim_size(), 1);
  EXPECT_EQ(out.tensor_shape().dim(0).size(), 3);
  ASSERT_EQ(out.float_val_size(), 3);
  EXPECT_FLOAT_EQ(out.float_val(0), Logistic(kBias + kWx * 1.5 + kWred));
  EXPECT_FLOAT_EQ(out.float_val(1), Logistic(kBias + kWx * -0.25));
  EXPECT_FLOAT_EQ(out.float_val(2), Logistic(kBias));
  EXPECT_EQ(response.model_spec().name(), "csv");
  EXPECT_EQ(response.model_spec().version().value(), 1);
  EXPECT_EQ(response.model_spec().signature_name(), "serving_default");

  // The typed fields (float_val, double_val, int64_val) and a version label give the same.
  tensorflow::TensorProto x;
  x.set_dtype(tensorflow::DT_DOUBLE);
  x.mutable_tensor_shape()->add_dim()->set_size(1);
  x.add_double_val(1.5);
  (*request.mutable_inputs())["x"] = x;
  (*request.mutable_inputs())["c"] = Strings({"red"});
  request.mutable_model_spec()->set_version_label("stable");
  st = Predict(request, &response);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_FLOAT_EQ(response.outputs().at("probability").float_val(0),
                  Logistic(kBias + kWx * 1.5 + kWred));
  x.clear_double_val();
  x.set_dtype(tensorflow::DT_INT64);
  x.add_int64_val(2);
  (*request.mutable_inputs())["x"] = x;
  request.mutable_model_spec()->mutable_version()->set_value(1);
  request.add_output_filter("probability");
  st = Predict(request, &response);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_FLOAT_EQ(response.outputs().at("probability").float_val(0),
                  Logistic(kBias + kWx * 2 + kWred));

  // A libsvm model takes one string tensor of "idx:val ..." rows.
  tfs::PredictRequest svm;
  svm.mutable_model_spec()->set_name("svm");
  (*svm.mutable_inputs())["features"] = Strings({"3:2", "4:1"});
  st = Predict(svm, &response);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_FLOAT_EQ(response.outputs().at("probability").float_val(0), Logistic(0.25 + 2));
  EXPECT_FLOAT_EQ(response.outputs().at("probability").float_val(1), Logistic(0.25));
}

TEST_F(TfGrpcServiceTest, BadRequestsGetTheirCodeAndAMessageNamingWhatAndWhere) {
  auto expect = [&](const tfs::PredictRequest& request, grpc::StatusCode code,
                    const std::string& part) {
    tfs::PredictResponse response;
    grpc::Status st = Predict(request, &response);
    EXPECT_EQ(st.error_code(), code) << st.error_message();
    EXPECT_NE(st.error_message().find(part), std::string::npos) << st.error_message();
  };
  tfs::PredictRequest request;
  request.mutable_model_spec()->set_name("nope");
  expect(request, grpc::StatusCode::NOT_FOUND, "no model named 'nope'");
  request.mutable_model_spec()->set_name("csv");
  expect(request, grpc::StatusCode::INVALID_ARGUMENT, "inputs: empty");
  (*request.mutable_inputs())["x"] = FloatContent({1, 2});
  (*request.mutable_inputs())["c"] = Strings({"red"});
  expect(request, grpc::StatusCode::INVALID_ARGUMENT, "inputs['x']: 2 rows, but inputs['c'] has 1");
  (*request.mutable_inputs())["x"] = FloatContent({1});
  (*request.mutable_inputs())["tenure"] = Strings({"3"});
  expect(request, grpc::StatusCode::INVALID_ARGUMENT, "unknown field 'tenure'");
  request.mutable_inputs()->erase("tenure");
  auto bad = FloatContent({1});
  bad.mutable_tensor_shape()->add_dim()->set_size(3);
  (*request.mutable_inputs())["x"] = bad;
  expect(request, grpc::StatusCode::INVALID_ARGUMENT, "inputs['x']: shape [1, 1, 3]");
  bad = FloatContent({1});
  bad.set_tensor_content("abc");
  (*request.mutable_inputs())["x"] = bad;
  expect(request, grpc::StatusCode::INVALID_ARGUMENT, "tensor_content has 3 bytes");
  bad.set_dtype(tensorflow::DT_HALF);
  (*request.mutable_inputs())["x"] = bad;
  expect(request, grpc::StatusCode::INVALID_ARGUMENT, "dtype DT_HALF is not supported");
  (*request.mutable_inputs())["x"] = FloatContent({1});
  request.add_output_filter("logits");
  expect(request, grpc::StatusCode::INVALID_ARGUMENT, "no output 'logits'");
  request.clear_output_filter();
  request.mutable_model_spec()->set_signature_name("other");
  expect(request, grpc::StatusCode::FAILED_PRECONDITION, "no signature 'other'");
  request.mutable_model_spec()->clear_signature_name();
  request.mutable_model_spec()->mutable_version()->set_value(9);
  expect(request, grpc::StatusCode::NOT_FOUND, "has no version 9");
}

TEST_F(TfGrpcServiceTest, ClassifyAndRegressTakeExamplesOverAContext) {
  tfs::ClassificationRequest request;
  request.mutable_model_spec()->set_name("csv");
  auto* list = request.mutable_input()->mutable_example_list_with_context();
  auto& context = *list->mutable_context()->mutable_features()->mutable_feature();
  context["c"].mutable_bytes_list()->add_value("red");
  context["x"].mutable_float_list()->add_value(1.0f);
  list->add_examples();  // all from the context
  (*list->add_examples()->mutable_features()->mutable_feature())["x"]
      .mutable_int64_list()
      ->add_value(-1);  // x overridden
  tfs::ClassificationResponse response;
  grpc::ClientContext c1;
  grpc::Status st = predict_->Classify(&c1, request, &response);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(response.result().classifications_size(), 2);
  const auto& first = response.result().classifications(0);
  ASSERT_EQ(first.classes_size(), 2);
  EXPECT_EQ(first.classes(1).label(), "1");
  EXPECT_FLOAT_EQ(first.classes(1).score(), Logistic(kBias + kWx + kWred));
  EXPECT_EQ(first.classes(0).label(), "0");
  EXPECT_FLOAT_EQ(first.classes(0).score(), 1 - Logistic(kBias + kWx + kWred));
  EXPECT_FLOAT_EQ(response.result().classifications(1).classes(1).score(),
                  Logistic(kBias - kWx + kWred));

  tfs::RegressionRequest regress;
  regress.mutable_model_spec()->set_name("csv");
  *regress.mutable_input() = request.input();
  tfs::RegressionResponse regressed;
  grpc::ClientContext c2;
  st = predict_->Regress(&c2, regress, &regressed);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(regressed.result().regressions_size(), 2);
  EXPECT_FLOAT_EQ(regressed.result().regressions(1).value(), Logistic(kBias - kWx + kWred));
  EXPECT_EQ(regressed.model_spec().version().value(), 1);

  // A feature with two values is an error naming the example and feature.
  context["x"].mutable_float_list()->add_value(2.0f);
  *regress.mutable_input() = request.input();
  grpc::ClientContext c3;
  st = predict_->Regress(&c3, regress, &regressed);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("context feature 'x': 2 values"), std::string::npos)
      << st.error_message();
}

TEST_F(TfGrpcServiceTest, StatusAndMetadataInTfServingsShapes) {
  tfs::GetModelStatusRequest request;
  request.mutable_model_spec()->set_name("csv");
  tfs::GetModelStatusResponse response;
  grpc::ClientContext c1;
  ASSERT_TRUE(models_->GetModelStatus(&c1, request, &response).ok());
  ASSERT_EQ(response.model_version_status_size(), 1);
  EXPECT_EQ(response.model_version_status(0).version(), 1);
  EXPECT_EQ(response.model_version_status(0).state(), tfs::ModelVersionStatus::AVAILABLE);
  EXPECT_EQ(response.model_version_status(0).status().error_code(), tensorflow::error::OK);

  tfs::GetModelMetadataRequest metadata;
  metadata.mutable_model_spec()->set_name("csv");
  metadata.add_metadata_field("signature_def");
  tfs::GetModelMetadataResponse answer;
  grpc::ClientContext c2;
  ASSERT_TRUE(predict_->GetModelMetadata(&c2, metadata, &answer).ok());
  tfs::SignatureDefMap map;
  ASSERT_TRUE(answer.metadata().at("signature_def").UnpackTo(&map));
  const auto& sig = map.signature_def().at("serving_default");
  EXPECT_EQ(sig.method_name(), "tensorflow/serving/predict");
  EXPECT_EQ(sig.inputs().at("x").dtype(), tensorflow::DT_FLOAT);
  EXPECT_EQ(sig.inputs().at("c").dtype(), tensorflow::DT_STRING);
  EXPECT_EQ(sig.outputs().at("probability").dtype(), tensorflow::DT_FLOAT);

  metadata.add_metadata_field("graph");
  grpc::ClientContext c3;
  grpc::Status st = predict_->GetModelMetadata(&c3, metadata, &answer);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("'graph' is not supported"), std::string::npos);
}

// The error paths TF Serving shares with Parasol answer TF Serving's codes, read from its source
// (model_servers/server_core.cc, core/basic_manager.cc, servables/tensorflow/predict_util.cc,
// classifier.cc, regressor.cc, util.cc, get_model_metadata_impl.cc,
// model_servers/get_model_status_impl.cc): clients branch on them. README.md has the table.
using Code = grpc::StatusCode;

TEST_F(TfGrpcServiceTest, TfServingCodeForAValidRequestIsOk) {
  EXPECT_EQ(Codes(Named("csv")), All(Code::OK));
}

TEST_F(TfGrpcServiceTest, TfServingCodeForAMissingModelSpecIsInvalidArgument) {
  std::map<std::string, std::string> messages;
  EXPECT_EQ(Codes(nullptr, &messages), All(Code::INVALID_ARGUMENT));
  EXPECT_EQ(messages["Predict"], "model_spec: missing; name the model to call");
}

TEST_F(TfGrpcServiceTest, TfServingCodeForAnEmptyModelNameIsInvalidArgumentButStatusSaysNotFound) {
  // ServerCore refuses a spec without a name; GetModelStatus only finds no versions of "".
  std::map<std::string, std::string> messages;
  EXPECT_EQ(Codes(Named("", "serving_default"), &messages),
            All(Code::INVALID_ARGUMENT, {{"GetModelStatus", Code::NOT_FOUND}}));
  EXPECT_EQ(messages["Regress"], "model_spec.name: empty; name the model to call");
}

TEST_F(TfGrpcServiceTest, TfServingCodeForAnUnknownModelIsNotFound) {
  std::map<std::string, std::string> messages;
  EXPECT_EQ(Codes(Named("nope"), &messages), All(Code::NOT_FOUND));
  EXPECT_EQ(messages["GetModelMetadata"], "no model named 'nope'");
}

TEST_F(TfGrpcServiceTest, TfServingCodeForAVersionThatDoesNotServeIsNotFound) {
  std::map<std::string, std::string> messages;
  EXPECT_EQ(Codes(AtVersion("csv", 9), &messages), All(Code::NOT_FOUND));
  EXPECT_EQ(messages["Predict"], "model 'csv' has no version 9");
  // A label naming a version that is not serving (TF Serving: Specific(csv, 2) not found).
  EXPECT_EQ(Codes(Labelled("csv", "next"), &messages), All(Code::NOT_FOUND));
  EXPECT_NE(messages["Classify"].find("label 'next' → version 2"), std::string::npos)
      << messages["Classify"];
  // No version available at all (TF Serving: Latest(empty) not found; status: no versions).
  EXPECT_EQ(Codes(Named("empty"), &messages), All(Code::NOT_FOUND));
  EXPECT_NE(messages["Predict"].find("model 'empty' has no available version"), std::string::npos)
      << messages["Predict"];
  EXPECT_NE(messages["GetModelStatus"].find("model 'empty' has no versions"), std::string::npos)
      << messages["GetModelStatus"];
}

TEST_F(TfGrpcServiceTest, TfServingCodeForAnUnknownVersionLabelIsInvalidArgument) {
  std::map<std::string, std::string> messages;
  EXPECT_EQ(Codes(Labelled("csv", "nope"), &messages), All(Code::INVALID_ARGUMENT));
  EXPECT_EQ(messages["Predict"], "model 'csv' has no label 'nope'");
  // TF Serving looks the label up before the model: a label of an unknown model is unknown too
  // (GetModelStatus, which finds the model first, says the model is not found).
  EXPECT_EQ(Codes(Labelled("gone", "stable"), &messages),
            All(Code::INVALID_ARGUMENT, {{"GetModelStatus", Code::NOT_FOUND}}));
  EXPECT_EQ(messages["Regress"], "no model named 'gone', so no label 'stable'");
}

TEST_F(TfGrpcServiceTest, TfServingCodeForAnUnknownSignatureDependsOnTheRpc) {
  // predict_util.cc: FAILED_PRECONDITION; classifier.cc, regressor.cc: INVALID_ARGUMENT;
  // metadata (every signature) and status ignore the name.
  std::map<std::string, std::string> messages;
  EXPECT_EQ(Codes(Named("csv", "other"), &messages),
            All(Code::OK, {{"Predict", Code::FAILED_PRECONDITION},
                           {"Classify", Code::INVALID_ARGUMENT},
                           {"Regress", Code::INVALID_ARGUMENT}}));
  EXPECT_EQ(messages["Predict"],
            "model_spec.signature_name: no signature 'other' (this model has 'serving_default')");
}

TEST_F(TfGrpcServiceTest, TfServingCodeForMetadataFieldsIsInvalidArgumentBeforeTheLookup) {
  auto metadata = [&](const std::string& model, std::vector<std::string> fields) {
    tfs::GetModelMetadataRequest request;
    request.mutable_model_spec()->set_name(model);
    for (auto& f : fields) request.add_metadata_field(f);
    tfs::GetModelMetadataResponse response;
    grpc::ClientContext context;
    return predict_->GetModelMetadata(&context, request, &response);
  };
  grpc::Status st = metadata("csv", {});
  EXPECT_EQ(st.error_code(), Code::INVALID_ARGUMENT);
  EXPECT_EQ(st.error_message(),
            "metadata_field: empty; ask for at least one field (\"signature_def\")");
  st = metadata("csv", {"signature_def", "graph"});
  EXPECT_EQ(st.error_code(), Code::INVALID_ARGUMENT);
  EXPECT_EQ(st.error_message(), "metadata_field: 'graph' is not supported (only 'signature_def')");
  // Checked before the model is looked up, as TF Serving does.
  EXPECT_EQ(metadata("nope", {}).error_code(), Code::INVALID_ARGUMENT);
  EXPECT_EQ(metadata("nope", {"signature_def"}).error_code(), Code::NOT_FOUND);
  // Counted as calls to no model.
  const std::string page = RestApi(grpc_.repo.get(), 1 << 20).Handle({"GET", "/metrics", ""}).body;
  EXPECT_NE(page.find("parasol_serve_request_errors_total{model=\"\",api=\"metadata\"} 4\n"),
            std::string::npos)
      << page;
}

TEST_F(TfGrpcServiceTest, TfServingCodeForBadInputsIsInvalidArgument) {
  // Shapes, dtypes, unknown names, empty inputs and mismatched rows are covered by
  // BadRequestsGetTheirCodeAndAMessageNamingWhatAndWhere; here what is left of the list.
  tfs::PredictRequest request;
  request.mutable_model_spec()->set_name("csv");
  (*request.mutable_inputs())["x"] = FloatContent({1});
  request.add_output_filter("probability");
  request.add_output_filter("probability");  // predict_util.cc: duplicate output tensor alias
  tfs::PredictResponse response;
  grpc::Status st = Predict(request, &response);
  EXPECT_EQ(st.error_code(), Code::INVALID_ARGUMENT);
  EXPECT_EQ(st.error_message(), "output_filter: 'probability' named twice");

  tfs::ClassificationRequest classify;  // util.cc: "Input is empty."
  classify.mutable_model_spec()->set_name("csv");
  tfs::ClassificationResponse classes;
  grpc::ClientContext c1;
  st = predict_->Classify(&c1, classify, &classes);
  EXPECT_EQ(st.error_code(), Code::INVALID_ARGUMENT);
  EXPECT_EQ(st.error_message(), "input: no examples, nothing to score");
  classify.mutable_input()->mutable_example_list_with_context();
  grpc::ClientContext c2;
  EXPECT_EQ(predict_->Classify(&c2, classify, &classes).error_code(), Code::INVALID_ARGUMENT);
}

}  // namespace
}  // namespace parasol
