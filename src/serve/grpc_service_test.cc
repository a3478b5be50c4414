#include "serve/grpc_service.h"

#include <grpcpp/grpcpp.h>

#include "common/hash.h"
#include "gtest/gtest.h"
#include "model/model.h"
#include "proto/serving.grpc.pb.h"
#include "serve/rest_api.h"
#include "serve/test_models.h"

namespace parasol {
namespace {

// A real gRPC server on a loopback port over a repository with model "svm" (libsvm, versions 1
// and 2, label stable → 1) and a sync client (the callback API double-frees under ASan).
class GrpcServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::WriteLibsvmModel(tmp_.path() / "svm" / "1", {{3, 1.0f}, {17, -2.0f}}, 0.25f);
    testing::WriteLibsvmModel(tmp_.path() / "svm" / "2", {{3, 2.0f}}, 0.0f);
    ASSERT_NO_FATAL_FAILURE(testing::StartGrpcTestServer(
        tmp_.path(),
        "models: [{name: svm, base_path: svm, version_policy: all, labels: {stable: 1}}]\n",
        &grpc_));
    repo_ = grpc_.repo.get();
    server_ = grpc_.server.get();
    stub_ = serving::ModelService::NewStub(
        grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials()));
  }

  testing::TempDir tmp_;
  testing::GrpcTestServer grpc_;
  ModelRepository* repo_ = nullptr;
  ServeGrpcServer* server_ = nullptr;
  std::unique_ptr<serving::ModelService::Stub> stub_;
};

TEST_F(GrpcServiceTest, PredictByVersionLabelAndDefault) {
  serving::PredictRequest request;
  request.mutable_model_spec()->set_name("svm");
  request.add_rows()->set_libsvm("3:1 17:0.5");
  serving::PredictResponse response;
  grpc::ClientContext c1;
  ASSERT_TRUE(stub_->Predict(&c1, request, &response).ok());
  EXPECT_EQ(response.model_spec().version(), 2);  // newest
  EXPECT_NEAR(response.probabilities(0), Sigmoid(2.0f), 1e-6);

  request.mutable_model_spec()->set_version_label("stable");
  grpc::ClientContext c2;
  ASSERT_TRUE(stub_->Predict(&c2, request, &response).ok());
  EXPECT_EQ(response.model_spec().version(), 1);
  EXPECT_NEAR(response.probabilities(0), Sigmoid(0.25f), 1e-6);
}

TEST_F(GrpcServiceTest, ErrorsCarryTheirCodeAndMessage) {
  serving::PredictRequest request;
  request.mutable_model_spec()->set_name("nope");
  request.add_rows()->set_libsvm("3:1");
  serving::PredictResponse response;
  grpc::ClientContext c1;
  grpc::Status st = stub_->Predict(&c1, request, &response);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(st.error_message(), "no model named 'nope'");
  // Counted where REST's /metrics shows requests for no known model.
  const std::string metrics = RestApi(repo_, 1 << 20).Handle({"GET", "/metrics", ""}).body;
  EXPECT_NE(metrics.find("parasol_serve_request_errors_total{model=\"\",api=\"predict\"} 1\n"),
            std::string::npos)
      << metrics;

  request.mutable_model_spec()->set_name("svm");
  request.mutable_rows(0)->set_libsvm("3:x");
  grpc::ClientContext c2;
  st = stub_->Predict(&c2, request, &response);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(st.error_message().rfind("rows[0]: ", 0), 0u) << st.error_message();

  request.mutable_model_spec()->set_version(9);
  grpc::ClientContext c3;
  EXPECT_EQ(stub_->Predict(&c3, request, &response).error_code(), grpc::StatusCode::NOT_FOUND);

  serving::LookupRequest big;  // over the 1 MiB message bound
  big.mutable_model_spec()->set_name("svm");
  for (int i = 0; i < 200000; ++i) big.add_keys(i);
  serving::LookupResponse rows;
  grpc::ClientContext c4;
  EXPECT_EQ(stub_->Lookup(&c4, big, &rows).error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
}

TEST_F(GrpcServiceTest, StatusMetadataAndLookup) {
  serving::GetModelStatusRequest status_request;
  status_request.mutable_model_spec()->set_name("svm");
  serving::GetModelStatusResponse status;
  grpc::ClientContext c1;
  ASSERT_TRUE(stub_->GetModelStatus(&c1, status_request, &status).ok());
  ASSERT_EQ(status.model_version_status_size(), 2);
  EXPECT_EQ(status.model_version_status(0).version(), 2);
  EXPECT_EQ(status.model_version_status(0).state(), "AVAILABLE");

  serving::GetModelMetadataRequest meta_request;
  meta_request.mutable_model_spec()->set_name("svm");
  meta_request.mutable_model_spec()->set_version(1);
  serving::GetModelMetadataResponse meta;
  grpc::ClientContext c2;
  ASSERT_TRUE(stub_->GetModelMetadata(&c2, meta_request, &meta).ok());
  EXPECT_EQ(meta.model_type(), "lr");
  EXPECT_EQ(meta.input_format(), "libsvm");
  EXPECT_EQ(meta.dim(), 1u);
  EXPECT_EQ(meta.table_rows(), 3u);  // two features and the bias

  serving::LookupRequest lookup;
  lookup.mutable_model_spec()->set_name("svm");
  lookup.mutable_model_spec()->set_version(1);
  lookup.add_keys(FeatureKey(0, uint64_t{17}));
  lookup.add_keys(12345);  // absent
  lookup.add_keys(FeatureKey(0, uint64_t{3}));
  serving::LookupResponse rows;
  grpc::ClientContext c3;
  ASSERT_TRUE(stub_->Lookup(&c3, lookup, &rows).ok());
  EXPECT_EQ(rows.dim(), 1u);
  ASSERT_EQ(rows.values_size(), 3);
  EXPECT_EQ(rows.values(0), -2.0f);
  EXPECT_EQ(rows.values(1), 0.0f);
  EXPECT_EQ(rows.values(2), 1.0f);
  EXPECT_TRUE(rows.found(0));
  EXPECT_FALSE(rows.found(1));
}

}  // namespace
}  // namespace parasol
