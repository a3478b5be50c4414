// The gate's rules and verdict, as pure functions: per-metric absolute bounds on the candidate
// and changes against the baseline. With no baseline only the absolute bounds apply, and the
// verdict exists all the same (TFX gives none without thresholds, tensorflow/tfx #5148).
// Scoring the models is the gate step's (workflow_steps.h); this only judges figures.
// Plain values; thread-compatible.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "control/workflow/workflow_spec.h"

namespace parasol::config {
class Node;
}  // namespace parasol::config

namespace parasol::control {

// The metrics a gate may name (those `parasol eval --json` reports).
const std::vector<std::string>& GateMetricNames();

// Reads `metrics: {auc: {min: 0.8, change: ">= -0.001"}, logloss: {max: 0.45}}`, failing the
// read at the field at fault (an unknown metric, min > max, a change that is not "OP NUMBER").
std::vector<MetricRule> ReadGateRules(const config::Node& node);
nlohmann::json GateRulesToJson(const std::vector<MetricRule>& rules);
absl::StatusOr<std::vector<MetricRule>> GateRulesFromJson(const std::string& json);

struct GateCheck {
  std::string metric;
  std::string rule;  // "min 0.8", "max 0.45", "change >= -0.001"
  double candidate = 0;
  std::optional<double> baseline;  // change rules only
  double value = 0;                // the figure compared: the candidate's, or the change
  bool passed = false;
};

struct GateVerdict {
  bool blessed = false;
  std::vector<GateCheck> checks;
  std::vector<std::string> skipped;  // change rules not applied (no baseline)
};

// Judges the candidate's figures (and the baseline's, when there is one). A metric a rule names
// that the figures lack (NaN: e.g. AUC of a one-class set) fails its check.
GateVerdict JudgeGate(const std::vector<MetricRule>& rules,
                      const std::map<std::string, double>& candidate,
                      const std::optional<std::map<std::string, double>>& baseline);

const char* VerdictName(bool blessed);  // "BLESSED" / "NOT_BLESSED"
nlohmann::json GateChecksToJson(const GateVerdict& verdict);

}  // namespace parasol::control
