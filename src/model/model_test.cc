#include "model/model.h"

#include <cmath>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace parasol {
namespace {

struct Fixture {
  std::vector<uint64_t> keys;
  std::vector<uint32_t> fields;
  std::vector<float> values;
  std::vector<std::vector<float>> rows;
  std::vector<const float*> ptrs;
  ExampleView view() const {
    return {1.0f, static_cast<uint32_t>(keys.size()), keys.data(), fields.data(), values.data()};
  }
};

Fixture MakeExample(const Model& model, int n, int num_fields, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-0.5f, 0.5f);
  Fixture f;
  for (int i = 0; i < n; ++i) {
    f.keys.push_back(1000 + i);
    f.fields.push_back(i % num_fields);
    f.values.push_back(i % 3 == 0 ? 1.0f : u(rng) * 2);
    std::vector<float> row(model.dim());
    for (float& w : row) w = u(rng);
    f.rows.push_back(row);
  }
  for (auto& r : f.rows) f.ptrs.push_back(r.data());
  return f;
}

std::unique_ptr<Model> Make(ModelType type, int k = 4, int fields = 3) {
  ModelSpec spec;
  spec.type = type;
  spec.k = k;
  spec.num_fields = fields;
  auto model = Model::Create(spec);
  EXPECT_TRUE(model.ok()) << model.status();
  return *std::move(model);
}

// Compares the analytic gradient of the logistic loss with central finite differences.
void CheckGradient(const Model& model, int num_fields) {
  Fixture f = MakeExample(model, 6, num_fields, 7);
  ModelScratch scratch;
  const float bias = 0.1f;
  const float label = 1.0f;
  const float score = model.Score(f.view(), f.ptrs.data(), bias, &scratch);
  const float dloss = model.LossGradient(score, label);
  std::vector<float> grads(f.keys.size() * model.dim());
  model.Gradient(f.view(), f.ptrs.data(), dloss, &scratch, grads.data());

  auto loss = [&] {
    ModelScratch s;
    return LogisticLoss(Sigmoid(model.Score(f.view(), f.ptrs.data(), bias, &s)), label);
  };
  const float h = 1e-2f;
  for (size_t i = 0; i < f.rows.size(); ++i) {
    for (int j = 0; j < model.dim(); ++j) {
      const float saved = f.rows[i][j];
      f.rows[i][j] = saved + h;
      const double up = loss();
      f.rows[i][j] = saved - h;
      const double down = loss();
      f.rows[i][j] = saved;
      const double numeric = (up - down) / (2 * h);
      EXPECT_NEAR(grads[i * model.dim() + j], numeric, 2e-3) << "feature " << i << " weight " << j;
    }
  }
}

TEST(ModelTest, DimsFollowTheModelType) {
  EXPECT_EQ(Make(ModelType::kLr)->dim(), 1);
  EXPECT_EQ(Make(ModelType::kPerceptron)->dim(), 1);
  EXPECT_EQ(Make(ModelType::kFm, 8)->dim(), 9);
  EXPECT_EQ(Make(ModelType::kFfm, 4, 5)->dim(), 21);
}

TEST(ModelTest, LrScoreIsBiasPlusDotProduct) {
  auto model = Make(ModelType::kLr);
  Fixture f = MakeExample(*model, 5, 1, 3);
  ModelScratch scratch;
  float expected = 0.25f;
  for (size_t i = 0; i < f.rows.size(); ++i) expected += f.rows[i][0] * f.values[i];
  EXPECT_NEAR(model->Score(f.view(), f.ptrs.data(), 0.25f, &scratch), expected, 1e-6);
}

TEST(ModelTest, FmScoreEqualsExplicitPairwiseSum) {
  auto model = Make(ModelType::kFm, 4);
  Fixture f = MakeExample(*model, 7, 1, 5);
  double expected = 0;
  for (size_t i = 0; i < f.rows.size(); ++i) {
    expected += f.rows[i][0] * f.values[i];
    for (size_t j = i + 1; j < f.rows.size(); ++j) {
      double dot = 0;
      for (int q = 1; q <= 4; ++q) dot += f.rows[i][q] * f.rows[j][q];
      expected += dot * f.values[i] * f.values[j];
    }
  }
  ModelScratch scratch;
  EXPECT_NEAR(model->Score(f.view(), f.ptrs.data(), 0, &scratch), expected, 1e-4);
}

TEST(ModelTest, FfmUsesTheOtherFeaturesFieldVector) {
  auto model = Make(ModelType::kFfm, 2, 3);
  Fixture f = MakeExample(*model, 2, 3, 11);
  f.fields = {0, 2};
  // <v_{0, field 2}, v_{1, field 0}> x0 x1 + linear terms.
  const auto& a = f.rows[0];
  const auto& b = f.rows[1];
  const double dot = a[1 + 2 * 2] * b[1] + a[1 + 2 * 2 + 1] * b[2];
  const double expected = a[0] * f.values[0] + b[0] * f.values[1] + dot * f.values[0] * f.values[1];
  ModelScratch scratch;
  EXPECT_NEAR(model->Score(f.view(), f.ptrs.data(), 0, &scratch), expected, 1e-5);
}

TEST(ModelTest, LrGradientMatchesFiniteDifferences) { CheckGradient(*Make(ModelType::kLr), 1); }
TEST(ModelTest, FmGradientMatchesFiniteDifferences) { CheckGradient(*Make(ModelType::kFm), 1); }
TEST(ModelTest, FfmGradientMatchesFiniteDifferences) {
  CheckGradient(*Make(ModelType::kFfm, 3, 3), 3);
}

TEST(ModelTest, PerceptronUpdatesOnlyOnMistakes) {
  auto model = Make(ModelType::kPerceptron);
  EXPECT_EQ(model->LossGradient(2.0f, 1.0f), 0.0f);
  EXPECT_EQ(model->LossGradient(-2.0f, 0.0f), 0.0f);
  EXPECT_EQ(model->LossGradient(-0.5f, 1.0f), -1.0f);
  EXPECT_EQ(model->LossGradient(0.5f, 0.0f), 1.0f);
  EXPECT_EQ(model->LossGradient(0.0f, 1.0f), -1.0f);  // a zero margin is a mistake
}

TEST(ModelTest, InitialFactorsDependOnlyOnSeedAndKey) {
  auto a = Make(ModelType::kFm, 8);
  auto b = Make(ModelType::kFm, 8);
  std::vector<float> ra(9), rb(9), rc(9);
  a->InitRow(123, ra.data());
  b->InitRow(123, rb.data());
  a->InitRow(124, rc.data());
  EXPECT_EQ(ra, rb);
  EXPECT_NE(ra, rc);
  EXPECT_EQ(ra[0], 0.0f);
  for (int j = 1; j < 9; ++j) EXPECT_LE(std::fabs(ra[j]), 0.01f);
}

TEST(ModelTest, RejectsBadSpecs) {
  ModelSpec spec;
  spec.type = ModelType::kFm;
  spec.k = 0;
  EXPECT_FALSE(Model::Create(spec).ok());
  EXPECT_FALSE(ParseModelType("gbdt").ok());
}

TEST(ModelTest, SigmoidIsStableForLargeInputs) {
  EXPECT_EQ(Sigmoid(1000.0f), 1.0f);
  EXPECT_EQ(Sigmoid(-1000.0f), 0.0f);
  EXPECT_FLOAT_EQ(Sigmoid(0.0f), 0.5f);
  EXPECT_NEAR(LogisticLoss(0.0f, 1.0f), -std::log(1e-15), 1e-6);
}

}  // namespace
}  // namespace parasol
