#include "serve/serving_core.h"

#include <stdexcept>

#include "gtest/gtest.h"
#include "serve/test_models.h"

namespace parasol {
namespace {

// The call path every front end shares, without a front end: model "m" (libsvm, version 1).
class ServingCoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::WriteLibsvmModel(tmp_.path() / "m" / "1", {{1, 0.5f}}, 0);
    RepositoryOptions options;
    options.model_base = (tmp_.path() / "m").string();
    repo_ = std::make_unique<ModelRepository>(options);
    ASSERT_TRUE(repo_->PollOnce().ok());
    core_ = std::make_unique<ServingCore>(repo_.get(), nullptr);
  }
  RequestMetrics::Counts Counts(const std::string& model, ServeApi api) {
    const RequestMetrics* metrics = model.empty()
                                        ? repo_->unrouted_metrics()
                                        : repo_->snapshot()->models.at(model)->metrics.get();
    return metrics->Get(api);
  }

  testing::TempDir tmp_;
  std::unique_ptr<ModelRepository> repo_;
  std::unique_ptr<ServingCore> core_;
};

TEST_F(ServingCoreTest, ResolvesRunsAndRecordsOnce) {
  int64_t served = -1;
  auto st = core_->Call(ServeApi::kPredict, "m", VersionSelector(), true,
                        [&](const ServedModel&, const ServingCore::ServablePtr& s) {
                          served = s->version();
                          return absl::OkStatus();
                        });
  EXPECT_TRUE(st.ok()) << st;
  EXPECT_EQ(served, 1);
  EXPECT_EQ(Counts("m", ServeApi::kPredict).requests, 1u);
  EXPECT_EQ(Counts("m", ServeApi::kPredict).errors, 0u);
}

TEST_F(ServingCoreTest, UnknownModelsAndVersionsFailBeforeTheHandlerAndAreCounted) {
  bool ran = false;
  auto handler = [&](const ServedModel&, const ServingCore::ServablePtr&) {
    ran = true;
    return absl::OkStatus();
  };
  auto st = core_->Call(ServeApi::kPredict, "nope", VersionSelector(), true, handler);
  EXPECT_EQ(st.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Counts("", ServeApi::kPredict).errors, 1u);
  st = core_->Call(ServeApi::kMetadata, "m", {VersionSelector::Kind::kVersion, 7, ""}, true,
                   handler);
  EXPECT_EQ(st.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Counts("m", ServeApi::kMetadata).errors, 1u);
  EXPECT_FALSE(ran);
}

TEST_F(ServingCoreTest, AThrowingHandlerIsAnsweredAsInternalAndCounted) {
  auto st = core_->Call(ServeApi::kStatus, "m", VersionSelector(), false,
                        [](const ServedModel&, const ServingCore::ServablePtr&) -> absl::Status {
                          throw std::runtime_error("boom");
                        });
  EXPECT_EQ(st.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(st.message(), "internal error: boom");
  EXPECT_EQ(Counts("m", ServeApi::kStatus).errors, 1u);
}

}  // namespace
}  // namespace parasol
