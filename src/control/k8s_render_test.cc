#include "control/k8s_render.h"

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "common/files.h"
#include "gtest/gtest.h"

namespace parasol::control {
namespace {

std::string Read(const std::string& path) { return ReadFileToString(path).value_or(""); }

const std::string kData = std::string(PARASOL_SOURCE_DIR) + "/src/control/";

// Rendered YAML must equal the golden file; PARASOL_UPDATE_GOLDEN=1 rewrites it.
void ExpectGolden(const std::string& rendered, const std::string& golden) {
  if (std::getenv("PARASOL_UPDATE_GOLDEN") != nullptr) std::ofstream(golden) << rendered;
  EXPECT_EQ(rendered, Read(golden))
      << "golden file " << golden << " differs; rerun with PARASOL_UPDATE_GOLDEN=1 and review";
}

// yaml-cpp's reading of the YAML as JSON, to check that quoting kept every type.
nlohmann::ordered_json FromYaml(const YAML::Node& n) {
  if (n.IsMap()) {
    nlohmann::ordered_json j = nlohmann::ordered_json::object();
    for (const auto& kv : n) j[kv.first.as<std::string>()] = FromYaml(kv.second);
    return j;
  }
  if (n.IsSequence()) {
    nlohmann::ordered_json j = nlohmann::ordered_json::array();
    for (const auto& v : n) j.push_back(FromYaml(v));
    return j;
  }
  if (n.Tag() == "!") return n.Scalar();  // quoted: a string
  bool b;
  int64_t i;
  if (YAML::convert<int64_t>::decode(n, i)) return i;
  if (n.Scalar() == "true" || n.Scalar() == "false") {
    YAML::convert<bool>::decode(n, b);
    return b;
  }
  return n.Scalar();
}

TEST(K8sRenderTest, HelloSpecMatchesGoldenAndYamlKeepsTypes) {
  auto spec = ParseJobSpec(Read(kData + "examples/hello.yaml"), "hello.yaml");
  ASSERT_TRUE(spec.ok()) << spec.status();
  K8sRenderOptions o;
  o.image = "busybox:1.36";
  auto manifests = RenderKubernetes(*spec, o);
  ASSERT_TRUE(manifests.ok()) << manifests.status();
  ASSERT_EQ(manifests->size(), 3u);
  EXPECT_EQ((*manifests)[0]["kind"], "Service");
  EXPECT_EQ((*manifests)[0]["spec"]["clusterIP"], "None");
  EXPECT_EQ((*manifests)[1]["kind"], "StatefulSet");  // ps: never exits by itself
  EXPECT_EQ((*manifests)[2]["kind"], "Job");          // workers complete the job
  EXPECT_EQ((*manifests)[2]["spec"]["completionMode"], "Indexed");
  const std::string yaml = ManifestsToYaml(*manifests);
  ExpectGolden(yaml, kData + "testdata/k8s/hello.k8s.yaml");
  const auto docs = YAML::LoadAll(yaml);
  ASSERT_EQ(docs.size(), 3u);
  for (size_t i = 0; i < docs.size(); ++i) {
    EXPECT_EQ(FromYaml(docs[i]), (*manifests)[i]) << i;
  }
}

TEST(K8sRenderTest, FullSpecMapsResourcesPoliciesAndDnsNames) {
  auto spec = ParseJobSpec(Read(kData + "testdata/k8s/full.yaml"), "full.yaml");
  ASSERT_TRUE(spec.ok()) << spec.status();
  K8sRenderOptions o;
  o.kube_namespace = "ml";
  auto manifests = RenderKubernetes(*spec, o);
  ASSERT_TRUE(manifests.ok()) << manifests.status();
  ExpectGolden(ManifestsToYaml(*manifests), kData + "testdata/k8s/full.k8s.yaml");
  ASSERT_EQ(manifests->size(), 4u);
  const auto& ps = (*manifests)[1];
  EXPECT_EQ(ps["kind"], "StatefulSet");
  const auto& ps_container = ps["spec"]["template"]["spec"]["containers"][0];
  EXPECT_EQ(ps_container["resources"]["requests"]["cpu"], "2");
  EXPECT_EQ(ps_container["resources"]["requests"]["memory"], "4294967296");
  const auto& worker = (*manifests)[2];
  EXPECT_EQ(worker["kind"], "Job");
  EXPECT_EQ(worker["spec"]["backoffLimit"], 4);
  EXPECT_EQ(worker["spec"]["activeDeadlineSeconds"], 7200);
  EXPECT_EQ(worker["spec"]["template"]["spec"]["restartPolicy"], "Never");
  EXPECT_EQ(worker["spec"]["podFailurePolicy"]["rules"][0]["onExitCodes"]["values"].size(), 128u);
  const auto& w = worker["spec"]["template"]["spec"]["containers"][0];
  EXPECT_EQ(w["resources"]["limits"]["nvidia.com/gpu"], "1");
  EXPECT_EQ(w["resources"]["requests"]["cpu"], "500m");  // inherited from the job
  EXPECT_EQ(worker["spec"]["template"]["spec"]["nodeSelector"]["cloud.google.com/gke-accelerator"],
            "nvidia-tesla-t4");
  std::string tf_config;
  for (const auto& e : w["env"]) {
    if (e["name"] == "TF_CONFIG") tf_config = e["value"];
  }
  EXPECT_EQ(tf_config, R"({"cluster":{"evaluator":["ctr-evaluator-0.ctr.ml.svc:2222"],)"
                       R"("ps":["ctr-ps-0.ctr.ml.svc:2222","ctr-ps-1.ctr.ml.svc:2222"],)"
                       R"("worker":["ctr-worker-0.ctr.ml.svc:2222","ctr-worker-1.ctr.ml.svc:2222",)"
                       R"("ctr-worker-2.ctr.ml.svc:2222"]},"task":{"type":"worker",)"
                       R"("index":$(PARASOL_REPLICA_INDEX)},"environment":"cloud"})");
  EXPECT_EQ((*manifests)[3]["spec"]["template"]["spec"]["containers"][0]["image"],
            "python:3.11-slim");
}

TEST(K8sRenderTest, SpecsThatCannotRunOnKubernetesAreRejected) {
  auto spec = ParseJobSpec(Read(kData + "examples/hello.yaml"), "hello.yaml");
  ASSERT_TRUE(spec.ok());
  auto no_image = RenderKubernetes(*spec, K8sRenderOptions{});
  ASSERT_FALSE(no_image.ok());
  EXPECT_NE(no_image.status().message().find("image: required"), std::string::npos);
  JobSpec relative = *spec;
  relative.working_dir = "data";
  EXPECT_NE(RenderKubernetes(relative, {.image = "x"}).status().message().find("workingDir"),
            std::string::npos);
  JobSpec long_name = *spec;
  long_name.name = std::string(60, 'a');
  EXPECT_NE(RenderKubernetes(long_name, {.image = "x"}).status().message().find("63 characters"),
            std::string::npos);
  auto train = ParseJobSpec("name: t\nkind: train\ntrain: {args: {train: a.svm, out: m}}\n", "t");
  ASSERT_TRUE(train.ok());
  auto rendered = RenderKubernetes(*train, K8sRenderOptions{});
  ASSERT_TRUE(rendered.ok()) << rendered.status();
  const auto& c = (*rendered)[1]["spec"]["template"]["spec"]["containers"][0];
  EXPECT_EQ(c["image"], kParasolImage);
  EXPECT_EQ(c["command"][0], "parasol");
  auto serve = ParseJobSpec("name: s\nkind: serve\nserve: {args: {model-base: m}}\n", "s");
  ASSERT_TRUE(serve.ok()) << serve.status();
  EXPECT_NE(RenderKubernetes(*serve, {.image = "x"}).status().message().find("kind: serve"),
            std::string::npos);
}

}  // namespace
}  // namespace parasol::control
