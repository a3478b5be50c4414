// Servables loaded with --quantize fp16|int8: predictions equal those of an fp32 model whose rows
// were dequantized here, by the test's own arithmetic, and stay within a bound of the fp32
// model's; lookups answer the dequantized rows; deltas reach a quantized version; the model
// server answers over gRPC from quantized rows.
#include <grpcpp/grpcpp.h>

#include <cmath>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "common/hash.h"
#include "gtest/gtest.h"
#include "proto/serving.grpc.pb.h"
#include "serve/servable.h"
#include "serve/test_models.h"

namespace parasol {
namespace {

namespace fs = std::filesystem;

constexpr int kFields = 3;
constexpr int kIdsPerField = 60;

// The test's own dequantization of one row, from the definitions (not from RowCodec::Decode).
std::vector<float> Dequantized(const float* row, int dim, RowPrecision precision) {
  std::vector<float> out(row, row + dim);
  if (precision == RowPrecision::kFp16) {
    for (float& x : out) x = static_cast<float>(static_cast<_Float16>(x));
  } else if (precision == RowPrecision::kInt8) {
    const Int8Params p = ChooseInt8Params(row, dim);
    for (float& x : out) {
      double q = p.scale == 0 ? 0 : std::nearbyint((double(x) - p.offset) / p.scale);
      q = std::clamp(q, 0.0, double(p.qmax));
      x = static_cast<float>(q * double(p.scale) + double(p.offset));
    }
  }
  return out;
}

ModelSpec Spec(ModelType type) {
  ModelSpec spec;
  spec.type = type;
  spec.k = 7;
  spec.num_fields = kFields;
  spec.embedding_dim = 8;
  spec.hidden = {16, 8};
  spec.cross_layers = 2;
  return spec;
}

// A libffm-input model of `spec` with random rows for kFields × kIdsPerField features (and the
// bias row), its rows passed through `transform` first; the dense layers as the model
// initialises them.
void WriteModel(const fs::path& dir, const ModelSpec& spec,
                const std::function<std::vector<float>(const float*, int)>& transform) {
  auto model = Model::Create(spec);
  ASSERT_TRUE(model.ok()) << model.status();
  const int dim = (*model)->dim();
  SparseTable table(dim, [](uint64_t, float*) {});
  std::mt19937 rng(3);
  std::normal_distribution<float> weight(0.0f, 0.4f);
  auto put = [&](uint64_t key) {
    std::vector<float> row(dim);
    for (float& x : row) x = weight(rng);
    const std::vector<float> stored = transform(row.data(), dim);
    std::copy(stored.begin(), stored.end(), table.FindOrInsert(key));
  };
  for (uint32_t f = 0; f < kFields; ++f) {
    for (uint64_t id = 0; id < kIdsPerField; ++id) put(FeatureKey(f, id));
  }
  put(kBiasKey);
  table.FindOrInsert(kBiasKey)[0] = 0.3f;  // the bias itself stays fp32 in every precision
  OptimizerConfig optimizer;
  optimizer.name = "sgd";
  auto opt = CreateOptimizer(optimizer);
  ASSERT_TRUE(opt.ok());
  std::vector<float> dense((*model)->dense_size());
  (*model)->InitDense(dense.data());
  DenseWeights weights{dense.data(), nullptr, static_cast<int64_t>(dense.size()), opt->get(), 1};
  const ModelManifest manifest = BuildManifest(spec, optimizer, InputSpec{}, 0, "{}");
  ASSERT_TRUE(
      SaveModelDir(dir.string(), manifest, table, **opt, 1, dense.empty() ? nullptr : &weights)
          .ok());
}

// Random libffm rows "f:id:value ..." over the model's features, a few unknown ids among them.
std::vector<RawInstance> Rows(int n) {
  std::mt19937 rng(5);
  std::vector<RawInstance> rows(n);
  for (int i = 0; i < n; ++i) {
    rows[i].is_text = true;
    rows[i].where = "row " + std::to_string(i);
    for (int f = 0; f < kFields; ++f) {
      const int id = static_cast<int>(rng() % (kIdsPerField + 5));  // ids >= 60 are unknown
      rows[i].text +=
          std::to_string(f) + ":" + std::to_string(id) + ":" + (rng() % 2 ? "1" : "0.5") + " ";
    }
  }
  return rows;
}

class QuantizedServingTest : public ::testing::TestWithParam<ModelType> {};

TEST_P(QuantizedServingTest, PredictionsEqualAReferenceDequantizationAndStayNearFp32) {
  testing::TempDir tmp;
  const ModelSpec spec = Spec(GetParam());
  auto same = [](const float* row, int dim) { return std::vector<float>(row, row + dim); };
  ASSERT_NO_FATAL_FAILURE(WriteModel(tmp.path() / "fp32", spec, same));
  auto fp32 = Servable::Load((tmp.path() / "fp32").string(), 1);
  ASSERT_TRUE(fp32.ok()) << fp32.status();
  const std::vector<RawInstance> rows = Rows(300);
  auto want = (*fp32)->Predict(rows);
  ASSERT_TRUE(want.ok()) << want.status();

  for (RowPrecision precision : {RowPrecision::kFp16, RowPrecision::kInt8}) {
    SCOPED_TRACE(RowPrecisionName(precision));
    const fs::path reference = tmp.path() / (std::string("ref-") + RowPrecisionName(precision));
    ASSERT_NO_FATAL_FAILURE(WriteModel(reference, spec, [&](const float* row, int dim) {
      return Dequantized(row, dim, precision);
    }));
    auto quantized = Servable::Load((tmp.path() / "fp32").string(), 1, {precision});
    ASSERT_TRUE(quantized.ok()) << quantized.status();
    EXPECT_EQ((*quantized)->precision(), precision);
    auto ref = Servable::Load(reference.string(), 1);
    ASSERT_TRUE(ref.ok()) << ref.status();
    auto got = (*quantized)->Predict(rows);
    ASSERT_TRUE(got.ok()) << got.status();
    auto ref_probs = (*ref)->Predict(rows);
    ASSERT_TRUE(ref_probs.ok());
    const double bound = precision == RowPrecision::kFp16 ? 2e-3 : 2e-2;
    double worst = 0;
    for (size_t i = 0; i < rows.size(); ++i) {
      EXPECT_EQ((*got)[i], (*ref_probs)[i]) << rows[i].text;
      worst = std::max(worst, std::fabs(double((*got)[i]) - (*want)[i]));
    }
    EXPECT_LT(worst, bound);
    if (precision == RowPrecision::kInt8 && (*fp32)->dim() == 1) {
      EXPECT_EQ(worst, 0) << "a row of one weight is its own minimum: int8 keeps it exactly";
    } else {
      EXPECT_GT(worst, 0) << "quantization changed no prediction: were the rows quantized?";
    }

    // Lookups answer the dequantized rows.
    std::vector<uint64_t> keys;
    for (uint32_t f = 0; f < kFields; ++f) {
      for (uint64_t id = 0; id < kIdsPerField + 2; ++id) keys.push_back(FeatureKey(f, id));
    }
    const int d = (*quantized)->dim();
    std::vector<float> values(keys.size() * d), ref_values(keys.size() * d);
    std::unique_ptr<bool[]> found(new bool[keys.size()]), ref_found(new bool[keys.size()]);
    (*quantized)->Lookup(keys, values.data(), found.get());
    (*ref)->Lookup(keys, ref_values.data(), ref_found.get());
    for (size_t i = 0; i < keys.size(); ++i) {
      EXPECT_EQ(found[i], i % (kIdsPerField + 2) < kIdsPerField) << i;
      EXPECT_EQ(found[i], ref_found[i]);
    }
    EXPECT_EQ(values, ref_values);
  }
}

INSTANTIATE_TEST_SUITE_P(Models, QuantizedServingTest,
                         ::testing::Values(ModelType::kLr, ModelType::kFm, ModelType::kFfm,
                                           ModelType::kDnn, ModelType::kWideDeep,
                                           ModelType::kDeepFm, ModelType::kDcn),
                         [](const auto& info) { return std::string(ModelTypeName(info.param)); });

TEST(QuantizedServingDeltaTest, ADeltaReachesAQuantizedVersion) {
  testing::TempDir tmp;
  const float bias = 0.25f;
  ASSERT_NO_FATAL_FAILURE(
      testing::WriteLibsvmCheckpoint(tmp.path() / "1", 1, "", {{1, 0.5f}, {2, -1.0f}}, &bias));
  const float new_bias = -0.125f;
  ASSERT_NO_FATAL_FAILURE(testing::WriteLibsvmCheckpoint(tmp.path() / "2", 2, CheckpointDirName(1),
                                                         {{1, 1.75f}, {3, 2.5f}}, &new_bias));
  for (RowPrecision precision : {RowPrecision::kFp16, RowPrecision::kInt8}) {
    SCOPED_TRACE(RowPrecisionName(precision));
    auto servable = Servable::Load((tmp.path() / "1").string(), 1, {precision});
    ASSERT_TRUE(servable.ok()) << servable.status();
    Servable& s = **servable;
    RawInstance row;
    row.is_text = true;
    row.text = "1:1 3:1";
    auto before = s.Predict(absl::MakeConstSpan(&row, 1));
    ASSERT_TRUE(before.ok());
    EXPECT_FLOAT_EQ((*before)[0], testing::Logistic(0.25 + 0.5));
    auto applied = s.ApplyDelta((tmp.path() / "2").string());
    ASSERT_TRUE(applied.ok()) << applied.status();
    EXPECT_EQ(*applied, 3u);
    auto after = s.Predict(absl::MakeConstSpan(&row, 1));
    ASSERT_TRUE(after.ok());
    EXPECT_FLOAT_EQ((*after)[0], testing::Logistic(-0.125 + 1.75 + 2.5));
    const std::vector<uint64_t> keys = {FeatureKey(0, uint64_t{1}), FeatureKey(0, uint64_t{2}),
                                        FeatureKey(0, uint64_t{3})};
    float values[3];
    bool found[3];
    s.Lookup(keys, values, found);
    EXPECT_TRUE(found[0] && found[1] && found[2]);
    EXPECT_EQ(values[0], 1.75f);  // the delta's row
    EXPECT_EQ(values[1], -1.0f);  // untouched
    EXPECT_EQ(values[2], 2.5f);   // added by the delta
  }
}

TEST(QuantizedServingGrpcTest, LookupAndPredictOverGrpcUseTheQuantizedRows) {
  testing::TempDir tmp;
  // 0.1 is not a half: the answer shows which precision served it.
  ASSERT_NO_FATAL_FAILURE(testing::WriteLibsvmModel(tmp.path() / "m" / "1", {{4, 0.1f}}, 0.0f));
  std::ofstream(tmp.path() / "models.yaml") << "models:\n  - name: m\n    base_path: m\n";
  RepositoryOptions options;
  options.config_path = (tmp.path() / "models.yaml").string();
  options.servable.precision = RowPrecision::kFp16;
  ModelRepository repo(options);
  ASSERT_TRUE(repo.PollOnce().ok());
  auto server = ServeGrpcServer::Start("127.0.0.1:0", &repo, 1 << 20);
  ASSERT_TRUE(server.ok()) << server.status();
  auto stub = parasol::serving::ModelService::NewStub(
      grpc::CreateChannel((*server)->address(), grpc::InsecureChannelCredentials()));
  const float half = static_cast<float>(static_cast<_Float16>(0.1f));
  ASSERT_NE(half, 0.1f);

  parasol::serving::LookupRequest lookup;
  lookup.mutable_model_spec()->set_name("m");
  lookup.add_keys(FeatureKey(0, uint64_t{4}));
  parasol::serving::LookupResponse looked_up;
  grpc::ClientContext c1;
  ASSERT_TRUE(stub->Lookup(&c1, lookup, &looked_up).ok());
  ASSERT_EQ(looked_up.values_size(), 1);
  EXPECT_EQ(looked_up.values(0), half);

  parasol::serving::PredictRequest predict;
  predict.mutable_model_spec()->set_name("m");
  predict.add_rows()->set_libsvm("4:1");
  parasol::serving::PredictResponse predicted;
  grpc::ClientContext c2;
  const grpc::Status st = stub->Predict(&c2, predict, &predicted);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(predicted.probabilities_size(), 1);
  EXPECT_EQ(predicted.probabilities(0), testing::Logistic(half));
  (*server)->Shutdown();
}

}  // namespace
}  // namespace parasol
