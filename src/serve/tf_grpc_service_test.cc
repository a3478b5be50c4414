// TF Serving's gRPC API on a real loopback port, called by a client built from the same schema
// (proto/tf_serving.proto, whose names and field numbers are TF Serving's): tensors and
// examples map onto raw rows, answers equal the closed-form probabilities, errors carry codes.
#include "serve/tf_grpc_service.h"

#include <grpcpp/grpcpp.h>

#include <cstring>

#include "gtest/gtest.h"
#include "proto/tf_serving.grpc.pb.h"
#include "serve/grpc_service.h"
#include "serve/test_models.h"

namespace parasol {
namespace {

namespace tfs = tensorflow::serving;
using testing::Logistic;

// Model "csv" (x numeric, c categorical: p = sigmoid(0.5 + 2x + (c == red ? 1 : 0))) and
// "svm" (libsvm: p = sigmoid(0.25 + w3 * x3), w3 = 1), both version 1.
constexpr float kWx = 2, kWred = 1, kBias = 0.5f;

class TfGrpcServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::WriteCsvModel(tmp_.path() / "csv" / "1", kWx, kWred, kBias);
    testing::WriteLibsvmModel(tmp_.path() / "svm" / "1", {{3, 1.0f}}, 0.25f);
    ASSERT_NO_FATAL_FAILURE(testing::StartGrpcTestServer(
        tmp_.path(),
        "models: [{name: csv, base_path: csv, labels: {stable: 1}}, {name: svm, base_path: svm}]\n",
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
  expect(request, grpc::StatusCode::NOT_FOUND, "no signature 'other'");
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

}  // namespace
}  // namespace parasol
