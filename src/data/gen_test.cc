#include "data/gen.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <numeric>
#include <string>
#include <string_view>
#include <vector>

#include "common/hash.h"
#include "data/reader.h"
#include "data/test_files.h"
#include "gtest/gtest.h"

namespace parasol {
namespace {

using ::parasol::testing::ReadFileBytes;
using ::parasol::testing::TempPath;

struct Parsed {
  std::vector<int> labels;
  std::vector<std::vector<uint64_t>> ids;  // per row, the written 1-based indices
};

Parsed ParseGenerated(const std::string& text) {
  Parsed p;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t nl = text.find('\n', pos);
    EXPECT_NE(nl, std::string::npos);
    const std::string_view line(text.data() + pos, nl - pos);
    pos = nl + 1;
    EXPECT_TRUE(line[0] == '0' || line[0] == '1') << line;
    p.labels.push_back(line[0] - '0');
    std::vector<uint64_t> ids;
    size_t i = 1;
    while (i < line.size()) {
      EXPECT_EQ(line[i], ' ');
      uint64_t id = 0;
      auto r = std::from_chars(line.data() + i + 1, line.data() + line.size(), id);
      EXPECT_EQ(std::string_view(r.ptr, 2), ":1");
      ids.push_back(id);
      i = static_cast<size_t>(r.ptr - line.data()) + 2;
    }
    p.ids.push_back(std::move(ids));
  }
  return p;
}

// Reads the first block of `path` with the default reader options.
void ReadFirstBlock(const std::string& path, ExampleBlock* block) {
  auto reader = OpenDataReader(path, ReaderOptions());
  ASSERT_TRUE(reader.ok()) << reader.status();
  auto more = (*reader)->Next(block);
  ASSERT_TRUE(more.ok() && *more) << more.status();
}

// Removes the "field:" prefix of every libffm token: what the line says without --fields.
std::string StripFields(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    out.push_back(text[i]);
    if (text[i++] == ' ') i = text.find(':', i) + 1;
  }
  return out;
}

// Mann-Whitney AUC of scores against 0/1 labels.
double Auc(const std::vector<double>& scores, const std::vector<int>& labels) {
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  double rank_sum = 0, pos = 0;
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j + 1 < order.size() && scores[order[j + 1]] == scores[order[i]]) ++j;
    for (size_t k = i; k <= j; ++k) {
      if (labels[order[k]]) rank_sum += 0.5 * double(i + j) + 1, pos += 1;
    }
    i = j + 1;
  }
  const double neg = static_cast<double>(labels.size()) - pos;
  return (rank_sum - pos * (pos + 1) / 2) / (pos * neg);
}

// Test AUC of a logistic regression with one weight per written id (AdaGrad, several epochs over
// the first `train` rows, scored on the rest): the best a per-feature model does here.
double LogisticRegressionAuc(const Parsed& p, size_t train, size_t vocab) {
  std::vector<double> w(vocab + 1, 0.0), g2(vocab + 1, 1e-8);
  double bias = 0, bias_g2 = 1e-8;
  constexpr double kLr = 0.1;
  for (int epoch = 0; epoch < 8; ++epoch) {
    for (size_t r = 0; r < train; ++r) {
      double logit = bias;
      for (uint64_t id : p.ids[r]) logit += w[id];
      const double g = 1.0 / (1.0 + std::exp(-logit)) - p.labels[r];
      bias_g2 += g * g;
      bias -= kLr * g / std::sqrt(bias_g2);
      for (uint64_t id : p.ids[r]) {
        g2[id] += g * g;
        w[id] -= kLr * g / std::sqrt(g2[id]);
      }
    }
  }
  std::vector<double> scores;
  std::vector<int> labels;
  for (size_t r = train; r < p.ids.size(); ++r) {
    double logit = bias;
    for (uint64_t id : p.ids[r]) logit += w[id];
    scores.push_back(logit);
    labels.push_back(p.labels[r]);
  }
  return Auc(scores, labels);
}

TEST(GenTest, DeterministicForASeed) {
  for (GenTeacher teacher : {GenTeacher::kLr, GenTeacher::kDeep}) {
    GenOptions options;
    options.rows = 2000;
    options.features = 10;
    options.vocab = 10000;
    options.teacher = teacher;
    options.fields = teacher == GenTeacher::kDeep;
    const std::string a = TempPath("a.svm"), b = TempPath("b.svm"), c = TempPath("c.svm");
    std::vector<float> logits_a, logits_b;
    ASSERT_TRUE(GenerateLibsvm(options, a, &logits_a).ok());
    ASSERT_TRUE(GenerateLibsvm(options, b, &logits_b).ok());
    options.seed = 2;
    ASSERT_TRUE(GenerateLibsvm(options, c).ok());
    const std::string text = ReadFileBytes(a);
    EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 2000);
    EXPECT_EQ(text, ReadFileBytes(b));
    EXPECT_NE(text, ReadFileBytes(c));
    EXPECT_EQ(logits_a.size(), 2000u);
    EXPECT_EQ(logits_a, logits_b);
  }
}

TEST(GenTest, LrTeacherOutputUnchanged) {
  // The bytes the generator wrote before it had teachers and --fields (FNV-1a of the file):
  // benchmarks that cite earlier figures regenerate the same data.
  GenOptions options;
  options.rows = 20000;
  options.features = 13;
  options.vocab = 200000;
  options.seed = 5;
  const std::string path = TempPath("golden.svm");
  ASSERT_TRUE(GenerateLibsvm(options, path).ok());
  const std::string text = ReadFileBytes(path);
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) h = (h ^ c) * 0x100000001b3ULL;
  EXPECT_EQ(text.size(), 2184609u);
  EXPECT_EQ(h, 0xabf2d4ad72fb307aULL);
}

TEST(GenTest, FieldsSpellTheSameFeaturesAndTheReaderSeesFields) {
  // With --fields the ids and (lr teacher) the labels are those of the libsvm output; the reader
  // gives each token its field and the key FeatureKey(field, idx).
  GenOptions options;
  options.rows = 3000;
  options.features = 6;
  options.vocab = 600;
  const std::string svm = TempPath("same.svm"), ffm = TempPath("same.ffm");
  ASSERT_TRUE(GenerateLibsvm(options, svm).ok());
  options.fields = true;
  ASSERT_TRUE(GenerateLibsvm(options, ffm).ok());
  const std::string text = ReadFileBytes(ffm);
  EXPECT_EQ(text.compare(2, 2, "0:"), 0) << text.substr(0, 40);
  EXPECT_EQ(StripFields(text), ReadFileBytes(svm));
  const Parsed p = ParseGenerated(StripFields(text));
  ExampleBlock block;
  ASSERT_NO_FATAL_FAILURE(ReadFirstBlock(ffm, &block));
  ASSERT_EQ(block.size(), 3000u);
  ASSERT_EQ(block.num_features(), 3000u * 6);
  for (size_t r = 0; r < 3000; ++r) {
    EXPECT_EQ(block.labels()[r], p.labels[r]);
    for (uint32_t f = 0; f < 6; ++f) {
      const size_t i = block.offsets()[r] + f;
      ASSERT_EQ(block.fields()[i], f);
      ASSERT_EQ(block.keys()[i], FeatureKey(f, p.ids[r][f]));
      ASSERT_EQ(block.values()[i], 1.0f);
    }
  }
}

TEST(GenTest, WellFormedOneFeaturePerFieldInIncreasingOrder) {
  GenOptions options;
  options.rows = 3000;
  options.features = 8;
  options.vocab = 800;  // 100 ids per field
  const std::string path = TempPath("fields.svm");
  ASSERT_TRUE(GenerateLibsvm(options, path).ok());
  const std::string text = ReadFileBytes(path);
  const Parsed p = ParseGenerated(text);
  ASSERT_EQ(p.ids.size(), 3000u);
  for (const auto& row : p.ids) {
    ASSERT_EQ(row.size(), 8u);
    for (uint64_t f = 0; f < 8; ++f) {
      EXPECT_GE(row[f], f * 100 + 1);
      EXPECT_LE(row[f], (f + 1) * 100);
    }
  }
  // And the reader accepts it.
  ExampleBlock block;
  ASSERT_NO_FATAL_FAILURE(ReadFirstBlock(path, &block));
  EXPECT_EQ(block.size(), 3000u);
  EXPECT_EQ(block.num_features(), 3000u * 8);
}

TEST(GenTest, PositiveRateFollowsBaseCtr) {
  for (GenTeacher teacher : {GenTeacher::kLr, GenTeacher::kDeep}) {
    const bool deep = teacher == GenTeacher::kDeep;
    for (double ctr : {0.25, 0.1}) {
      GenOptions options;
      options.rows = 20000;
      options.features = 20;
      options.vocab = 20000;
      options.base_ctr = ctr;
      options.teacher = teacher;
      const std::string path = TempPath("ctr.svm");
      std::vector<float> logits;
      ASSERT_TRUE(GenerateLibsvm(options, path, &logits).ok());
      const Parsed p = ParseGenerated(ReadFileBytes(path));
      double positives = 0, expected = 0, mean = 0, square = 0;
      for (int l : p.labels) positives += l;
      for (float l : logits) {
        expected += 1.0 / (1.0 + std::exp(-l));
        mean += l;
        square += double{l} * l;
      }
      const double n = static_cast<double>(p.labels.size());
      // The deep teacher's rate is calibrated on rows drawn like the data: closer to base_ctr.
      EXPECT_NEAR(positives / n, ctr, deep ? 0.02 : 0.03) << "base_ctr " << ctr;
      if (!deep) continue;
      EXPECT_NEAR(expected / n, ctr, 0.02) << "base_ctr " << ctr;
      // The logit's spread is the calibrated one (standard deviation 2).
      EXPECT_NEAR(std::sqrt(square / n - (mean / n) * (mean / n)), 2.0, 0.2);
    }
  }
}

TEST(GenTest, DeepTeacherLabelsAreNotLinear) {
  // On a small vocabulary a per-feature logistic regression, trained to convergence, comes close
  // to the lr teacher's own AUC but stays far below the deep teacher's: its labels depend on
  // interactions between fields.
  double gap[2];
  for (GenTeacher teacher : {GenTeacher::kLr, GenTeacher::kDeep}) {
    GenOptions options;
    options.rows = 40000;
    options.features = 8;
    options.vocab = 8 * 12;  // 12 ids per field, each seen thousands of times
    options.teacher = teacher;
    const std::string path = TempPath("linear.svm");
    std::vector<float> logits;
    ASSERT_TRUE(GenerateLibsvm(options, path, &logits).ok());
    const Parsed p = ParseGenerated(ReadFileBytes(path));
    const size_t train = 30000;
    const std::vector<double> teacher_scores(logits.begin() + train, logits.end());
    const std::vector<int> test_labels(p.labels.begin() + train, p.labels.end());
    const double teacher_auc = Auc(teacher_scores, test_labels);
    const double lr_auc = LogisticRegressionAuc(p, train, options.vocab);
    const int t = teacher == GenTeacher::kDeep;
    gap[t] = teacher_auc - lr_auc;
    std::printf("teacher %s: teacher AUC %.4f, LR AUC %.4f\n", t ? "deep" : "lr", teacher_auc,
                lr_auc);
  }
  EXPECT_LT(gap[0], 0.01);
  EXPECT_GT(gap[1], 0.05);
}

TEST(GenTest, LabelsDependOnFeatures) {
  // The planted model must make labels predictable: per id of field 0, the positive rate varies
  // far more than binomial noise around the base rate would.
  GenOptions options;
  options.rows = 20000;
  options.features = 4;
  options.vocab = 40;  // 10 ids per field, each seen often
  const std::string path = TempPath("signal.svm");
  ASSERT_TRUE(GenerateLibsvm(options, path).ok());
  const Parsed p = ParseGenerated(ReadFileBytes(path));
  std::vector<double> pos(11, 0), count(11, 0);
  for (size_t r = 0; r < p.ids.size(); ++r) {
    pos[p.ids[r][0]] += p.labels[r];
    count[p.ids[r][0]] += 1;
  }
  double lo = 1, hi = 0;
  for (int id = 1; id <= 10; ++id) {
    if (count[id] < 200) continue;
    lo = std::min(lo, pos[id] / count[id]);
    hi = std::max(hi, pos[id] / count[id]);
  }
  EXPECT_GT(hi - lo, 0.15);
}

TEST(GenTest, FeatureFrequenciesFollowAPowerLaw) {
  GenOptions options;
  options.rows = 20000;
  options.features = 10;
  options.vocab = 10000;  // 1000 ids per field
  const std::string path = TempPath("zipf.svm");
  ASSERT_TRUE(GenerateLibsvm(options, path).ok());
  const Parsed p = ParseGenerated(ReadFileBytes(path));
  std::vector<int> counts(1000, 0);
  for (const auto& row : p.ids) ++counts[row[3] - 3 * 1000 - 1];
  std::vector<int> sorted = counts;
  std::sort(sorted.begin(), sorted.end());
  const int top = sorted.back();
  const int median = sorted[sorted.size() / 2];
  EXPECT_GT(top, 50 * std::max(median, 1)) << "top " << top << " median " << median;
  // Rank 1 is the most frequent id, and rank 2 is about 2^-1.1 as frequent.
  EXPECT_EQ(counts[0], top);
  EXPECT_NEAR(static_cast<double>(counts[1]) / counts[0], 0.47, 0.08);
}

TEST(GenTest, LargeVocabularyUsesTheTail) {
  GenOptions options;
  options.rows = 3000;
  options.features = 2;
  options.vocab = 2 * 1000000;  // beyond the alias table's head
  const std::string path = TempPath("tail.svm");
  ASSERT_TRUE(GenerateLibsvm(options, path).ok());
  const Parsed p = ParseGenerated(ReadFileBytes(path));
  int tail = 0;
  for (const auto& row : p.ids) {
    ASSERT_GE(row[1], 1000001u);
    ASSERT_LE(row[1], 2000000u);
    tail += row[0] > 65536;
  }
  // P(rank > 65536) is about 9% for s = 1.1 over 10^6 ids.
  EXPECT_GT(tail, 150);
  EXPECT_LT(tail, 600);
}

TEST(GenTest, InvalidOptionsRejected) {
  GenOptions options;
  options.rows = 1;
  options.features = 0;
  EXPECT_EQ(GenerateLibsvm(options, TempPath("x")).code(), absl::StatusCode::kInvalidArgument);
  options.features = 4;
  options.base_ctr = 1.5;
  EXPECT_EQ(GenerateLibsvm(options, TempPath("x")).code(), absl::StatusCode::kInvalidArgument);
  options.base_ctr = 0.2;
  EXPECT_FALSE(GenerateLibsvm(options, "/nonexistent_dir/x.svm").ok());
  GenTeacher teacher;
  EXPECT_TRUE(ParseGenTeacher("deep", &teacher).ok());
  EXPECT_EQ(teacher, GenTeacher::kDeep);
  EXPECT_TRUE(ParseGenTeacher("lr", &teacher).ok());
  EXPECT_EQ(teacher, GenTeacher::kLr);
  EXPECT_EQ(ParseGenTeacher("mlp", &teacher).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace parasol
