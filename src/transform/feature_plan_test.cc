#include "transform/feature_plan.h"

#include "common/hash.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace parasol::transform {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

Schema TestSchema() {
  Schema s;
  s.label = "churn";
  s.numeric = {"tenure", "monthly"};
  s.categorical = {"contract", "payment"};
  return s;
}

TEST(FeaturePlanTest, ResolvesFieldIdsOpsAndCrosses) {
  auto specs = ParseYamlTransforms(
      "transforms:\n"
      "  - {type: piecewise, field: tenure, boundaries: [6, 12]}\n"
      "  - {type: pickcat, field: payment, keep: [card], other: rare}\n"
      "  - {type: descartes, fields: [payment, tenure], name: pt}\n",
      "m");
  ASSERT_TRUE(specs.ok()) << specs.status();
  auto plan = BuildPlan(TestSchema(), *specs, 20, "m");
  ASSERT_TRUE(plan.ok()) << plan.status();
  const FeaturePlan& p = **plan;
  EXPECT_THAT(p.field_names, ElementsAre("tenure", "monthly", "contract", "payment", "pt"));
  ASSERT_EQ(p.fields.size(), 4u);
  EXPECT_EQ(p.fields[0].op, ValueOp::kPiecewise);
  EXPECT_EQ(p.fields[1].op, ValueOp::kRawNumber);
  EXPECT_EQ(p.fields[1].field_key, MaskKey(FeatureKey(1, std::string_view()), 20));
  EXPECT_EQ(p.fields[2].op, ValueOp::kCategory);
  EXPECT_EQ(p.fields[3].op, ValueOp::kPickcat);
  EXPECT_EQ(p.fields[3].other_key, FeatureKey(3, std::string_view("rare")));
  ASSERT_EQ(p.crosses.size(), 1u);
  EXPECT_EQ(p.crosses[0].id, 4u);
  EXPECT_TRUE(p.crosses[0].drop_if_absent);
  EXPECT_THAT(p.crosses[0].sources, ElementsAre(3u, 0u));
  EXPECT_FALSE(p.needs_stats);
}

TEST(FeaturePlanTest, NormalizeNeedsStatisticsUntilFinished) {
  auto specs =
      ParseYamlTransforms("transforms: [{type: normalize, field: monthly, method: minmax}]\n", "m");
  ASSERT_TRUE(specs.ok()) << specs.status();
  auto plan = BuildPlan(TestSchema(), *specs, 0, "m");
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_TRUE((*plan)->needs_stats);
  ASSERT_THAT((*plan)->normalize_specs, ElementsAre(0));

  Accumulators acc(1);
  auto unfinished = FinishPlanStatistics(**plan, acc);
  EXPECT_THAT(unfinished.status().message(), HasSubstr("no value seen"));
  for (double x : {2.0, 4.0, 10.0}) acc[0].Add(x);
  auto finished = FinishPlanStatistics(**plan, acc);
  ASSERT_TRUE(finished.ok()) << finished.status();
  EXPECT_FALSE((*finished)->needs_stats);
  const FieldPlan& f = (*finished)->fields[1];
  EXPECT_EQ(f.op, ValueOp::kNormalize);
  EXPECT_EQ(f.offset, 2.0);
  EXPECT_EQ(f.scale, 8.0);
  ASSERT_TRUE((*finished)->specs[0].stats.has_value());
  EXPECT_EQ((*finished)->specs[0].stats->count, 3);
}

}  // namespace
}  // namespace parasol::transform
