#include "control/cluster_spec.h"

#include "gtest/gtest.h"

namespace parasol::control {
namespace {

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

}  // namespace
}  // namespace parasol::control
