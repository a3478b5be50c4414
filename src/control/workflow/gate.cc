#include "control/workflow/gate.h"

#include <cmath>
#include <regex>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/config_reader.h"

namespace parasol::control {
namespace {

bool Compare(double lhs, const std::string& op, double rhs) {
  if (op == ">=") return lhs >= rhs;
  if (op == ">") return lhs > rhs;
  if (op == "<=") return lhs <= rhs;
  return lhs < rhs;
}

// "OP NUMBER" of a change rule; false when it is not one.
bool ParseChange(const std::string& text, std::string* op, double* value) {
  static const std::regex kChange(
      R"(\s*(>=|<=|>|<)\s*([-+]?[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?)\s*)");
  std::smatch m;
  if (!std::regex_match(text, m, kChange)) return false;
  *op = m[1].str();
  *value = std::stod(m[2].str());
  return true;
}

}  // namespace

const std::vector<std::string>& GateMetricNames() {
  static const std::vector<std::string> kNames = {
      "auc",       "pr_auc", "logloss",     "accuracy", "error_rate",
      "precision", "recall", "specificity", "f1",       "mcc"};
  return kNames;
}

std::vector<MetricRule> ReadGateRules(const config::Node& node) {
  if (!node.IsMap() || node.Entries().empty()) {
    node.Fail("expected a mapping METRIC: {min, max, change}, e.g. auc: {min: 0.8}");
  }
  std::vector<MetricRule> rules;
  const auto& known = GateMetricNames();
  for (const auto& [metric, value] : node.Entries()) {
    if (std::find(known.begin(), known.end(), metric) == known.end()) {
      const std::string near = config::NearestName(metric, known);
      value.Fail("unknown metric '" + metric + "'" +
                 (near.empty() ? " (known: auc, pr_auc, logloss, accuracy, ...)"
                               : ", did you mean '" + near + "'?"));
    }
    MetricRule rule;
    rule.metric = metric;
    const config::Map m = value.AsMap();
    if (auto min = m.Find("min")) rule.min = min->As<double>();
    if (auto max = m.Find("max")) rule.max = max->As<double>();
    if (auto change = m.Find("change")) {
      if (!ParseChange(change->ScalarText(), &rule.change_op, &rule.change)) {
        change->Fail("expected \"OP NUMBER\" with OP one of >=, >, <=, <, e.g. \">= -0.001\"");
      }
    }
    m.RefuseUnknownKeys();
    if (!rule.min && !rule.max && rule.change_op.empty()) {
      value.Fail("expected at least one of min, max, change");
    }
    if (rule.min && rule.max && *rule.min > *rule.max) {
      m.Fail("min", absl::StrCat("min ", *rule.min, " is greater than max ", *rule.max));
    }
    rules.push_back(rule);
  }
  return rules;
}

nlohmann::json GateRulesToJson(const std::vector<MetricRule>& rules) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& r : rules) {
    nlohmann::json rule = nlohmann::json::object();
    if (r.min) rule["min"] = *r.min;
    if (r.max) rule["max"] = *r.max;
    if (!r.change_op.empty()) rule["change"] = absl::StrCat(r.change_op, " ", r.change);
    j[r.metric] = rule;
  }
  return j;
}

absl::StatusOr<std::vector<MetricRule>> GateRulesFromJson(const std::string& json) {
  nlohmann::json j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return absl::InvalidArgumentError("--rules: not JSON");
  std::vector<MetricRule> rules;
  auto st = config::ReadJson(j, "--rules",
                             [&](const config::Node& root) { rules = ReadGateRules(root); });
  if (!st.ok()) return st;
  return rules;
}

GateVerdict JudgeGate(const std::vector<MetricRule>& rules,
                      const std::map<std::string, double>& candidate,
                      const std::optional<std::map<std::string, double>>& baseline) {
  GateVerdict v;
  v.blessed = true;
  auto figure = [](const std::map<std::string, double>& figures, const std::string& metric) {
    auto it = figures.find(metric);
    return it == figures.end() ? std::nan("") : it->second;
  };
  for (const auto& r : rules) {
    const double c = figure(candidate, r.metric);
    auto add = [&](std::string rule, double value, bool passed, std::optional<double> base) {
      GateCheck check{r.metric, std::move(rule), c, base, value, passed && std::isfinite(value)};
      v.blessed = v.blessed && check.passed;
      v.checks.push_back(std::move(check));
    };
    if (r.min) add(absl::StrCat("min ", *r.min), c, c >= *r.min, std::nullopt);
    if (r.max) add(absl::StrCat("max ", *r.max), c, c <= *r.max, std::nullopt);
    if (r.change_op.empty()) continue;
    const std::string rule = absl::StrCat("change ", r.change_op, " ", r.change);
    if (!baseline) {
      v.skipped.push_back(r.metric + " " + rule + " (no baseline)");
      continue;
    }
    const double b = figure(*baseline, r.metric);
    add(rule, c - b, Compare(c - b, r.change_op, r.change), b);
  }
  return v;
}

const char* VerdictName(bool blessed) { return blessed ? "BLESSED" : "NOT_BLESSED"; }

nlohmann::json GateChecksToJson(const GateVerdict& verdict) {
  nlohmann::json checks = nlohmann::json::array();
  auto num = [](double x) {
    return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(nullptr);
  };
  for (const auto& c : verdict.checks) {
    nlohmann::json j = {{"metric", c.metric},
                        {"rule", c.rule},
                        {"candidate", num(c.candidate)},
                        {"value", num(c.value)},
                        {"passed", c.passed}};
    if (c.baseline) j["baseline"] = num(*c.baseline);
    checks.push_back(j);
  }
  return checks;
}

}  // namespace parasol::control
