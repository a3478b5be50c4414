#include <string>
#include <utility>
#include <vector>

#include "common/hash.h"
#include "data/example.h"
#include "data/reader.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace parasol {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(LibsvmParserTest, ParsesLabelAndFeatures) {
  ExampleBlock block;
  ASSERT_TRUE(ParseLibsvmLine("1 3:1 7:0.5 12:-2e1", true, 0, &block).ok());
  ASSERT_EQ(block.size(), 1u);
  const ExampleView ex = block.example(0);
  EXPECT_EQ(ex.label, 1.0f);
  ASSERT_EQ(ex.size, 3u);
  EXPECT_EQ(ex.keys[0], FeatureKey(0, uint64_t{3}));
  EXPECT_EQ(ex.keys[1], FeatureKey(0, uint64_t{7}));
  EXPECT_EQ(ex.keys[2], FeatureKey(0, uint64_t{12}));
  EXPECT_THAT(std::vector<uint32_t>(ex.fields, ex.fields + 3), ElementsAre(0, 0, 0));
  EXPECT_THAT(std::vector<float>(ex.values, ex.values + 3), ElementsAre(1.0f, 0.5f, -20.0f));
}

TEST(LibsvmParserTest, BothLabelConventions) {
  const std::vector<std::pair<std::string, float>> cases = {
      {"1", 1}, {"+1", 1}, {"1.0", 1},  {"+1.0", 1}, {"1e0", 1},
      {"0", 0}, {"-1", 0}, {"-1.0", 0}, {"0.0", 0},  {"-0", 0}};
  for (const auto& [label, want] : cases) {
    ExampleBlock block;
    ASSERT_TRUE(ParseLibsvmLine(label + " 5:1", true, 0, &block).ok()) << label;
    ASSERT_EQ(block.size(), 1u);
    EXPECT_EQ(block.labels()[0], want) << label;
  }
}

TEST(LibsvmParserTest, LabelOnlyLineIsAnExampleWithoutFeatures) {
  ExampleBlock block;
  ASSERT_TRUE(ParseLibsvmLine("0", true, 0, &block).ok());
  ASSERT_EQ(block.size(), 1u);
  EXPECT_EQ(block.example(0).size, 0u);
}

TEST(LibsvmParserTest, LibffmTokensCarryTheirField) {
  ExampleBlock block;
  ASSERT_TRUE(ParseLibsvmLine("0 2:5:1 3:7:0.25 9:1", true, 0, &block).ok());
  const ExampleView ex = block.example(0);
  EXPECT_EQ(ex.label, 0.0f);
  ASSERT_EQ(ex.size, 3u);
  EXPECT_EQ(ex.keys[0], FeatureKey(2, uint64_t{5}));
  EXPECT_EQ(ex.keys[1], FeatureKey(3, uint64_t{7}));
  EXPECT_EQ(ex.keys[2], FeatureKey(0, uint64_t{9}));
  EXPECT_THAT(std::vector<uint32_t>(ex.fields, ex.fields + 3), ElementsAre(2, 3, 0));
  EXPECT_THAT(std::vector<float>(ex.values, ex.values + 3), ElementsAre(1.0f, 0.25f, 1.0f));
  // The same index in different fields is a different feature.
  EXPECT_NE(FeatureKey(2, uint64_t{5}), FeatureKey(3, uint64_t{5}));
}

TEST(LibsvmParserTest, HashBitsMaskKeys) {
  ExampleBlock block;
  ASSERT_TRUE(ParseLibsvmLine("1 1:1 2:1 3:1 1:4:1 123456789:1", true, 10, &block).ok());
  const ExampleView ex = block.example(0);
  ASSERT_EQ(ex.size, 5u);
  for (uint32_t i = 0; i < ex.size; ++i) EXPECT_LT(ex.keys[i], 1u << 10);
  EXPECT_EQ(ex.keys[0], FeatureKey(0, uint64_t{1}) & 1023);
  EXPECT_EQ(ex.keys[3], FeatureKey(1, uint64_t{4}) & 1023);
  EXPECT_EQ(ex.keys[4], MaskKey(FeatureKey(0, uint64_t{123456789}), 10));
}

TEST(LibsvmParserTest, CommentsWhitespaceAndCrlfTolerated) {
  ExampleBlock block;
  ASSERT_TRUE(ParseLibsvmLine("  1\t3:1   4:1 # 5:1 a comment", true, 0, &block).ok());
  ASSERT_TRUE(ParseLibsvmLine("0 3:1#comment right after a token", true, 0, &block).ok());
  ASSERT_TRUE(ParseLibsvmLine("1 3:1 4:2\r", true, 0, &block).ok());
  ASSERT_TRUE(ParseLibsvmLine("-1 3:1 \t \r", true, 0, &block).ok());
  ASSERT_EQ(block.size(), 4u);
  EXPECT_EQ(block.example(0).size, 2u);
  EXPECT_EQ(block.example(1).size, 1u);
  EXPECT_EQ(block.example(2).size, 2u);
  EXPECT_EQ(block.example(2).values[1], 2.0f);
  EXPECT_EQ(block.example(3).size, 1u);
  EXPECT_EQ(block.labels(), (std::vector<float>{1, 0, 1, 0}));
}

TEST(LibsvmParserTest, WithoutLabelParsesFeaturesOnly) {
  ExampleBlock block;
  ASSERT_TRUE(ParseLibsvmLine("3:1 4:0.5", false, 0, &block).ok());
  const ExampleView ex = block.example(0);
  EXPECT_EQ(ex.size, 2u);
  EXPECT_EQ(ex.keys[0], FeatureKey(0, uint64_t{3}));
  // Without a label, "1" is a malformed feature rather than a label.
  EXPECT_FALSE(ParseLibsvmLine("1 3:1", false, 0, &block).ok());
}

TEST(LibsvmParserTest, BadLabelsNamed) {
  for (const std::string label : {"2", "abc", "0.5", "+", "1x", "3:1"}) {
    ExampleBlock block;
    const absl::Status s = ParseLibsvmLine(label + " 4:1", true, 0, &block);
    ASSERT_FALSE(s.ok()) << label;
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(s.message(), HasSubstr("bad label '" + label + "'"));
    EXPECT_EQ(block.size(), 0u);
    EXPECT_EQ(block.num_features(), 0u);
  }
  ExampleBlock block;
  EXPECT_THAT(ParseLibsvmLine("   ", true, 0, &block).message(), HasSubstr("bad label"));
}

TEST(LibsvmParserTest, BadFeaturesNamedWithReason) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"3:x", "value is not a finite number"},
      {"3:", "value is not a finite number"},
      {"3:nan", "value is not a finite number"},
      {"3:inf", "value is not a finite number"},
      {"3:1.5.5", "value is not a finite number"},
      {"3", "expected idx:value or field:idx:value"},
      {"1:2:3:4", "expected idx:value or field:idx:value"},
      {":1", "index is not a non-negative integer"},
      {"-3:1", "index is not a non-negative integer"},
      {"a:1", "index is not a non-negative integer"},
      {"99999999999999999999999:1", "index is not a non-negative integer"},
      {"4294967296:1:1", "field is not an integer"},
      {"2:x:1", "index is not a non-negative integer"},
  };
  for (const auto& [token, reason] : cases) {
    ExampleBlock block;
    const absl::Status s = ParseLibsvmLine("1 5:1 " + token + " 6:1", true, 0, &block);
    ASSERT_FALSE(s.ok()) << token;
    EXPECT_THAT(s.message(), HasSubstr("bad feature '" + token + "'"));
    EXPECT_THAT(s.message(), HasSubstr(reason)) << token;
  }
}

TEST(LibsvmParserTest, ErrorAppendsNothing) {
  ExampleBlock block;
  ASSERT_TRUE(ParseLibsvmLine("1 1:1 2:1", true, 0, &block).ok());
  ASSERT_FALSE(ParseLibsvmLine("0 3:1 4:1 5:oops", true, 0, &block).ok());
  ASSERT_TRUE(ParseLibsvmLine("0 6:1", true, 0, &block).ok());
  ASSERT_EQ(block.size(), 2u);
  EXPECT_EQ(block.num_features(), 3u);
  EXPECT_EQ(block.example(1).size, 1u);
  EXPECT_EQ(block.example(1).keys[0], FeatureKey(0, uint64_t{6}));
}

TEST(LibsvmParserTest, ValueForms) {
  ExampleBlock block;
  ASSERT_TRUE(ParseLibsvmLine("1 1:+2 2:1e-3 3:-0.25 4:0 5:10", true, 0, &block).ok());
  const ExampleView ex = block.example(0);
  EXPECT_THAT(std::vector<float>(ex.values, ex.values + ex.size),
              ElementsAre(2.0f, 1e-3f, -0.25f, 0.0f, 10.0f));
}

TEST(LibsvmParserTest, HashBitsOutOfRangeRejected) {
  ExampleBlock block;
  EXPECT_EQ(ParseLibsvmLine("1 1:1", true, 64, &block).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseLibsvmLine("1 1:1", true, -1, &block).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace parasol
