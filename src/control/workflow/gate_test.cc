#include "control/workflow/gate.h"

#include "gtest/gtest.h"

namespace parasol::control {
namespace {

std::vector<MetricRule> Rules(const std::string& json) {
  auto rules = GateRulesFromJson(json);
  EXPECT_TRUE(rules.ok()) << rules.status();
  return rules.ok() ? *rules : std::vector<MetricRule>{};
}

TEST(GateTest, AbsoluteBoundsAndChangeAgainstTheBaseline) {
  const auto rules =
      Rules(R"({"auc": {"min": 0.8, "change": ">= -0.001"}, "logloss": {"max": 0.45}})");
  const std::map<std::string, double> baseline = {{"auc", 0.85}, {"logloss", 0.40}};
  // Within 0.001 of the baseline, above the floor: blessed, with every figure recorded.
  GateVerdict v = JudgeGate(rules, {{"auc", 0.8495}, {"logloss", 0.41}}, baseline);
  EXPECT_TRUE(v.blessed);
  ASSERT_EQ(v.checks.size(), 3u);
  EXPECT_EQ(v.checks[1].rule, "change >= -0.001");
  EXPECT_NEAR(v.checks[1].value, -0.0005, 1e-12);
  EXPECT_EQ(*v.checks[1].baseline, 0.85);
  // Worse than the baseline by more than 0.001: not blessed, though above the floor.
  v = JudgeGate(rules, {{"auc", 0.84}, {"logloss", 0.41}}, baseline);
  EXPECT_FALSE(v.blessed);
  EXPECT_TRUE(v.checks[0].passed);
  EXPECT_FALSE(v.checks[1].passed);
  // A bound the candidate misses.
  EXPECT_FALSE(JudgeGate(rules, {{"auc", 0.86}, {"logloss", 0.5}}, baseline).blessed);
}

TEST(GateTest, WithoutABaselineOnlyTheAbsoluteBoundsApplyAndAVerdictExists) {
  const auto rules = Rules(R"({"auc": {"min": 0.8, "change": ">= 0"}})");
  GateVerdict v = JudgeGate(rules, {{"auc", 0.81}}, std::nullopt);
  EXPECT_TRUE(v.blessed);
  ASSERT_EQ(v.skipped.size(), 1u);
  EXPECT_EQ(v.skipped[0], "auc change >= 0 (no baseline)");
  EXPECT_FALSE(JudgeGate(rules, {{"auc", 0.79}}, std::nullopt).blessed);
  // A metric the scores lack (AUC of a one-class set) fails rather than passes.
  EXPECT_FALSE(JudgeGate(rules, {}, std::nullopt).blessed);
}

TEST(GateTest, RulesAreCheckedNamingTheField) {
  auto bad = GateRulesFromJson(R"({"auc": {"change": "about the same"}})");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("auc.change: expected \"OP NUMBER\""), std::string::npos)
      << bad.status();
  bad = GateRulesFromJson(R"({"auc": {"mni": 0.8}})");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("did you mean 'min'"), std::string::npos) << bad.status();
  // Rules survive the trip through the gate step's command line.
  const auto rules = Rules(R"({"auc": {"min": 0.8, "change": "> -0.5"}})");
  EXPECT_EQ(GateRulesToJson(rules).dump(), R"({"auc":{"change":"> -0.5","min":0.8}})");
}

}  // namespace
}  // namespace parasol::control
