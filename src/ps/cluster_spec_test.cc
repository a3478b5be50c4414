#include "ps/cluster_spec.h"

#include "gtest/gtest.h"

namespace parasol {
namespace {

TEST(ClusterSpecTest, ReadsServersWorkersAndTask) {
  auto spec = ParseClusterSpec(
      R"({"cluster": {"ps": ["ps-0.job:9100", "ps-1.job:9100"], "worker": ["w-0.job:9200"]},
          "task": {"type": "worker", "index": 0}})");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->servers, (std::vector<std::string>{"ps-0.job:9100", "ps-1.job:9100"}));
  EXPECT_EQ(spec->workers.size(), 1u);
  EXPECT_EQ(spec->task_type, "worker");
  EXPECT_EQ(spec->task_index, 0);
}

TEST(ClusterSpecTest, ErrorsNameTheField) {
  const std::pair<const char*, const char*> cases[] = {
      {"[]", "(document)"},
      {R"({"task": {"type": "ps", "index": 0}})", "cluster:"},
      {R"({"cluster": {"ps": []}, "task": {"type": "ps", "index": 0}})", "cluster.ps:"},
      {R"({"cluster": {"ps": ["nohost"]}, "task": {"type": "ps", "index": 0}})",
       "cluster.ps[0]: 'nohost' is not host:port"},
      {R"({"cluster": {"ps": ["a:1"]}, "task": {"type": "chief", "index": 0}})", "task.type"},
      {R"({"cluster": {"ps": ["a:1"]}, "task": {"type": "ps", "index": 1}})",
       "task.index: 1 is not in [0, 1)"},
      {R"({"cluster": {"ps": ["a:1"]}, "task": {"type": "worker", "index": 0}})",
       "task.index: 0 is not in [0, 0)"},
  };
  for (const auto& [text, want] : cases) {
    auto spec = ParseClusterSpec(text);
    ASSERT_FALSE(spec.ok()) << text;
    EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(spec.status().message().find(want), std::string::npos) << spec.status();
    EXPECT_NE(spec.status().message().find("PARASOL_CLUSTER"), std::string::npos);
  }
}

}  // namespace
}  // namespace parasol
