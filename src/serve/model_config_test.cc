#include "serve/model_config.h"

#include "gtest/gtest.h"

namespace parasol {
namespace {

TEST(ModelConfigTest, ParsesYamlWithPoliciesLabelsAndTraffic) {
  auto config = ParseRepositoryConfig(R"(
models:
  - name: churn
    base_path: models/churn
    version_policy: {latest: 2}
    labels: {stable: 3, canary: 4}
    traffic: {stable: 90, canary: 10}
  - name: ctr
    base_path: /abs/ctr
    version_policy: all
  - name: fm
    base_path: fm
    version_policy: {specific: [7, 5]}
)",
                                      "/etc/parasol/models.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_EQ(config->models.size(), 3u);
  const ModelConfig& churn = config->models[0];
  EXPECT_EQ(churn.name, "churn");
  EXPECT_EQ(churn.base_path, "/etc/parasol/models/churn");  // relative to the config file
  EXPECT_EQ(churn.policy.kind, VersionPolicy::Kind::kLatest);
  EXPECT_EQ(churn.policy.latest, 2);
  EXPECT_EQ(churn.labels.at("canary"), 4);
  EXPECT_EQ(churn.traffic.at("stable"), 90);
  EXPECT_EQ(config->models[1].policy.kind, VersionPolicy::Kind::kAll);
  EXPECT_EQ(config->models[1].base_path, "/abs/ctr");
  EXPECT_EQ(config->models[2].policy.kind, VersionPolicy::Kind::kSpecific);
  EXPECT_EQ(config->models[2].policy.specific, (std::vector<int64_t>{7, 5}));
}

TEST(ModelConfigTest, ParsesJsonAndDefaultsToLatestOne) {
  auto config = ParseRepositoryConfig(
      R"({"models": [{"name": "m", "base_path": "/m", "version_policy": {"all": {}}},
                     {"name": "n", "base_path": "/n"}]})",
      "m.json");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->models[0].policy.kind, VersionPolicy::Kind::kAll);
  EXPECT_EQ(config->models[1].policy.kind, VersionPolicy::Kind::kLatest);
  EXPECT_EQ(config->models[1].policy.latest, 1);
}

struct BadCase {
  const char* text;
  const char* message;  // expected substring
};

TEST(ModelConfigTest, RejectsBadConfigsNamingTheField) {
  const BadCase cases[] = {
      {"models: [{name: a, base_path: /a, colour: red}]",
       "c.yaml: models[0]: unknown key 'colour'"},
      {"models: [{base_path: /a}]", "models[0].name"},
      {"models: [{name: 'a b', base_path: /a}]", "models[0].name: 'a b' is not"},
      {"models: [{name: a, base_path: /a}, {name: a, base_path: /b}]", "models[1].name: duplicate"},
      {"models: [{name: a, base_path: /a, labels: {'can-ary': 1}}]", "models[0].labels.can-ary"},
      {"models: [{name: a, base_path: /a, labels: {x: one}}]",
       "models[0].labels.x: expected a version"},
      {"models: [{name: a, base_path: /a, labels: {x: 1}, traffic: {y: 1}}]",
       "models[0].traffic.y: not a label"},
      {"models: [{name: a, base_path: /a, labels: {x: 1}, traffic: {x: -1}}]",
       "models[0].traffic.x: a weight is a number >= 0"},
      {"models: [{name: a, base_path: /a, labels: {x: 1}, traffic: {x: 0}}]", "must not all be 0"},
      {"models: [{name: a, base_path: /a, version_policy: {latest: 0}}]",
       "models[0].version_policy.latest: must be >= 1"},
      {"models: [{name: a, base_path: /a, version_policy: {newest: 1}}]",
       "unknown policy 'newest'"},
      {"models: [{name: a, base_path: /a, version_policy: {specific: []}}]", "non-empty list"},
      {"model: []", "c.yaml: models: expected a list"},
      {"models: [{name: a", "c.yaml:1: not valid YAML/JSON"},
  };
  for (const BadCase& c : cases) {
    auto config = ParseRepositoryConfig(c.text, "c.yaml");
    ASSERT_FALSE(config.ok()) << c.text;
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(config.status().message().find(c.message), std::string::npos)
        << c.text << " → " << config.status().message();
  }
}

TEST(ModelConfigTest, LabelAndNameTokens) {
  EXPECT_TRUE(IsValidLabel("canary_2"));
  EXPECT_FALSE(IsValidLabel(""));
  EXPECT_FALSE(IsValidLabel("a.b"));
  EXPECT_TRUE(IsValidModelName("churn-lr.v2"));
  EXPECT_FALSE(IsValidModelName(".."));
  EXPECT_FALSE(IsValidModelName("a/b"));
}

}  // namespace
}  // namespace parasol
