#include "transform/feature_pipeline.h"

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "common/hash.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace parasol {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

struct Feature {
  uint64_t key;
  uint32_t field;
  float value;
  bool operator==(const Feature& o) const {
    return key == o.key && field == o.field && value == o.value;
  }
};

void PrintTo(const Feature& f, std::ostream* os) {
  *os << "{key=" << f.key << " field=" << f.field << " value=" << f.value << "}";
}

std::vector<Feature> Features(const ExampleBlock& block, size_t i) {
  const ExampleView e = block.example(i);
  std::vector<Feature> out;
  for (uint32_t j = 0; j < e.size; ++j) out.push_back({e.keys[j], e.fields[j], e.values[j]});
  return out;
}

// Field ids: tenure 0, monthly 1, contract 2, internet 3, payment 4; crosses from 5.
Schema TestSchema() {
  Schema s;
  s.label = "churn";
  s.positive = {"Yes"};
  s.numeric = {"tenure", "monthly"};
  s.categorical = {"contract", "internet", "payment"};
  return s;
}

// The file's columns: a different order from the schema, plus a column the schema ignores.
const std::vector<std::string> kHeader = {"customer", "payment", "churn",   "tenure",
                                          "contract", "monthly", "internet"};

struct Row {
  std::string label = "No";
  std::string tenure = "12";
  std::string monthly = "29.85";
  std::string contract = "Month-to-month";
  std::string internet = "DSL";
  std::string payment = "card";
};

std::vector<std::string> Columns(const Row& r) {
  return {"id-7", r.payment, r.label, r.tenure, r.contract, r.monthly, r.internet};
}

std::shared_ptr<FeaturePipeline> MustCreate(const Schema& schema, const std::string& yaml,
                                            int hash_bits = 0) {
  auto p = FeaturePipeline::Create(schema, yaml, "model.yaml", hash_bits);
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? *p : nullptr;
}

std::unique_ptr<RowEncoder> MustEncoder(const RowEncoderFactory& factory,
                                        const std::vector<std::string>& header = kHeader) {
  auto e = factory(header);
  EXPECT_TRUE(e.ok()) << e.status();
  return e.ok() ? std::move(*e) : nullptr;
}

absl::Status EncodeRow(const RowEncoder& encoder, const std::vector<std::string>& values,
                       ExampleBlock* out) {
  std::vector<std::string_view> views(values.begin(), values.end());
  return encoder.Encode(views, out);
}

// Encodes one row and returns its features; fails the test on an error.
std::vector<Feature> EncodeOne(const RowEncoder& encoder, const Row& row, float* label = nullptr) {
  ExampleBlock block;
  const absl::Status st = EncodeRow(encoder, Columns(row), &block);
  EXPECT_TRUE(st.ok()) << st;
  if (!st.ok() || block.size() != 1) return {};
  if (label != nullptr) *label = block.example(0).label;
  return Features(block, 0);
}

std::vector<Feature> EncodeRowWith(const std::string& yaml, const Row& row, int hash_bits = 0) {
  auto p = MustCreate(TestSchema(), yaml, hash_bits);
  if (p == nullptr) return {};
  auto e = MustEncoder(p->EncoderFactory());
  if (e == nullptr) return {};
  return EncodeOne(*e, row);
}

uint64_t Key(uint32_t field, std::string_view value) { return FeatureKey(field, value); }

TEST(FeaturePipelineTest, PlainColumnsFollowTheDocumentedKeys) {
  const std::vector<Feature> f = EncodeRowWith("", Row{});
  EXPECT_THAT(
      f, ::testing::ElementsAre(Feature{Key(0, ""), 0, 12.0f}, Feature{Key(1, ""), 1, 29.85f},
                                Feature{Key(2, "Month-to-month"), 2, 1.0f},
                                Feature{Key(3, "DSL"), 3, 1.0f}, Feature{Key(4, "card"), 4, 1.0f}));
}

TEST(FeaturePipelineTest, ConfigWithoutTransformsKeyIsPlain) {
  const std::vector<Feature> plain = EncodeRowWith("", Row{});
  EXPECT_EQ(EncodeRowWith("model: fm\nlearning_rate: 0.1\n", Row{}), plain);
  EXPECT_EQ(EncodeRowWith("transforms: []\n", Row{}), plain);
}

TEST(FeaturePipelineTest, WhitespaceAroundValuesIsIgnored) {
  Row padded;
  padded.tenure = " 12 ";
  padded.contract = "Month-to-month\r";
  padded.label = " No";
  EXPECT_EQ(EncodeRowWith("", padded), EncodeRowWith("", Row{}));
}

TEST(FeaturePipelineTest, MissingNumbersAndEmptyCategoriesAreAbsent) {
  for (const std::string missing : {"", "NA", "NaN", "?", "nan", "NULL", "N/A"}) {
    Row r;
    r.tenure = missing;
    r.internet = "";
    const std::vector<Feature> f = EncodeRowWith("", r);
    ASSERT_EQ(f.size(), 3u) << "'" << missing << "'";
    EXPECT_EQ(f[0].field, 1u);
    EXPECT_EQ(f[1].field, 2u);
    EXPECT_EQ(f[2].field, 4u);
  }
}

TEST(FeaturePipelineTest, BadNumberNamesColumnAndValueAndAppendsNothing) {
  auto p = MustCreate(TestSchema(), "");
  auto e = MustEncoder(p->EncoderFactory());
  ExampleBlock block;
  ASSERT_TRUE(EncodeRow(*e, Columns(Row{}), &block).ok());
  // monthly comes after tenure, so tenure's feature was added before the error.
  for (const std::string bad : {"abc", "1.5x", "inf", "1e400", "--1", "+-1"}) {
    Row r;
    r.monthly = bad;
    const absl::Status st = EncodeRow(*e, Columns(r), &block);
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(st.message(), HasSubstr("column 'monthly'"));
    EXPECT_THAT(st.message(), HasSubstr("'" + bad + "'"));
    EXPECT_EQ(block.size(), 1u);
    EXPECT_EQ(block.num_features(), 5u);
  }
  Row r;
  r.tenure = "abc";
  EXPECT_EQ(EncodeRow(*e, Columns(r), &block).message(), "column 'tenure': not a number: 'abc'");
  // Accepted spellings of numbers.
  for (const std::string good : {"+3", "3.", ".5", "-2e3", "0"}) {
    Row ok;
    ok.tenure = good;
    EXPECT_TRUE(EncodeRow(*e, Columns(ok), &block).ok()) << good;
  }
}

TEST(FeaturePipelineTest, LabelParsing) {
  Schema words = TestSchema();  // positive: Yes
  Schema numbers = TestSchema();
  numbers.positive = {"1", "+1", "true"};  // the default list
  Schema numeric_only = TestSchema();
  numeric_only.positive = {"1"};

  struct Case {
    const Schema* schema;
    std::string label;
    float want;  // -1: error
  };
  const std::vector<Case> cases = {
      {&words, "Yes", 1},         {&words, "No", 0},       {&words, "1", 1},
      {&words, "0", 0},           {&words, "", -1},        {&words, "NA", -1},
      {&numbers, "1", 1},         {&numbers, "0", 0},      {&numbers, "+1", 1},
      {&numbers, "-1", 0},        {&numbers, "1.0", 1},    {&numbers, "true", 1},
      {&numbers, "false", 0},     {&numeric_only, "1", 1}, {&numeric_only, "0", 0},
      {&numeric_only, "-1", 0},   {&numeric_only, "2", 1}, {&numeric_only, "maybe", -1},
      {&numeric_only, "Yes", -1}, {&numeric_only, "", -1},
  };
  for (const Case& c : cases) {
    auto p = MustCreate(*c.schema, "");
    auto e = MustEncoder(p->EncoderFactory());
    Row r;
    r.label = c.label;
    ExampleBlock block;
    const absl::Status st = EncodeRow(*e, Columns(r), &block);
    if (c.want < 0) {
      EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << c.label;
      EXPECT_THAT(st.message(), HasSubstr("column 'churn'"));
      EXPECT_THAT(st.message(), HasSubstr("'" + c.label + "'"));
      EXPECT_EQ(block.size(), 0u);
      EXPECT_EQ(block.num_features(), 0u);
    } else {
      ASSERT_TRUE(st.ok()) << c.label << ": " << st;
      EXPECT_EQ(block.example(0).label, c.want) << c.label;
    }
  }
}

TEST(FeaturePipelineTest, HeaderMustHoldEverySchemaColumn) {
  auto p = MustCreate(TestSchema(), "");
  std::vector<std::string> header = kHeader;
  header[6] = "internet_service";
  auto e = p->EncoderFactory()(header);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(e.status().message(), HasSubstr("'internet'"));

  header = kHeader;
  header[2] = "label";
  e = p->EncoderFactory()(header);
  ASSERT_FALSE(e.ok());
  EXPECT_THAT(e.status().message(), HasSubstr("'churn'"));

  header = kHeader;
  header.push_back("tenure");
  e = p->EncoderFactory()(header);
  ASSERT_FALSE(e.ok());
  EXPECT_THAT(e.status().message(), HasSubstr("'tenure' appears more than once"));
}

TEST(FeaturePipelineTest, LabelColumnOptionalOnlyWhenAsked) {
  // Crosses and normalize too, so that every kind of feature is checked without the label.
  Schema schema = TestSchema();
  auto p = MustCreate(schema,
                      "transforms:\n"
                      "  - {type: piecewise, field: tenure, boundaries: [6, 24]}\n"
                      "  - {type: descartes, fields: [contract, internet], name: c_x_i}\n");
  std::vector<std::string> header = kHeader;
  header.erase(header.begin() + 2);  // no "churn"

  auto strict = p->EncoderFactory()(header);
  ASSERT_FALSE(strict.ok());
  EXPECT_EQ(strict.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(strict.status().message(), HasSubstr("label column 'churn'"));

  auto unlabelled = MustEncoder(p->EncoderFactory(/*label_optional=*/true), header);
  auto labelled = MustEncoder(p->EncoderFactory(/*label_optional=*/true));
  ASSERT_NE(unlabelled, nullptr);
  ASSERT_NE(labelled, nullptr);
  Row row;
  row.label = "Yes";
  float label = -1;
  const std::vector<Feature> want = EncodeOne(*labelled, row, &label);
  EXPECT_EQ(label, 1.0f);  // a label column that is there is still read
  ASSERT_FALSE(want.empty());
  std::vector<std::string> values = Columns(row);
  values.erase(values.begin() + 2);
  ExampleBlock block;
  ASSERT_TRUE(EncodeRow(*unlabelled, values, &block).ok());
  ASSERT_EQ(block.size(), 1u);
  EXPECT_EQ(block.example(0).label, 0.0f);
  EXPECT_EQ(Features(block, 0), want);

  // Present but bad, or given twice: still errors.
  row.label = "";
  block.Clear();
  const absl::Status st = EncodeRow(*labelled, Columns(row), &block);
  EXPECT_THAT(st.message(), HasSubstr("column 'churn': missing label"));
  EXPECT_EQ(block.size(), 0u);
  header = kHeader;
  header.push_back("churn");
  auto twice = p->EncoderFactory(/*label_optional=*/true)(header);
  ASSERT_FALSE(twice.ok());
  EXPECT_THAT(twice.status().message(), HasSubstr("'churn' appears more than once"));
}

TEST(FeaturePipelineTest, RowWidthMustMatchTheHeader) {
  auto p = MustCreate(TestSchema(), "");
  auto e = MustEncoder(p->EncoderFactory());
  std::vector<std::string> cols = Columns(Row{});
  cols.pop_back();
  ExampleBlock block;
  const absl::Status st = EncodeRow(*e, cols, &block);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("expected 7 columns"));
  EXPECT_EQ(block.size(), 0u);
}

TEST(FeaturePipelineTest, PiecewiseBucketIsTheNumberOfBoundariesAtOrBelow) {
  const std::string yaml =
      "transforms:\n"
      "  - {type: piecewise, field: tenure, boundaries: [6, 12, 24]}\n";
  const std::vector<std::pair<std::string, uint64_t>> cases = {
      {"-1", 0}, {"5.99", 0}, {"6", 1},  {"6.0", 1},  {"11.999", 1},
      {"12", 2}, {"23", 2},   {"24", 3}, {"1000", 3},
  };
  auto p = MustCreate(TestSchema(), yaml);
  auto e = MustEncoder(p->EncoderFactory());
  for (const auto& [x, bucket] : cases) {
    Row r;
    r.tenure = x;
    const std::vector<Feature> f = EncodeOne(*e, r);
    ASSERT_EQ(f.size(), 5u);
    EXPECT_EQ(f[0], (Feature{FeatureKey(0, bucket), 0, 1.0f})) << x;
  }
  Row absent;
  absent.tenure = "";
  EXPECT_EQ(EncodeOne(*e, absent).size(), 4u);
}

TEST(FeaturePipelineTest, PickcatMapsValuesOutsideKeepToOther) {
  const std::string yaml =
      "transforms:\n"
      "  - {type: pickcat, field: payment, keep: [card, cash], other: rare}\n"
      "  - {type: pickcat, field: contract, keep: [Two year]}\n";
  auto p = MustCreate(TestSchema(), yaml);
  auto e = MustEncoder(p->EncoderFactory());
  Row r;
  r.payment = "cash";
  r.contract = "Two year";
  std::vector<Feature> f = EncodeOne(*e, r);
  ASSERT_EQ(f.size(), 5u);
  EXPECT_EQ(f[2].key, Key(2, "Two year"));
  EXPECT_EQ(f[4].key, Key(4, "cash"));

  r.payment = "check";
  r.contract = "Month-to-month";
  f = EncodeOne(*e, r);
  ASSERT_EQ(f.size(), 5u);
  EXPECT_EQ(f[2].key, Key(2, "other"));  // default `other`
  EXPECT_EQ(f[4].key, Key(4, "rare"));
  EXPECT_EQ(f[4].value, 1.0f);

  r.payment = "";  // empty stays absent
  EXPECT_EQ(EncodeOne(*e, r).size(), 4u);
}

TEST(FeaturePipelineTest, DescartesCrossesTransformedValuesAndDropsAbsentInputs) {
  const std::string yaml =
      "transforms:\n"
      "  - {type: descartes, fields: [contract, internet], name: c_x_i}\n"
      "  - {type: descartes, fields: [tenure, payment, internet], name: t_x_p_x_i}\n"
      "  - {type: piecewise, field: tenure, boundaries: [6, 12, 24]}\n"  // after the cross
      "  - {type: pickcat, field: payment, keep: [card]}\n";
  auto p = MustCreate(TestSchema(), yaml);
  ASSERT_EQ(p->num_fields(), 7);
  auto e = MustEncoder(p->EncoderFactory());
  Row r;
  r.tenure = "13";
  r.payment = "check";
  const std::vector<Feature> f = EncodeOne(*e, r);
  ASSERT_EQ(f.size(), 7u);
  const uint64_t contract = Key(2, "Month-to-month");
  const uint64_t internet = Key(3, "DSL");
  const uint64_t bucket = FeatureKey(0, uint64_t{2});
  const uint64_t payment = Key(4, "other");
  EXPECT_EQ(f[0].key, bucket);
  EXPECT_EQ(f[4].key, payment);  // sources keep their own features
  EXPECT_EQ(f[5], (Feature{FeatureKey(5, CombineKeys(contract, internet)), 5, 1.0f}));
  EXPECT_EQ(f[6],
            (Feature{FeatureKey(6, CombineKeys(CombineKeys(bucket, payment), internet)), 6, 1.0f}));

  // Order matters: the same fields crossed the other way round give another key.
  EXPECT_NE(FeatureKey(5, CombineKeys(internet, contract)), f[5].key);

  // An absent input drops the cross, not the other features.
  r.internet = "";
  const std::vector<Feature> g = EncodeOne(*e, r);
  ASSERT_EQ(g.size(), 4u);
  for (const Feature& x : g) EXPECT_LT(x.field, 5u);
}

TEST(FeaturePipelineTest, CombinehashUsesAMissingTokenForAbsentInputs) {
  const std::string yaml =
      "transforms:\n"
      "  - {type: combinehash, fields: [contract, internet], name: c_i}\n";
  auto p = MustCreate(TestSchema(), yaml);
  auto e = MustEncoder(p->EncoderFactory());
  Row r;
  std::vector<Feature> f = EncodeOne(*e, r);
  ASSERT_EQ(f.size(), 6u);
  EXPECT_EQ(f[5], (Feature{FeatureKey(5, CombineKeys(Key(2, "Month-to-month"), Key(3, "DSL"))), 5,
                           1.0f}));
  r.internet = "";
  f = EncodeOne(*e, r);
  ASSERT_EQ(f.size(), 5u);
  EXPECT_EQ(f[4],
            (Feature{FeatureKey(5, CombineKeys(Key(2, "Month-to-month"), Key(3, ""))), 5, 1.0f}));
  r.contract = "";
  f = EncodeOne(*e, r);
  ASSERT_EQ(f.size(), 4u);
  EXPECT_EQ(f[3].key, FeatureKey(5, CombineKeys(Key(2, ""), Key(3, ""))));
}

// Runs `values` of `monthly` through a statistics pass and finishes it.
void RunStatistics(FeaturePipeline& p, const std::vector<std::string>& values) {
  auto s = MustEncoder(p.StatisticsFactory());
  ASSERT_NE(s, nullptr);
  ExampleBlock untouched;
  for (const std::string& v : values) {
    Row r;
    r.monthly = v;
    ASSERT_TRUE(EncodeRow(*s, Columns(r), &untouched).ok());
  }
  EXPECT_EQ(untouched.size(), 0u);
  EXPECT_EQ(untouched.num_features(), 0u);
  ASSERT_TRUE(p.FinishStatistics().ok());
}

float NormalizedMonthly(const FeaturePipeline& p, const std::string& x) {
  auto e = MustEncoder(p.EncoderFactory());
  Row r;
  r.monthly = x;
  const std::vector<Feature> f = EncodeOne(*e, r);
  EXPECT_EQ(f.size(), 5u);
  EXPECT_EQ(f[1].key, Key(1, ""));
  return f.size() == 5 ? f[1].value : NAN;
}

TEST(FeaturePipelineTest, NormalizeMinmax) {
  auto p =
      MustCreate(TestSchema(), "transforms: [{type: normalize, field: monthly, method: minmax}]\n");
  EXPECT_TRUE(p->NeedsStatistics());
  auto early = p->EncoderFactory()(kHeader);
  EXPECT_EQ(early.status().code(), absl::StatusCode::kFailedPrecondition);
  RunStatistics(*p, {"2", "4", "", "6", "10", "NA"});
  EXPECT_FALSE(p->NeedsStatistics());
  EXPECT_FLOAT_EQ(NormalizedMonthly(*p, "2"), 0.0f);
  EXPECT_FLOAT_EQ(NormalizedMonthly(*p, "6"), 0.5f);
  EXPECT_FLOAT_EQ(NormalizedMonthly(*p, "10"), 1.0f);
  EXPECT_FLOAT_EQ(NormalizedMonthly(*p, "14"), 1.5f);
}

TEST(FeaturePipelineTest, NormalizeZscoreUsesPopulationStddev) {
  auto p =
      MustCreate(TestSchema(), "transforms: [{type: normalize, field: monthly, method: zscore}]\n");
  // mean 5, population variance ((9+1+1+9)/4) = 5.
  RunStatistics(*p, {"2", "4", "6", "8"});
  EXPECT_FLOAT_EQ(NormalizedMonthly(*p, "5"), 0.0f);
  EXPECT_FLOAT_EQ(NormalizedMonthly(*p, "8"), static_cast<float>(3 / std::sqrt(5.0)));
  EXPECT_FLOAT_EQ(NormalizedMonthly(*p, "0"), static_cast<float>(-5 / std::sqrt(5.0)));
}

TEST(FeaturePipelineTest, NormalizeConstantColumnUsesScaleOne) {
  for (const std::string method : {"minmax", "zscore"}) {
    auto p = MustCreate(
        TestSchema(), "transforms: [{type: normalize, field: monthly, method: " + method + "}]\n");
    RunStatistics(*p, {"7", "7", "7"});
    EXPECT_EQ(NormalizedMonthly(*p, "7"), 0.0f) << method;
    EXPECT_EQ(NormalizedMonthly(*p, "9.5"), 2.5f) << method;
  }
}

TEST(FeaturePipelineTest, StatisticsPassValidatesRows) {
  auto p =
      MustCreate(TestSchema(), "transforms: [{type: normalize, field: monthly, method: minmax}]\n");
  auto s = MustEncoder(p->StatisticsFactory());
  ExampleBlock block;
  Row bad;
  bad.monthly = "12$";
  absl::Status st = EncodeRow(*s, Columns(bad), &block);
  EXPECT_THAT(st.message(), HasSubstr("column 'monthly': not a number: '12$'"));
  // A row failing on another column contributes nothing either.
  bad = Row{};
  bad.monthly = "1000";
  bad.tenure = "x";
  st = EncodeRow(*s, Columns(bad), &block);
  EXPECT_THAT(st.message(), HasSubstr("column 'tenure'"));
  Row good;
  good.monthly = "10";
  ASSERT_TRUE(EncodeRow(*s, Columns(good), &block).ok());
  good.monthly = "20";
  ASSERT_TRUE(EncodeRow(*s, Columns(good), &block).ok());
  EXPECT_EQ(block.size(), 0u);
  ASSERT_TRUE(p->FinishStatistics().ok());
  EXPECT_FLOAT_EQ(NormalizedMonthly(*p, "20"), 1.0f);  // max is 20, not 1000
}

TEST(FeaturePipelineTest, NormalizeWithoutAnyValueFails) {
  auto p =
      MustCreate(TestSchema(), "transforms: [{type: normalize, field: monthly, method: minmax}]\n");
  auto s = MustEncoder(p->StatisticsFactory());
  Row r;
  r.monthly = "";
  ExampleBlock block;
  ASSERT_TRUE(EncodeRow(*s, Columns(r), &block).ok());
  const absl::Status st = p->FinishStatistics();
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("transforms[0]"));
  EXPECT_THAT(st.message(), HasSubstr("'monthly'"));
  EXPECT_TRUE(p->NeedsStatistics());
}

TEST(FeaturePipelineTest, FieldIdsAndNumFields) {
  auto p = MustCreate(TestSchema(),
                      "transforms:\n"
                      "  - {type: combinehash, fields: [payment, contract], name: p_c}\n"
                      "  - {type: descartes, fields: [contract, internet], name: c_i}\n");
  EXPECT_EQ(p->num_fields(), 7);
  EXPECT_EQ(p->field_names(), (std::vector<std::string>{"tenure", "monthly", "contract", "internet",
                                                        "payment", "p_c", "c_i"}));
  auto e = MustEncoder(p->EncoderFactory());
  const std::vector<Feature> f = EncodeOne(*e, Row{});
  ASSERT_EQ(f.size(), 7u);
  for (uint32_t i = 0; i < 7; ++i) EXPECT_EQ(f[i].field, i);
  EXPECT_EQ(MustCreate(TestSchema(), "")->num_fields(), 5);
}

TEST(FeaturePipelineTest, HashBitsMaskEveryKey) {
  const std::string yaml =
      "transforms:\n"
      "  - {type: piecewise, field: tenure, boundaries: [6, 12, 24]}\n"
      "  - {type: descartes, fields: [contract, internet], name: c_i}\n";
  const std::vector<Feature> full = EncodeRowWith(yaml, Row{}, 0);
  const std::vector<Feature> masked = EncodeRowWith(yaml, Row{}, 12);
  ASSERT_EQ(full.size(), 6u);
  ASSERT_EQ(masked.size(), full.size());
  int differs = 0;
  for (size_t i = 0; i < full.size(); ++i) {
    EXPECT_LT(masked[i].key, uint64_t{1} << 12);
    EXPECT_EQ(masked[i].key, MaskKey(full[i].key, 12));
    differs += masked[i].key != full[i].key;
  }
  EXPECT_GT(differs, 0);

  for (int bits : {-1, 64}) {
    auto p = FeaturePipeline::Create(TestSchema(), "", "model.yaml", bits);
    EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument) << bits;
  }
}

TEST(FeaturePipelineTest, EncodersAreSafeToShareBetweenThreads) {
  auto p = MustCreate(TestSchema(),
                      "transforms: [{type: descartes, fields: [contract, payment], name: c_p}]\n");
  auto e = MustEncoder(p->EncoderFactory());
  ExampleBlock expected;
  ASSERT_TRUE(EncodeRow(*e, Columns(Row{}), &expected).ok());
  std::vector<ExampleBlock> blocks(4);
  std::vector<std::thread> threads;
  for (ExampleBlock& b : blocks) {
    threads.emplace_back([&e, &b] {
      for (int i = 0; i < 200; ++i) ASSERT_TRUE(EncodeRow(*e, Columns(Row{}), &b).ok());
    });
  }
  for (std::thread& t : threads) t.join();
  for (const ExampleBlock& b : blocks) {
    ASSERT_EQ(b.size(), 200u);
    EXPECT_EQ(Features(b, 199), Features(expected, 0));
  }
  p.reset();  // encoders may outlive their pipeline
  ExampleBlock after;
  EXPECT_TRUE(EncodeRow(*e, Columns(Row{}), &after).ok());
}

struct ConfigErrorCase {
  std::string yaml;
  std::vector<std::string> want;  // substrings of the message
};

TEST(FeaturePipelineTest, ConfigErrorsNameOriginTransformAndField) {
  const std::vector<ConfigErrorCase> cases = {
      // Shapes, keys and types are the reader's (transform_config_test.cc has them all).
      {"transforms:\n"
       "  - {type: piecewise, field: tenure, boundaries: [1]}\n"
       "  - {type: pickcat, field: payment, kep: [card]}\n",
       {"model.yaml:3: transforms[1].keep: required (is 'kep' a misspelling?)"}},
      {"transforms:\n  - {type: piecewise, field: age, boundaries: [1, 2]}\n",
       {"transforms[0]", "field 'age'", "not a numeric or categorical column"}},
      {"transforms:\n  - {type: piecewise, field: churn, boundaries: [1, 2]}\n",
       {"transforms[0]", "field 'churn'", "label"}},
      {"transforms:\n"
       "  - {type: pickcat, field: payment, keep: [card]}\n"
       "  - {type: pickcat, field: contract, keep: [x]}\n"
       "  - {type: piecewise, field: tenure, boundaries: [6, 24, 12]}\n",
       {"model.yaml:4", "transforms[2]", "field 'tenure'", "strictly increasing"}},
      {"transforms:\n  - {type: piecewise, field: tenure, boundaries: [6, 6]}\n",
       {"transforms[0]", "field 'tenure'", "strictly increasing"}},
      {"transforms:\n  - {type: piecewise, field: tenure, boundaries: []}\n",
       {"transforms[0]", "field 'tenure'", "empty"}},
      {"transforms:\n  - {type: piecewise, field: contract, boundaries: [1]}\n",
       {"transforms[0]", "field 'contract'", "numeric"}},
      {"transforms:\n  - {type: normalize, field: payment, method: minmax}\n",
       {"transforms[0]", "field 'payment'", "numeric"}},
      {"transforms:\n  - {type: pickcat, field: tenure, keep: [1]}\n",
       {"transforms[0]", "field 'tenure'", "categorical"}},
      {"transforms:\n"
       "  - {type: normalize, field: monthly, method: minmax}\n"
       "  - {type: piecewise, field: monthly, boundaries: [1]}\n",
       {"transforms[1]", "field 'monthly'", "already transformed by transforms[0]"}},
      {"transforms:\n  - {type: descartes, fields: [contract, tenure], name: x}\n",
       {"transforms[0]", "field 'tenure'", "piecewise"}},
      {"transforms:\n  - {type: descartes, fields: [contract, nope], name: x}\n",
       {"transforms[0]", "field 'nope'"}},
      {"transforms:\n  - {type: combinehash, fields: [contract, contract], name: x}\n",
       {"transforms[0]", "field 'contract'", "twice"}},
      {"transforms:\n  - {type: descartes, fields: [contract], name: x}\n",
       {"transforms[0]", "'x'", "at least two"}},
      {"transforms:\n  - {type: descartes, fields: [contract, payment], name: internet}\n",
       {"transforms[0]", "'internet'", "already"}},
      {"transforms:\n"
       "  - {type: descartes, fields: [contract, payment], name: cp}\n"
       "  - {type: combinehash, fields: [contract, internet], name: cp}\n",
       {"transforms[1]", "'cp'", "already"}},
  };
  for (const ConfigErrorCase& c : cases) {
    auto p = FeaturePipeline::Create(TestSchema(), c.yaml, "model.yaml", 0);
    ASSERT_FALSE(p.ok()) << c.yaml;
    EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument) << c.yaml;
    EXPECT_THAT(p.status().message(), HasSubstr("model.yaml")) << c.yaml;
    for (const std::string& w : c.want) {
      EXPECT_THAT(p.status().message(), HasSubstr(w)) << c.yaml;
    }
  }
}

TEST(FeaturePipelineTest, InvalidSchemaIsRejected) {
  Schema s = TestSchema();
  s.categorical.push_back("tenure");
  auto p = FeaturePipeline::Create(s, "", "model.yaml", 0);
  EXPECT_THAT(p.status().message(), HasSubstr("'tenure'"));
  s = TestSchema();
  s.label = "";
  EXPECT_FALSE(FeaturePipeline::Create(s, "", "model.yaml", 0).ok());
  s = TestSchema();
  s.numeric.push_back("churn");
  EXPECT_THAT(FeaturePipeline::Create(s, "", "model.yaml", 0).status().message(),
              HasSubstr("'churn'"));
}

const char kFullConfig[] =
    "transforms:\n"
    "  - {type: piecewise, field: tenure, boundaries: [0.1, 6, 12.5, 24]}\n"
    "  - {type: pickcat, field: payment, keep: [card, cash], other: rare}\n"
    "  - {type: normalize, field: monthly, method: zscore}\n"
    "  - {type: descartes, fields: [contract, tenure], name: c_x_t}\n"
    "  - {type: combinehash, fields: [internet, payment, contract], name: i_p_c}\n";

Row RandomRow(std::mt19937& rng) {
  auto pick = [&rng](const std::vector<std::string>& v) { return v[rng() % v.size()]; };
  Row r;
  r.label = pick({"Yes", "No"});
  r.tenure = pick({"", "0", "0.1", "3", "6", "12.5", "13", "24", "70", "NA"});
  r.monthly = std::to_string(static_cast<double>(rng() % 100000) / 1000.0);
  if (rng() % 10 == 0) r.monthly = "";
  r.contract = pick({"Month-to-month", "One year", "Two year", ""});
  r.internet = pick({"DSL", "Fiber optic", "No", ""});
  r.payment = pick({"card", "cash", "check", "transfer", ""});
  return r;
}

TEST(FeaturePipelineTest, JsonRoundTripGivesIdenticalExamples) {
  Schema schema = TestSchema();
  schema.delimiter = '\t';
  schema.columns = kHeader;
  schema.header = false;
  auto p = MustCreate(schema, kFullConfig, 22);
  std::mt19937 rng(7);
  {
    auto s = MustEncoder(p->StatisticsFactory());
    ExampleBlock unused;
    for (int i = 0; i < 300; ++i) {
      ASSERT_TRUE(EncodeRow(*s, Columns(RandomRow(rng)), &unused).ok());
    }
    ASSERT_TRUE(p->FinishStatistics().ok());
  }
  const std::string json = p->ToJson();
  auto restored = FeaturePipeline::FromJson(json);
  ASSERT_TRUE(restored.ok()) << restored.status() << "\n" << json;
  const FeaturePipeline& q = **restored;
  EXPECT_FALSE(q.NeedsStatistics());
  EXPECT_EQ(q.ToJson(), json);
  EXPECT_EQ(q.num_fields(), p->num_fields());
  EXPECT_EQ(q.field_names(), p->field_names());
  EXPECT_EQ(q.hash_bits(), 22);
  EXPECT_EQ(q.schema().label, schema.label);
  EXPECT_EQ(q.schema().positive, schema.positive);
  EXPECT_EQ(q.schema().numeric, schema.numeric);
  EXPECT_EQ(q.schema().categorical, schema.categorical);
  EXPECT_EQ(q.schema().columns, schema.columns);
  EXPECT_EQ(q.schema().header, false);
  EXPECT_EQ(q.schema().delimiter, '\t');

  auto a = MustEncoder(p->EncoderFactory());
  auto b = MustEncoder(q.EncoderFactory());
  ExampleBlock x, y;
  for (int i = 0; i < 2000; ++i) {
    const std::vector<std::string> cols = Columns(RandomRow(rng));
    ASSERT_TRUE(EncodeRow(*a, cols, &x).ok());
    ASSERT_TRUE(EncodeRow(*b, cols, &y).ok());
  }
  EXPECT_EQ(x.labels(), y.labels());
  EXPECT_EQ(x.offsets(), y.offsets());
  EXPECT_EQ(x.keys(), y.keys());
  EXPECT_EQ(x.fields(), y.fields());
  EXPECT_EQ(x.values(), y.values());  // bitwise: statistics survive exactly
  EXPECT_GT(x.num_features(), 2000u * 5);
}

TEST(FeaturePipelineTest, JsonBeforeStatisticsRestoresAPipelineThatNeedsThem) {
  auto p = MustCreate(TestSchema(), kFullConfig);
  auto q = FeaturePipeline::FromJson(p->ToJson());
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_TRUE((*q)->NeedsStatistics());
}

TEST(FeaturePipelineTest, MalformedJsonNamesTheField) {
  auto p = MustCreate(TestSchema(), kFullConfig);
  RunStatistics(*p, {"1", "2"});
  const std::string good = p->ToJson();
  ASSERT_TRUE(FeaturePipeline::FromJson(good).ok());

  auto fails_with = [](const std::string& json, const std::string& want) {
    auto q = FeaturePipeline::FromJson(json);
    ASSERT_FALSE(q.ok()) << json;
    EXPECT_EQ(q.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(std::string(q.status().message()), want) << json;
  };
  auto edit = [&good](const std::string& from, const std::string& to) {
    std::string s = good;
    const size_t at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) s.replace(at, from.size(), to);
    return s;
  };
  auto q = FeaturePipeline::FromJson("{not json");
  EXPECT_EQ(q.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(q.status().message()), StartsWith("pipeline JSON: not valid JSON: "));
  fails_with("[]", "pipeline JSON: expected a mapping, got a list");
  fails_with(edit("\"hash_bits\": 0", "\"hash_bits\": \"0\""),
             "pipeline JSON: hash_bits: expected an integer, got the string \"0\"");
  fails_with(edit("\"hash_bits\": 0", "\"hash_bits\": 99"),
             "pipeline JSON: hash_bits: must be in [0, 63]");
  fails_with(edit("\"hash_bits\": 0", "\"hash_bits\": 0, \"hash_bit\": 1"),
             "pipeline JSON: hash_bit: unknown key, did you mean 'hash_bits'?");
  fails_with(edit("\"version\": 1", "\"version\": 2"),
             "pipeline JSON: version: unsupported version 2 (expected 1)");
  fails_with(edit("\"label\": \"churn\"", "\"label\": 3"),
             "pipeline JSON: schema.label: expected a string, got '3'");
  fails_with(edit("\"tenure\",\n      \"monthly\"", "\"tenure\",\n      7"),
             "pipeline JSON: schema.numeric[1]: expected a string, got '7'");
  fails_with(edit("\"delimiter\": \",\"", "\"delimiter\": \",,\""),
             "pipeline JSON: schema.delimiter: expected one character");
  fails_with(edit("0.1,", "\"0.1\","),
             "pipeline JSON: transforms[0].boundaries[0]: expected a number, got the string "
             "\"0.1\"");
  fails_with(edit("\"other\": \"rare\"", "\"othr\": \"rare\""),
             "pipeline JSON: transforms[1].other: required (is 'othr' a misspelling?)");
  fails_with(
      edit("\"method\": \"zscore\"", "\"method\": \"log\""),
      "pipeline JSON: transforms[2].method: unknown method 'log' (expected minmax or zscore)");
  fails_with(edit("\"stddev\":", "\"sd\":"),
             "pipeline JSON: transforms[2].statistics.stddev: required");
  fails_with(
      edit("\"type\": \"descartes\"", "\"type\": \"cross\""),
      "pipeline JSON: transforms[3].type: unknown type 'cross' (expected piecewise, pickcat, "
      "normalize, descartes or combinehash)");
  fails_with(
      edit("\"stddev\":", "\"stdev\":"),
      "pipeline JSON: transforms[2].statistics.stddev: required (is 'stdev' a misspelling?)");
  fails_with(edit("\"name\": \"c_x_t\"", "\"name\": \"c_x_t2\""),
             "pipeline JSON: fields: [tenure, monthly, contract, internet, payment, c_x_t, i_p_c] "
             "does not match the schema and transforms ([tenure, monthly, contract, internet, "
             "payment, c_x_t2, i_p_c])");
  fails_with(edit("\"field\": \"tenure\"", "\"field\": \"age\""),
             "pipeline JSON: transforms[0] (piecewise): field 'age': is not a numeric or "
             "categorical column of the schema");
}

}  // namespace
}  // namespace parasol
