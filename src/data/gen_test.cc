#include "data/gen.h"

#include <algorithm>
#include <charconv>
#include <string>
#include <string_view>
#include <vector>

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

TEST(GenTest, DeterministicForASeed) {
  GenOptions options;
  options.rows = 2000;
  options.features = 10;
  options.vocab = 10000;
  const std::string a = TempPath("a.svm"), b = TempPath("b.svm"), c = TempPath("c.svm");
  ASSERT_TRUE(GenerateLibsvm(options, a).ok());
  ASSERT_TRUE(GenerateLibsvm(options, b).ok());
  options.seed = 2;
  ASSERT_TRUE(GenerateLibsvm(options, c).ok());
  const std::string text = ReadFileBytes(a);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 2000);
  EXPECT_EQ(text, ReadFileBytes(b));
  EXPECT_NE(text, ReadFileBytes(c));
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
  ReaderOptions reader_options;
  auto reader = OpenDataReader(path, reader_options);
  ASSERT_TRUE(reader.ok());
  ExampleBlock block;
  auto more = (*reader)->Next(&block);
  ASSERT_TRUE(more.ok() && *more) << more.status();
  EXPECT_EQ(block.size(), 3000u);
  EXPECT_EQ(block.num_features(), 3000u * 8);
}

TEST(GenTest, PositiveRateFollowsBaseCtr) {
  for (double ctr : {0.25, 0.1}) {
    GenOptions options;
    options.rows = 20000;
    options.features = 20;
    options.vocab = 20000;
    options.base_ctr = ctr;
    const std::string path = TempPath("ctr.svm");
    ASSERT_TRUE(GenerateLibsvm(options, path).ok());
    const Parsed p = ParseGenerated(ReadFileBytes(path));
    double positives = 0;
    for (int l : p.labels) positives += l;
    const double rate = positives / p.labels.size();
    EXPECT_NEAR(rate, ctr, 0.03) << "base_ctr " << ctr;
  }
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
}

}  // namespace
}  // namespace parasol
