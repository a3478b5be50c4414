// Numerical gradient checks of every deep model and layer, and the dense kernels against a naive
// product on every instruction set the CPU has.
#include "model/deep_model.h"

#include <cmath>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "model/dense_kernels.h"

namespace parasol {
namespace {

// A batch of examples over `fields` fields, several values per field (multi-hot), non-unit
// values; every feature gets its own row so that row gradients compare one to one.
struct Batch {
  ExampleBlock block;
  std::vector<std::vector<float>> rows;
  std::vector<const float*> ptrs;
  std::vector<float> dense;
};

Batch MakeBatch(const Model& model, int examples, int fields, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-0.5f, 0.5f);
  Batch b;
  uint64_t key = 1;
  for (int e = 0; e < examples; ++e) {
    for (int f = 0; f < fields; ++f) {
      const int count = 1 + (e + f) % 3;
      for (int c = 0; c < count; ++c) {
        b.block.AddFeature(key++, f, c == 0 ? 1.0f : 0.5f + u(rng));
        std::vector<float> row(model.dim());
        for (float& w : row) w = u(rng);
        b.rows.push_back(std::move(row));
      }
    }
    b.block.FinishExample(e % 2 == 0 ? 1.0f : 0.0f);
  }
  for (auto& r : b.rows) b.ptrs.push_back(r.data());
  b.dense.resize(model.dense_size());
  model.InitDense(b.dense.data());
  for (float& w : b.dense) w += 0.1f * u(rng);  // non-zero biases, no symmetric units
  return b;
}

double Loss(const Model& model, const Batch& b) {
  BatchInput in{&b.block, 0, b.block.size(), b.ptrs.data(), 0.3f, b.dense.data()};
  BatchScratch scratch;
  std::vector<float> scores(b.block.size());
  model.ScoreBatch(in, &scratch, scores.data());
  double loss = 0;
  for (size_t e = 0; e < scores.size(); ++e) {
    const double p = 1.0 / (1.0 + std::exp(-static_cast<double>(scores[e])));
    loss += b.block.labels()[e] > 0.5f ? -std::log(p) : -std::log(1 - p);
  }
  return loss;
}

// Central differences on every dense weight and every row weight against TrainBatch.
void CheckGradients(const ModelSpec& spec) {
  SCOPED_TRACE(ModelTypeName(spec.type));
  auto made = Model::Create(spec);
  ASSERT_TRUE(made.ok()) << made.status();
  const Model& model = **made;
  Batch b = MakeBatch(model, 5, spec.num_fields, 7);
  BatchInput in{&b.block, 0, b.block.size(), b.ptrs.data(), 0.3f, b.dense.data(), 99};
  BatchScratch scratch;
  std::vector<float> scores(b.block.size());
  std::vector<float> row_grads(b.block.num_features() * model.dim());
  std::vector<float> dense_grads(model.dense_size(), std::nanf(""));  // overwritten
  const float bias_grad =
      model.TrainBatch(in, &scratch, scores.data(), row_grads.data(), dense_grads.data());
  // A coordinate whose forward and backward differences disagree sits on a ReLU kink, where the
  // loss has no derivative: skipped, and counted (a few at most).
  const float h = 1e-3f;
  const double center = Loss(model, b);
  int checked = 0, kinks = 0;
  auto check = [&](float* w, double analytic, const std::string& what) {
    const float saved = *w;
    *w = saved + h;
    const double up = Loss(model, b);
    *w = saved - h;
    const double down = Loss(model, b);
    *w = saved;
    const double forward = (up - center) / h, backward = (center - down) / h;
    const double tolerance = 2e-3 + 2e-2 * std::fabs(analytic);
    if (std::fabs(forward - backward) > tolerance) {
      ++kinks;
      return;
    }
    ++checked;
    EXPECT_NEAR((up - down) / (2 * h), analytic, tolerance) << what;
  };
  for (size_t i = 0; i < b.dense.size(); ++i) {
    check(&b.dense[i], dense_grads[i], "dense " + std::to_string(i));
  }
  for (size_t r = 0; r < b.rows.size(); ++r) {
    for (int j = 0; j < model.dim(); ++j) {
      check(&b.rows[r][j], row_grads[r * model.dim() + j],
            "row " + std::to_string(r) + " weight " + std::to_string(j));
    }
  }
  EXPECT_LE(kinks, checked / 50) << kinks << " of " << checked + kinks << " on kinks";
  // The bias: d loss / d b = Σ (p − y).
  double expected_bias = 0;
  for (size_t e = 0; e < scores.size(); ++e) {
    expected_bias += 1.0 / (1.0 + std::exp(-static_cast<double>(scores[e]))) - b.block.labels()[e];
  }
  EXPECT_NEAR(bias_grad, expected_bias, 1e-4);
}

ModelSpec Spec(ModelType type) {
  ModelSpec spec;
  spec.type = type;
  spec.num_fields = 3;
  spec.embedding_dim = 4;
  spec.hidden = {6, 5};
  spec.cross_layers = 2;
  spec.init_scale = 0.5f;
  return spec;
}

TEST(DeepModelGradientTest, DnnSumPooling) { CheckGradients(Spec(ModelType::kDnn)); }

TEST(DeepModelGradientTest, DnnMeanPooling) {
  ModelSpec spec = Spec(ModelType::kDnn);
  spec.pooling = Pooling::kMean;
  CheckGradients(spec);
}

TEST(DeepModelGradientTest, DnnOneHiddenLayer) {
  ModelSpec spec = Spec(ModelType::kDnn);
  spec.hidden = {7};
  CheckGradients(spec);
}

TEST(DeepModelGradientTest, WideDeepLinearPart) { CheckGradients(Spec(ModelType::kWideDeep)); }

TEST(DeepModelGradientTest, DeepFmPart) { CheckGradients(Spec(ModelType::kDeepFm)); }

TEST(DeepModelGradientTest, DcnParallel) { CheckGradients(Spec(ModelType::kDcn)); }

TEST(DeepModelGradientTest, DcnStacked) {
  ModelSpec spec = Spec(ModelType::kDcn);
  spec.dcn_stacked = true;
  CheckGradients(spec);
}

TEST(DeepModelGradientTest, CrossLayersOnly) {
  for (bool stacked : {false, true}) {
    ModelSpec spec = Spec(ModelType::kDcn);
    spec.hidden.clear();
    spec.dcn_stacked = stacked;
    CheckGradients(spec);
  }
}

TEST(DeepModelGradientTest, FieldsBeyondTheLastShareIt) {
  ModelSpec spec = Spec(ModelType::kDnn);
  spec.num_fields = 2;  // the batch's field 2 pools into field 1
  auto model = Model::Create(spec);
  ASSERT_TRUE(model.ok());
  Batch b = MakeBatch(**model, 3, 3, 1);
  Batch merged = b;
  std::vector<uint32_t>& fields = *merged.block.mutable_fields();
  for (uint32_t& f : fields) f = std::min<uint32_t>(f, 1);
  merged.ptrs.clear();
  for (auto& r : merged.rows) merged.ptrs.push_back(r.data());
  EXPECT_DOUBLE_EQ(Loss(**model, b), Loss(**model, merged));
}

TEST(DeepModelTest, DropoutIsSeededAndOffWhenScoring) {
  ModelSpec spec = Spec(ModelType::kDnn);
  spec.dropout = 0.5f;
  auto made = Model::Create(spec);
  ASSERT_TRUE(made.ok());
  const Model& model = **made;
  Batch b = MakeBatch(model, 8, 3, 3);
  auto train_scores = [&](uint64_t seed) {
    BatchInput in{&b.block, 0, b.block.size(), b.ptrs.data(), 0, b.dense.data(), seed};
    BatchScratch scratch;
    std::vector<float> scores(b.block.size()), rg(b.block.num_features() * model.dim()),
        dg(model.dense_size(), 0.0f);
    model.TrainBatch(in, &scratch, scores.data(), rg.data(), dg.data());
    return scores;
  };
  BatchInput in{&b.block, 0, b.block.size(), b.ptrs.data(), 0, b.dense.data()};
  BatchScratch scratch;
  std::vector<float> scored(b.block.size());
  model.ScoreBatch(in, &scratch, scored.data());
  EXPECT_EQ(train_scores(5), train_scores(5));
  EXPECT_NE(train_scores(5), train_scores(6));
  EXPECT_NE(train_scores(5), scored);
}

TEST(DeepModelTest, AnExampleScoresTheSameAloneAsInABatch) {
  for (ModelType type : {ModelType::kDcn, ModelType::kDeepFm}) {
    ModelSpec spec = Spec(type);
    spec.num_fields = 8;
    spec.embedding_dim = 16;
    spec.hidden = {96, 64};
    auto made = Model::Create(spec);
    ASSERT_TRUE(made.ok());
    const Model& model = **made;
    Batch b = MakeBatch(model, 37, spec.num_fields, 11);
    BatchScratch scratch;
    std::vector<float> all(b.block.size());
    model.ScoreBatch({&b.block, 0, b.block.size(), b.ptrs.data(), 0.1f, b.dense.data()}, &scratch,
                     all.data());
    const uint32_t* offsets = b.block.offsets().data();
    for (size_t e = 0; e < b.block.size(); ++e) {
      float alone = 0;
      model.ScoreBatch({&b.block, e, e + 1, b.ptrs.data() + offsets[e], 0.1f, b.dense.data()},
                       &scratch, &alone);
      EXPECT_EQ(alone, all[e]) << ModelTypeName(type) << " example " << e;
    }
  }
}

TEST(DeepModelTest, DenseLayoutNamesEveryBlock) {
  auto made = Model::Create(Spec(ModelType::kDcn));
  ASSERT_TRUE(made.ok());
  const auto& blocks = static_cast<const DeepModel&>(**made).dense_blocks();
  std::vector<std::string> names;
  int64_t end = 0;
  for (const auto& b : blocks) {
    names.push_back(b.name);
    EXPECT_EQ(b.offset, end) << b.name;
    end = b.offset + int64_t{b.rows} * b.cols;
  }
  EXPECT_EQ(end, (*made)->dense_size());
  EXPECT_EQ(names, (std::vector<std::string>{"cross.0.weight", "cross.0.bias", "cross.1.weight",
                                             "cross.1.bias", "mlp.0.weight", "mlp.0.bias",
                                             "mlp.1.weight", "mlp.1.bias", "out.weight"}));
}

TEST(DeepModelTest, BadSpecsAreRefused) {
  ModelSpec spec = Spec(ModelType::kDnn);
  spec.hidden = {};
  EXPECT_FALSE(Model::Create(spec).ok());
  spec = Spec(ModelType::kDnn);
  spec.dropout = 1;
  EXPECT_FALSE(Model::Create(spec).ok());
  spec = Spec(ModelType::kDcn);
  spec.embedding_dim = 0;
  EXPECT_FALSE(Model::Create(spec).ok());
}

TEST(ModelBatchInterfaceTest, SparseModelsAnswerItExampleByExample) {
  for (ModelType type : {ModelType::kLr, ModelType::kFm, ModelType::kFfm}) {
    ModelSpec spec;
    spec.type = type;
    spec.k = 3;
    spec.num_fields = 3;
    auto made = Model::Create(spec);
    ASSERT_TRUE(made.ok());
    const Model& model = **made;
    Batch b = MakeBatch(model, 6, 3, 5);
    const BatchInput in{&b.block, 0, b.block.size(), b.ptrs.data(), 0.2f, nullptr};
    BatchScratch scratch;
    std::vector<float> scores(b.block.size()), trained(b.block.size());
    std::vector<float> grads(b.block.num_features() * model.dim());
    model.ScoreBatch(in, &scratch, scores.data());
    const float bias_grad = model.TrainBatch(in, &scratch, trained.data(), grads.data(), nullptr);
    EXPECT_EQ(scores, trained) << ModelTypeName(type);
    // The same as Score, LossGradient and Gradient example by example.
    ModelScratch one;
    float want_bias = 0;
    const float* const* rows = b.ptrs.data();
    const float* g = grads.data();
    for (size_t e = 0; e < b.block.size(); ++e) {
      const ExampleView ex = b.block.example(e);
      const float score = model.Score(ex, rows, 0.2f, &one);
      EXPECT_EQ(scores[e], score) << ModelTypeName(type) << " example " << e;
      const float dloss = model.LossGradient(score, ex.label);
      std::vector<float> want(static_cast<size_t>(ex.size) * model.dim());
      model.Gradient(ex, rows, dloss, &one, want.data());
      EXPECT_EQ(std::vector<float>(g, g + want.size()), want) << ModelTypeName(type);
      want_bias += dloss;
      rows += ex.size;
      g += want.size();
    }
    EXPECT_EQ(bias_grad, want_bias) << ModelTypeName(type);
  }
}

TEST(DenseKernelsTest, EveryInstructionSetMatchesANaiveProduct) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-1, 1);
  const int m = 37, n = 29, k = 53;
  std::vector<float> a(m * k), b(k * n);
  for (float& x : a) x = u(rng);
  for (float& x : b) x = u(rng);
  // Transposed copies.
  std::vector<float> at(k * m), bt(n * k);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < k; ++j) at[j * m + i] = a[i * k + j];
  for (int i = 0; i < k; ++i)
    for (int j = 0; j < n; ++j) bt[j * k + i] = b[i * n + j];
  std::vector<double> expected(m * n, 0);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j)
      for (int p = 0; p < k; ++p) expected[i * n + j] += double(a[i * k + p]) * b[p * n + j];
  const std::string chosen = dense::KernelIsa();
  int tried = 0;
  for (const char* isa : {"baseline", "avx2", "avx512"}) {
    if (!dense::UseKernelIsaForTesting(isa)) continue;
    ++tried;
    for (int ta = 0; ta < 2; ++ta) {
      for (int tb = 0; tb < 2; ++tb) {
        std::vector<float> c(m * n, 1.0f);
        dense::Gemm(ta, tb, m, n, k, ta ? at.data() : a.data(), ta ? m : k,
                    tb ? bt.data() : b.data(), tb ? k : n, /*accumulate=*/true, c.data(), n);
        for (int i = 0; i < m * n; ++i) {
          ASSERT_NEAR(c[i], expected[i] + 1.0, 1e-4) << isa << " ta=" << ta << " tb=" << tb;
        }
      }
    }
  }
  EXPECT_GE(tried, 1);
  ASSERT_TRUE(dense::UseKernelIsaForTesting(chosen.c_str()));
}

TEST(DenseKernelsTest, LinearIsTheProductAndARowGetsTheSameFloatsAloneAsInABatch) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-1, 1);
  const int m = 11, n = 13, k = 75;  // remainders everywhere: rows, columns and k
  std::vector<float> a(m * k), w(n * k), bias(n);
  for (float& x : a) x = u(rng);
  for (float& x : w) x = u(rng);
  for (float& x : bias) x = u(rng);
  const std::string chosen = dense::KernelIsa();
  for (const char* isa : {"baseline", "avx2", "avx512"}) {
    if (!dense::UseKernelIsaForTesting(isa)) continue;
    for (const bool relu : {false, true}) {
      std::vector<float> all(m * n);
      dense::Linear(m, n, k, a.data(), k, w.data(), k, bias.data(), relu, all.data(), n);
      for (int e = 0; e < m; ++e) {
        for (int j = 0; j < n; ++j) {
          double want = bias[j];
          for (int t = 0; t < k; ++t) want += double(a[e * k + t]) * w[j * k + t];
          if (relu) want = std::max(want, 0.0);
          ASSERT_NEAR(all[e * n + j], want, 1e-4) << isa << " row " << e << " col " << j;
        }
        // Alone, and as the middle row of three: the same floats.
        std::vector<float> alone(n), three(3 * n);
        dense::Linear(1, n, k, &a[e * k], k, w.data(), k, bias.data(), relu, alone.data(), n);
        const int first = std::min(std::max(e - 1, 0), m - 3);
        dense::Linear(3, n, k, &a[first * k], k, w.data(), k, bias.data(), relu, three.data(), n);
        EXPECT_EQ(alone, std::vector<float>(all.begin() + e * n, all.begin() + (e + 1) * n)) << isa;
        EXPECT_EQ(std::vector<float>(three.begin() + (e - first) * n,
                                     three.begin() + (e - first + 1) * n),
                  alone)
            << isa;
      }
    }
  }
  ASSERT_TRUE(dense::UseKernelIsaForTesting(chosen.c_str()));
}

TEST(DenseKernelsTest, ElementWiseKernelsEqualTheirScalarLoopsOnEveryInstructionSet) {
  // Odd sizes so that every vector loop has a remainder.
  constexpr int n = 7, w = 37;
  std::vector<float> a(n * w), g(n * w), mask(n * w), bias(w), s(n), v(w);
  for (int i = 0; i < n * w; ++i) {
    a[i] = std::sin(i * 0.7f);
    g[i] = std::cos(i * 0.3f) * 3;
    mask[i] = i % 3 == 0 ? 0.0f : 1.25f;
  }
  for (int j = 0; j < w; ++j) {
    bias[j] = std::sin(j * 1.1f) * 0.5f;
    v[j] = std::cos(j * 0.9f);
  }
  for (int e = 0; e < n; ++e) s[e] = 0.1f * (e - 3);
  // The plain loops the kernels promise to equal.
  std::vector<float> relu = a, back = g, back_masked = g, sums(w, 0.5f), out(w, -0.25f), og(n * w);
  for (int e = 0; e < n; ++e) {
    for (int j = 0; j < w; ++j) relu[e * w + j] = std::max(relu[e * w + j] + bias[j], 0.0f);
  }
  for (int i = 0; i < n * w; ++i) {
    back[i] = relu[i] > 0 ? back[i] : 0.0f;
    back_masked[i] = relu[i] > 0 ? back_masked[i] * mask[i] : 0.0f;
  }
  for (int e = 0; e < n; ++e) {
    for (int j = 0; j < w; ++j) {
      sums[j] += g[e * w + j];
      out[j] += s[e] * a[e * w + j];
      og[e * w + j] = s[e] * v[j];
    }
  }
  const std::string chosen = dense::KernelIsa();
  for (const char* isa : {"baseline", "avx2", "avx512"}) {
    if (!dense::UseKernelIsaForTesting(isa)) continue;
    std::vector<float> r = a, b1 = g, b2 = g, cs(w, 0.5f), o(w, -0.25f), go(n * w);
    dense::BiasRelu(n, w, bias.data(), r.data());
    dense::ReluBackward(n * w, r.data(), nullptr, b1.data());
    dense::ReluBackward(n * w, r.data(), mask.data(), b2.data());
    dense::AddColumnSums(n, w, g.data(), cs.data());
    dense::OutputLayerBackward(n, w, s.data(), a.data(), v.data(), o.data(), go.data());
    EXPECT_EQ(r, relu) << isa;
    EXPECT_EQ(b1, back) << isa;
    EXPECT_EQ(b2, back_masked) << isa;
    EXPECT_EQ(cs, sums) << isa;
    EXPECT_EQ(o, out) << isa;
    EXPECT_EQ(go, og) << isa;
  }
  ASSERT_TRUE(dense::UseKernelIsaForTesting(chosen.c_str()));
}

}  // namespace
}  // namespace parasol
