// A workflow as the user writes it (`kind: workflow`, YAML or JSON): params, and a DAG of steps,
// each an inline job spec or a built-in step (train, eval, gate, deploy) that becomes a job of
// the `parasol` binary. Parsing validates the whole graph (unknown steps, cycles, references to
// outputs that do not exist) and names the field at fault ("wf.yaml:12: steps[2].dependsOn[0]:
// ..."). Each step is kept as a job spec template (JSON with {{...}} references) that the engine
// fills in when the step starts. Plain values; thread-compatible.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace parasol::control {

enum class StepType { kJob, kTrain, kEval, kGate, kDeploy };
const char* StepTypeName(StepType type);

// One metric's rule in a gate: absolute bounds on the candidate, and a change against the
// baseline ("auc: {change: '>= -0.001'}": candidate - baseline >= -0.001), which applies only
// when there is a baseline.
struct MetricRule {
  std::string metric;  // auc, logloss, ... (eval's names)
  std::optional<double> min, max;
  std::string change_op;  // ">=", ">", "<=", "<"; empty: no change rule
  double change = 0;
};

struct StepSpec {
  std::string name;  // DNS label, at most 20 characters
  StepType type = StepType::kJob;
  std::vector<std::string> depends_on;
  int retries = 0;              // attempts after the first failed one
  int64_t timeout_seconds = 0;  // per attempt (the job's activeDeadlineSeconds); 0: none
  std::string when;  // "A == B", "A != B", "true", "false" after substitution; empty: always
  std::vector<std::string> outputs;  // names other steps may reference
  // The job this step runs, as JobSpecToJson's form without "name", whose strings may hold
  // {{params.X}}, {{steps.S.outputs.O}}, {{outputs.O}}, {{step.dir}}, {{run.name}},
  // {{run.dir}} and {{parasol}} (the binary).
  nlohmann::ordered_json job;
};

struct WorkflowSpec {
  std::string name;  // DNS label, at most 30 characters (runs are NAME-xxxxx)
  std::map<std::string, std::optional<std::string>> params;  // nullopt: required (no default)
  std::string working_dir;                                   // empty: the submitter's
  std::vector<StepSpec> steps;                               // in the spec's order
  const StepSpec* Find(const std::string& step) const;
};

// Outputs a built-in step has (a job step declares its own in `outputs:`). Paths are under the
// step's folder RUN_DIR/STEP/; the others are read from RUN_DIR/STEP/outputs.json.
struct OutputInfo {
  std::string name;
  std::string path;  // relative to the step's folder; empty: a value from outputs.json
};
std::vector<OutputInfo> BuiltInOutputs(StepType type);

// Parses and validates. `source` names the input in messages.
absl::StatusOr<WorkflowSpec> ParseWorkflowSpec(const std::string& text, const std::string& source);

// Applies `--set NAME=VALUE` values: every value must name a declared param, and every param
// without a default must be set. InvalidArgument naming the param otherwise.
absl::StatusOr<std::map<std::string, std::string>> ResolveParams(
    const WorkflowSpec& spec, const std::map<std::string, std::string>& sets);

// Replaces every {{ KEY }} of `text` by values.at(KEY); InvalidArgument naming a KEY not there.
absl::StatusOr<std::string> Substitute(const std::string& text,
                                       const std::map<std::string, std::string>& values);
// The same over every string of a JSON value.
absl::StatusOr<nlohmann::ordered_json> SubstituteJson(
    const nlohmann::ordered_json& value, const std::map<std::string, std::string>& values);

// Evaluates a substituted `when` ("A == B", "A != B", "true", "false"); InvalidArgument else.
absl::StatusOr<bool> EvaluateWhen(const std::string& when);

// The names of `step` and every step after it in the DAG (its transitive dependents).
std::vector<std::string> StepAndDependents(const WorkflowSpec& spec, const std::string& step);

}  // namespace parasol::control
