#include "control/workflow/workflow_spec.h"

#include "gtest/gtest.h"

namespace parasol::control {
namespace {

const char kSpec[] = R"(name: wf
kind: workflow
params: {data: t.svm, base: ~}
steps:
  - name: train
    train: {train: "{{params.data}}", epochs: 2}
  - name: gate
    dependsOn: [train]
    gate:
      candidate: "{{steps.train.outputs.model}}"
      data: "{{params.data}}"
      metrics: {auc: {min: 0.7}}
  - name: deploy
    dependsOn: [gate]
    when: "{{steps.gate.outputs.verdict}} == BLESSED"
    deploy: {model: "{{steps.train.outputs.model}}", modelBase: "{{params.base}}"}
)";

TEST(WorkflowSpecTest, BuiltInStepsBecomeJobsOfTheParasolBinary) {
  auto spec = ParseWorkflowSpec(kSpec, "wf.yaml");
  ASSERT_TRUE(spec.ok()) << spec.status();
  ASSERT_EQ(spec->steps.size(), 3u);
  const StepSpec& train = spec->steps[0];
  EXPECT_EQ(train.job["kind"], "train");
  EXPECT_EQ(train.job["train"]["args"]["out"], "{{outputs.model}}");
  EXPECT_EQ(train.outputs, std::vector<std::string>{"model"});
  const StepSpec& gate = spec->steps[1];
  EXPECT_EQ(gate.job["replicas"]["step"]["command"][0], "{{parasol}}");
  EXPECT_EQ(gate.job["replicas"]["step"]["command"][2], "gate");
  EXPECT_EQ(StepAndDependents(*spec, "gate"), (std::vector<std::string>{"gate", "deploy"}));

  auto params = ResolveParams(*spec, {{"base", "/m"}});
  ASSERT_TRUE(params.ok()) << params.status();
  EXPECT_EQ(params->at("data"), "t.svm");
  auto job = SubstituteJson(spec->steps[2].job, {{"parasol", "/bin/parasol"},
                                                 {"steps.train.outputs.model", "/r/train/model"},
                                                 {"params.base", "/m"},
                                                 {"step.dir", "/r/deploy"},
                                                 {"run.name", "wf-abcde"}});
  ASSERT_TRUE(job.ok()) << job.status();
  const std::string command = (*job)["replicas"]["step"]["command"].dump();
  EXPECT_EQ(command,
            R"(["/bin/parasol","workflow","deploy","--model","/r/train/model","--model-base","/m",)"
            R"("--out","/r/deploy"])");
}

TEST(WorkflowSpecTest, WhenConditions) {
  EXPECT_TRUE(*EvaluateWhen("BLESSED == BLESSED"));
  EXPECT_FALSE(*EvaluateWhen(" NOT_BLESSED == BLESSED "));
  EXPECT_TRUE(*EvaluateWhen("a != b"));
  EXPECT_FALSE(*EvaluateWhen("false"));
  EXPECT_FALSE(EvaluateWhen("maybe").ok());
}

TEST(WorkflowSpecTest, ErrorsNameTheField) {
  const std::string head = "name: wf\nkind: workflow\nsteps:\n";
  const std::string job = "    job: {kind: custom, replicas: {m: {command: [\"true\"]}}}\n";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"  - name: a\n    dependsOn: [a]\n" + job,
       "wf.yaml:5: steps[0].dependsOn[0]: a step cannot depend on itself"},
      {"  - name: a\n" + job + "  - name: a\n" + job,
       "wf.yaml:6: steps[1].name: a step named 'a' comes earlier"},
      {"  - name: a\n    retries: -1\n" + job, "wf.yaml:5: steps[0].retries"},
      {"  - name: a\n", "wf.yaml:4: steps[0]: expected exactly one of job"},
      {"  - name: a\n    job: {name: x, kind: custom, replicas: {m: {command: [\"true\"]}}}\n",
       "steps[0].job.name: unknown key"},
      {"  - name: t\n    train: {out: x}\n", "steps[0].train.out: set by the workflow"},
      {"  - name: a\n    job: {kind: custom, replicas: {m: {command: [\"{{params.nope}}\"]}}}\n",
       "steps[0].job: {{params.nope}}: no param 'nope' is declared"},
      {"  - name: g\n    gate: {candidate: m, data: d, baseline: {server: s}, metrics: {auc: {min: "
       "1}}}\n",
       "steps[0].gate.baseline.server: needs modelBase"},
  };
  for (const auto& [body, expect] : cases) {
    auto spec = ParseWorkflowSpec(head + body, "wf.yaml");
    ASSERT_FALSE(spec.ok()) << body;
    EXPECT_NE(spec.status().message().find(expect), std::string::npos)
        << "expected: " << expect << "\ngot: " << spec.status();
  }
  auto missing = ResolveParams(*ParseWorkflowSpec(kSpec, "wf.yaml"), {});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("params.base: required"), std::string::npos);
}

}  // namespace
}  // namespace parasol::control
