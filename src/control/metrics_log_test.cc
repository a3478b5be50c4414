#include "control/metrics_log.h"

#include <nlohmann/json.hpp>

#include "gtest/gtest.h"

namespace parasol::control {
namespace {

TEST(MetricsLogTest, EveryNumericFieldButStepEpochAndTimeIsAPoint) {
  // What `parasol train` writes to OUT/metrics.jsonl.
  auto points = ParseMetricsLine(
      R"({"event": "epoch", "epoch": 2, "step": 6000, "examples": 3000, "loss": 0.45, )"
      R"("examples_per_sec": 1.5e5, "seconds": 0.02, "valid_auc": 0.77})",
      "trainer-0", 100.0);
  ASSERT_TRUE(points.ok()) << points.status();
  std::map<std::string, double> got;
  for (const auto& p : *points) {
    EXPECT_EQ(p.replica, "trainer-0");
    EXPECT_EQ(p.step, 6000);
    EXPECT_EQ(p.time, 100.0);
    got[p.name] = p.value;
  }
  EXPECT_EQ(got, (std::map<std::string, double>{{"examples", 3000},
                                                {"examples_per_sec", 1.5e5},
                                                {"loss", 0.45},
                                                {"seconds", 0.02},
                                                {"valid_auc", 0.77}}));
  EXPECT_FALSE(ParseMetricsLine(R"({"loss": 1})", "w", 0).ok());
  EXPECT_FALSE(ParseMetricsLine(R"({"step": -1, "loss": 1})", "w", 0).ok());
  EXPECT_FALSE(ParseMetricsLine("loss=1", "w", 0).ok());
  auto timed = ParseMetricsLine(R"({"step": 1, "time": 5.5, "auc": 0.5})", "w", 0);
  ASSERT_TRUE(timed.ok());
  ASSERT_EQ(timed->size(), 1u);
  EXPECT_EQ((*timed)[0].time, 5.5);
}

TEST(MetricsLogTest, ChunksConsumeWholeLinesAndCountBadOnes) {
  const std::string chunk =
      "{\"step\": 1, \"loss\": 0.9}\nnot json\n\n{\"step\": 2, \"loss\": 0.8}\n{\"st";
  ParsedChunk parsed = ParseMetricsChunk(chunk, "worker-0", 1);
  EXPECT_EQ(parsed.consumed, chunk.rfind('\n') + 1);
  EXPECT_EQ(parsed.bad_lines, 1);
  ASSERT_EQ(parsed.points.size(), 2u);
  EXPECT_EQ(parsed.points[1].step, 2);
  EXPECT_EQ(parsed.points[1].value, 0.8);
  EXPECT_EQ(ParseMetricsChunk("{\"step\": 1", "w", 0).consumed, 0u);
}

TEST(MetricsLogTest, SeriesGroupPointsByReplicaAndName) {
  const std::vector<MetricPoint> points = {{"w0", "auc", 1, 10, 0.6},
                                           {"w0", "auc", 2, 11, 0.7},
                                           {"w0", "loss", 1, 10, 0.9},
                                           {"w1", "loss", 1, 10, 0.8}};
  const auto j = nlohmann::json::parse(MetricSeriesJson("job", points));
  EXPECT_EQ(j["job"], "job");
  ASSERT_EQ(j["series"].size(), 3u);
  EXPECT_EQ(j["series"][0]["name"], "auc");
  EXPECT_EQ(j["series"][0]["points"], nlohmann::json::parse("[[1, 0.6, 10], [2, 0.7, 11]]"));
  EXPECT_EQ(j["series"][2]["replica"], "w1");
}

}  // namespace
}  // namespace parasol::control
