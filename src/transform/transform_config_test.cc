#include "transform/transform_config.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace parasol::transform {
namespace {

using ::testing::ElementsAre;
using ::testing::StartsWith;

TEST(TransformConfigTest, YamlReadsEveryTypeIntoSpecs) {
  auto specs = ParseYamlTransforms(
      "model: lr\n"
      "transforms:\n"
      "  - {type: piecewise, field: tenure, boundaries: [6, 12.5]}\n"
      "  - {type: pickcat, field: payment, keep: [card]}\n"
      "  - {type: normalize, field: monthly, method: minmax}\n"
      "  - {type: combinehash, fields: [contract, payment], name: cp}\n",
      "model.yaml");
  ASSERT_TRUE(specs.ok()) << specs.status();
  ASSERT_EQ(specs->size(), 4u);
  const std::vector<TransformSpec>& s = *specs;
  EXPECT_EQ(s[0].type, TransformType::kPiecewise);
  EXPECT_EQ(s[0].where, "model.yaml:3: transforms[0]");
  EXPECT_THAT(s[0].boundaries, ElementsAre(6, 12.5));
  EXPECT_EQ(s[1].other, kDefaultOther);
  EXPECT_THAT(s[1].keep, ElementsAre("card"));
  EXPECT_EQ(s[2].method, NormalizeMethod::kMinmax);
  EXPECT_FALSE(s[2].stats.has_value());
  EXPECT_EQ(s[3].type, TransformType::kCombinehash);
  EXPECT_THAT(s[3].fields, ElementsAre("contract", "payment"));
  EXPECT_EQ(s[3].name, "cp");
}

TEST(TransformConfigTest, YamlChecksShapesNotTheSchema) {
  // An unknown field is the plan's business; the reader takes it as written.
  auto specs = ParseYamlTransforms("transforms: [{type: pickcat, field: nope, keep: [x]}]\n", "m");
  ASSERT_TRUE(specs.ok()) << specs.status();
  EXPECT_EQ((*specs)[0].field, "nope");
  auto bad = ParseYamlTransforms("transforms: [{type: pickcat, field: f, keep: x}]\n", "m");
  EXPECT_EQ(bad.status().message(), "m:1: transforms[0].keep: expected a list, got 'x'");
}

// Shapes, keys and types are the config reader's: "file:line: transforms[i].key: what".
TEST(TransformConfigTest, YamlShapeErrorsNameFileLineAndField) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"transforms:\n  - {type: bucketize, field: tenure}\n",
       "model.yaml:2: transforms[0].type: unknown type 'bucketize' (expected piecewise, pickcat, "
       "normalize, descartes or combinehash)"},
      {"transforms:\n"
       "  - {type: piecewise, field: tenure, boundaries: [1]}\n"
       "  - {type: pickcat, field: payment, kep: [card]}\n",
       "model.yaml:3: transforms[1].keep: required (is 'kep' a misspelling?)"},
      {"transforms:\n  - {type: pickcat, field: payment, keep: [card], othr: rare}\n",
       "model.yaml:2: transforms[0].othr: unknown key, did you mean 'other'?"},
      {"transforms:\n  - {type: piecewise, field: tenure, boundaries: [1], keep: [a]}\n",
       "model.yaml:2: transforms[0].keep: unknown key (known here: type, field, boundaries)"},
      {"transforms:\n  - {type: descartes, fields: [contract, payment], name: x, field: y}\n",
       "model.yaml:2: transforms[0].field: unknown key, did you mean 'fields'?"},
      {"transforms:\n  - {type: piecewise, field: tenure, boundaries: [6, x]}\n",
       "model.yaml:2: transforms[0].boundaries[1]: not a number: 'x'"},
      {"transforms:\n  - {type: piecewise, field: tenure}\n",
       "model.yaml:2: transforms[0].boundaries: required"},
      {"transforms:\n  - {type: normalize, field: monthly, method: log}\n",
       "model.yaml:2: transforms[0].method: unknown method 'log' (expected minmax or zscore)"},
      {"transforms:\n  - {type: normalize, field: monthly}\n",
       "model.yaml:2: transforms[0].method: required"},
      {"transforms:\n  - {type: normalize, field: [monthly], method: minmax}\n",
       "model.yaml:2: transforms[0].field: expected a string, got a list"},
      {"transforms:\n  - {type: descartes, fields: [contract, payment]}\n",
       "model.yaml:2: transforms[0].name: required"},
      {"transforms:\n  - {type: descartes, fields: contract, name: x}\n",
       "model.yaml:2: transforms[0].fields: expected a list, got 'contract'"},
      {"transforms:\n  - {field: tenure}\n", "model.yaml:2: transforms[0].type: required"},
      {"transforms: {type: piecewise}\n",
       "model.yaml:1: transforms: expected a list, got a mapping"},
      {"transforms:\n  - [piecewise]\n",
       "model.yaml:2: transforms[0]: expected a mapping, got a list"},
      {"- transforms\n", "model.yaml:1: expected a mapping, got a list"},
  };
  for (const auto& [yaml, want] : cases) {
    auto p = ParseYamlTransforms(yaml, "model.yaml");
    ASSERT_FALSE(p.ok()) << yaml;
    EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument) << yaml;
    EXPECT_EQ(std::string(p.status().message()), want) << yaml;
  }
  auto p = ParseYamlTransforms("transforms: [{type: piecewise, field: tenure\n", "model.yaml");
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(p.status().message()), StartsWith("model.yaml:2: not valid YAML: "));
}

TEST(TransformConfigTest, MisspelledKeysGetTheNearestName) {
  auto yaml = ParseYamlTransforms(
      "epochs: 3\ntransforms:\n  - {type: piecewise, field: f, boundaries: [1], boundries: 2}\n",
      "m.yaml");
  EXPECT_EQ(std::string(yaml.status().message()),
            "m.yaml:3: transforms[0].boundries: unknown key, did you mean 'boundaries'?");
  auto json = PipelineConfigFromJson(
      R"({"version": 1, "hash_bits": 0, "fields": [], "transforms": [],
          "schema": {"label": "y", "positive": ["1"], "numeric": [], "categorical": [],
                     "columns": [], "header": true, "delimiter": ",", "delimeter": ";"}})");
  EXPECT_EQ(std::string(json.status().message()),
            "pipeline JSON: schema.delimeter: unknown key, did you mean 'delimiter'?");
}

TEST(TransformConfigTest, JsonWriteThenReadGivesTheSameConfig) {
  Schema schema;
  schema.label = "y";
  schema.numeric = {"x"};
  schema.categorical = {"a", "b"};
  std::vector<TransformSpec> specs(2);
  specs[0].type = TransformType::kNormalize;
  specs[0].field = "x";
  specs[0].method = NormalizeMethod::kMinmax;
  specs[0].stats = NormalizeStats{3, -1, 2, 0.5, 1.25};
  specs[1].type = TransformType::kDescartes;
  specs[1].fields = {"a", "b"};
  specs[1].name = "ab";
  const std::vector<std::string> fields = {"x", "a", "b", "ab"};
  const std::string json = PipelineConfigToJson(7, schema, specs, fields);

  auto config = PipelineConfigFromJson(json);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->hash_bits, 7);
  EXPECT_EQ(config->schema.categorical, schema.categorical);
  ASSERT_TRUE(config->fields.ok());
  EXPECT_EQ(*config->fields, fields);
  ASSERT_EQ(config->transforms.size(), 2u);
  const TransformSpec& n = config->transforms[0];
  ASSERT_TRUE(n.stats.has_value());
  EXPECT_EQ(n.stats->count, 3);
  EXPECT_EQ(n.stats->stddev, 1.25);
  EXPECT_EQ(n.where, "pipeline JSON: transforms[0]");
  EXPECT_EQ(config->transforms[1].name, "ab");
  EXPECT_EQ(
      PipelineConfigToJson(config->hash_bits, config->schema, config->transforms, *config->fields),
      json);
}

}  // namespace
}  // namespace parasol::transform
