#include "control/workflow/workflow_run.h"

#include "gtest/gtest.h"

namespace parasol::control {
namespace {

TEST(WorkflowRunTest, StoredFormReadsBackAndDamageIsNamed) {
  WorkflowRun run;
  run.name = "wf-abcde";
  run.workflow = "wf";
  run.spec_text = "name: wf\n";
  run.params = {{"base", "/m"}};
  run.state = RunState::kBlocked;
  StepRecord gate;
  gate.name = "gate";
  gate.type = "gate";
  gate.state = StepState::kSucceeded;
  gate.attempts = {{"wf-abcde-gate", "Succeeded", ""}};
  gate.tries = 1;
  gate.verdict = "NOT_BLESSED";
  gate.figures = {{"verdict", "NOT_BLESSED"}, {"checks", nlohmann::json::array()}};
  gate.outputs = {{"verdict", "NOT_BLESSED"}};
  run.steps.push_back(gate);
  const std::string json = WorkflowRunToJson(run).dump();
  auto back = WorkflowRunFromJson(json, "control.db: run wf-abcde");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(WorkflowRunToJson(*back).dump(), json);
  EXPECT_EQ(back->state, RunState::kBlocked);
  EXPECT_EQ(back->steps[0].figures["verdict"], "NOT_BLESSED");

  std::string damaged = json;
  damaged.replace(damaged.find("\"Blocked\""), 9, "\"Asleep\"");
  auto bad = WorkflowRunFromJson(damaged, "control.db: run wf-abcde");
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(absl::IsDataLoss(bad.status()));
  EXPECT_NE(bad.status().message().find("state: unknown state 'Asleep'"), std::string::npos)
      << bad.status();
}

}  // namespace
}  // namespace parasol::control
