#include "common/cluster_spec.h"

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace parasol {
namespace {

// What the parameter servers and workers read (moved from ps/cluster_spec_test.cc).

TEST(ClusterSpecTest, ReadsServersWorkersAndTask) {
  auto spec = ParseClusterSpec(
      R"({"cluster": {"ps": ["ps-0.job:9100", "ps-1.job:9100"], "worker": ["w-0.job:9200"]},
          "task": {"type": "worker", "index": 0}})");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->servers(), (std::vector<std::string>{"ps-0.job:9100", "ps-1.job:9100"}));
  EXPECT_EQ(spec->workers().size(), 1u);
  EXPECT_EQ(spec->task_type, "worker");
  EXPECT_EQ(spec->task_index, 0);
}

TEST(ClusterSpecTest, ErrorsNameTheField) {
  const std::pair<const char*, const char*> cases[] = {
      {"[]", "PARASOL_CLUSTER: expected a JSON object"},
      {"{", "PARASOL_CLUSTER: not JSON"},
      {R"({"task": {"type": "ps", "index": 0}})",
       R"(PARASOL_CLUSTER: cluster: required: an object ROLE: ["host:port", ...])"},
      {R"({"cluster": {"ps": []}, "task": {"type": "ps", "index": 0}})",
       R"(PARASOL_CLUSTER: cluster.ps: expected a non-empty list of "host:port")"},
      {R"({"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 0}})",
       R"(PARASOL_CLUSTER: cluster.ps: required: a list of "host:port")"},
      {R"({"cluster": {"ps": ["nohost"]}, "task": {"type": "ps", "index": 0}})",
       "PARASOL_CLUSTER: cluster.ps[0]: 'nohost' is not host:port"},
      {R"({"cluster": {"ps": [5]}, "task": {"type": "ps", "index": 0}})",
       "PARASOL_CLUSTER: cluster.ps[0]: expected a string, got '5'"},
      {R"({"cluster": {"ps": ["a:1"]}, "task": {"type": "chief", "index": 0}})",
       R"(PARASOL_CLUSTER: task.type: 'chief' is not "ps" or "worker")"},
      {R"({"cluster": {"ps": ["a:1"]}, "task": {"type": "ps", "index": "0"}})",
       R"(PARASOL_CLUSTER: task.index: expected an integer, got the string "0")"},
      {R"({"cluster": {"ps": ["a:1"]}, "task": {"type": "ps", "index": 1}})",
       "PARASOL_CLUSTER: task.index: 1 is not in [0, 1) (the number of ps entries)"},
      {R"({"cluster": {"ps": ["a:1"]}, "task": {"type": "worker", "index": 0}})",
       "PARASOL_CLUSTER: task.index: 0 is not in [0, 0) (the number of worker entries)"},
      {R"({"cluster": {"ps": ["a:1"]}, "task": {"type": "ps", "index": 0}, "environmnet": "x"})",
       "PARASOL_CLUSTER: environmnet: unknown key, did you mean 'environment'?"},
  };
  for (const auto& [text, want] : cases) {
    auto spec = ParseClusterSpec(text);
    ASSERT_FALSE(spec.ok()) << text;
    EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(spec.status().message(), want) << text;
  }
}

// What the control plane writes (moved from control/cluster_spec_test.cc).

TEST(ClusterSpecTest, TfConfigIsExactlyTensorFlowsFormat) {
  const ClusterAddresses cluster = {{"worker", {"h0:2222", "h1:2222"}}, {"ps", {"h:2222"}}};
  // The form training-operator's tests expect: roles sorted, lists by index, no spaces.
  EXPECT_EQ(TfConfigJson(cluster, "worker", 0),
            R"({"cluster":{"ps":["h:2222"],"worker":["h0:2222","h1:2222"]},)"
            R"("task":{"type":"worker","index":0},"environment":"cloud"})");
  EXPECT_EQ(ParasolClusterJson("hello", cluster, "ps", 0),
            R"({"job":"hello","cluster":{"ps":["h:2222"],"worker":["h0:2222","h1:2222"]},)"
            R"("task":{"type":"ps","index":0,"address":"h:2222"}})");
}

// The two ends agree: what the control plane writes for each replica, a server or worker reads
// back as the same spec, in both forms.

TEST(ClusterSpecTest, WhatControlWritesPsReadsBackIdentically) {
  const ClusterAddresses cluster = {{"ps", {"ps-0.j:9100", "ps-1.j:9100"}},
                                    {"worker", {"w-0.j:9200", "w-1.j:9200", "w-2.j:9200"}},
                                    {"chief", {"c-0.j:9300"}}};
  for (const auto& [role, count] : {std::pair<std::string, int>{"ps", 2}, {"worker", 3}}) {
    for (int index = 0; index < count; ++index) {
      const ClusterSpec want{"train-1", cluster, role, index};
      auto parasol = ParseClusterSpec(ParasolClusterJson("train-1", cluster, role, index));
      ASSERT_TRUE(parasol.ok()) << parasol.status();
      EXPECT_EQ(*parasol, want) << role << index;
      EXPECT_EQ(ParasolClusterJson(*parasol), ParasolClusterJson("train-1", cluster, role, index));

      // TF_CONFIG carries no job name; everything else is the same.
      auto tf = ParseClusterSpec(TfConfigJson(cluster, role, index));
      ASSERT_TRUE(tf.ok()) << tf.status();
      EXPECT_EQ(*tf, (ClusterSpec{"", cluster, role, index})) << role << index;
      EXPECT_EQ(TfConfigJson(*tf), TfConfigJson(cluster, role, index));
      EXPECT_EQ(tf->servers(), cluster.at("ps"));
      EXPECT_EQ(tf->workers(), cluster.at("worker"));
    }
  }
}

TEST(ClusterSpecTest, TemplatesLeaveTheIndexToTheExpression) {
  const ClusterAddresses cluster = {{"ps", {"h:1"}}, {"worker", {"w:2"}}};
  EXPECT_EQ(TfConfigTemplate(cluster, "worker", "$(I)"),
            R"({"cluster":{"ps":["h:1"],"worker":["w:2"]},)"
            R"("task":{"type":"worker","index":$(I)},"environment":"cloud"})");
  EXPECT_EQ(ParasolClusterTemplate("j", cluster, "ps", "$(I)"),
            R"({"job":"j","cluster":{"ps":["h:1"],"worker":["w:2"]},)"
            R"("task":{"type":"ps","index":$(I)}})");
  // Expanded, the template is the spec of that replica.
  const std::string with_expression = ParasolClusterTemplate("j", cluster, "worker", "$(I)");
  const size_t at = with_expression.find("$(I)");
  ASSERT_NE(at, std::string::npos);
  // StrCat, not std::string::replace: GCC 12 at -O3 reports a false -Wrestrict on the latter.
  const std::string expanded =
      absl::StrCat(with_expression.substr(0, at), "0", with_expression.substr(at + 4));
  auto spec = ParseClusterSpec(expanded);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(*spec, (ClusterSpec{"j", cluster, "worker", 0}));
}

TEST(ClusterSpecTest, EveryRoleMustHoldAddresses) {
  auto spec = ParseClusterSpec(
      R"({"cluster": {"ps": ["a:1"], "chief": ["nohost"]}, "task": {"type": "ps", "index": 0}})");
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.status().message(),
            "PARASOL_CLUSTER: cluster.chief[0]: 'nohost' is not host:port");
  spec = ParseClusterSpec(R"({"job": 3, "cluster": {"ps": ["a:1"]},
                              "task": {"type": "ps", "index": 0}})");
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.status().message(), "PARASOL_CLUSTER: job: expected a string, got '3'");
}

}  // namespace
}  // namespace parasol
