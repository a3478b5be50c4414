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
  const char* message;  // "file:line: field: what"
};

TEST(ModelConfigTest, RejectsBadConfigsNamingLineAndField) {
  const BadCase cases[] = {
      {"models: [{name: a, base_path: /a, colour: red}]",
       "c.yaml:1: models[0].colour: unknown key (known here: name, base_path, version_policy, "
       "labels, traffic, model_platform)"},
      {"models: [{base_path: /a}]", "c.yaml:1: models[0].name: required"},
      {"models: [{name: 'a b', base_path: /a}]",
       "c.yaml:1: models[0].name: 'a b' is not [A-Za-z0-9_.-]+"},
      {"models: [{name: a, base_path: /a}, {name: a, base_path: /b}]",
       "c.yaml:1: models[1].name: duplicate model 'a'"},
      {"models: [{name: a, base_path: /a, labels: {'can-ary': 1}}]",
       "c.yaml:1: models[0].labels.can-ary: a label is [A-Za-z0-9_]+"},
      {"models: [{name: a, base_path: /a, labels: {x: one}}]",
       "c.yaml:1: models[0].labels.x: expected an integer, got 'one'"},
      {"models: [{name: a, base_path: /a, labels: {x: 1}, traffic: {y: 1}}]",
       "c.yaml:1: models[0].traffic.y: not a label of this model"},
      {"models: [{name: a, base_path: /a, labels: {x: 1}, traffic: {x: -1}}]",
       "c.yaml:1: models[0].traffic.x: a weight is a number >= 0"},
      {"models: [{name: a, base_path: /a, labels: {x: 1}, traffic: {x: 0}}]",
       "c.yaml:1: models[0].traffic: weights must not all be 0"},
      {"models: [{name: a, base_path: /a, version_policy: {latest: 0}}]",
       "c.yaml:1: models[0].version_policy.latest: must be >= 1"},
      {"models: [{name: a, base_path: /a, version_policy: {latest: {num_versions: two}}}]",
       "c.yaml:1: models[0].version_policy.latest.num_versions: expected an integer, got 'two'"},
      {"models: [{name: a, base_path: /a, version_policy: {newest: 1}}]",
       "c.yaml:1: models[0].version_policy.newest: unknown key (known here: latest, specific, "
       "all)"},
      {"models: [{name: a, base_path: /a, version_policy: {latest: 1, all: {}}}]",
       "c.yaml:1: models[0].version_policy: expected exactly one of latest, all, specific"},
      {"models: [{name: a, base_path: /a, version_policy: newest}]",
       "c.yaml:1: models[0].version_policy: expected 'all', {latest: N}, {all: {}} or "
       "{specific: [...]}"},
      {"models: [{name: a, base_path: /a, version_policy: {specific: []}}]",
       "c.yaml:1: models[0].version_policy.specific: expected a non-empty list of versions"},
      {"models: [{name: a, base_path: /a, version_policy: {specific: [3, -1]}}]",
       "c.yaml:1: models[0].version_policy.specific[1]: must be >= 0"},
      {"model: []", "c.yaml:1: models: required (is 'model' a misspelling?)"},
      {"models: {name: a}", "c.yaml:1: models: expected a list, got a mapping"},
  };
  for (const BadCase& c : cases) {
    auto config = ParseRepositoryConfig(c.text, "c.yaml");
    ASSERT_FALSE(config.ok()) << c.text;
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(std::string(config.status().message()), c.message) << c.text;
  }
  auto bad = ParseRepositoryConfig("models: [{name: a", "c.yaml");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(bad.status().message()).rfind("c.yaml:1: not valid YAML: ", 0), 0u)
      << bad.status();
}

TEST(ModelConfigTest, MisspelledKeysGetTheNearestNameAndTheirLine) {
  const char* text = R"(models:
  - name: churn
    base_path: /m
    lables: {stable: 3}
    traffic: {stable: 1}
)";
  // 'lables' is named before traffic's "not a label of this model" could mislead.
  EXPECT_EQ(std::string(ParseRepositoryConfig(text, "m.yaml").status().message()),
            "m.yaml:4: models[0].lables: unknown key, did you mean 'labels'?");
  EXPECT_EQ(std::string(ParseRepositoryConfig("models:\n  - name: a\n    base_pth: /a\n", "m.yaml")
                            .status()
                            .message()),
            "m.yaml:2: models[0].base_path: required (is 'base_pth' a misspelling?)");
  // JSON, which YAML reads too, has lines as well.
  EXPECT_EQ(std::string(ParseRepositoryConfig("{\"models\": [\n  {\"name\": \"a\",\n"
                                              "   \"base_path\": \"/a\", \"trafic\": {}}]}",
                                              "m.json")
                            .status()
                            .message()),
            "m.json:3: models[0].trafic: unknown key, did you mean 'traffic'?");
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
