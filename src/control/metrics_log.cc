#include "control/metrics_log.h"

#include <cmath>
#include <nlohmann/json.hpp>

namespace parasol::control {

absl::StatusOr<std::vector<MetricPoint>> ParseMetricsLine(const std::string& line,
                                                          const std::string& replica, double now) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(line);
  } catch (const nlohmann::json::exception&) {
    return absl::InvalidArgumentError("metrics: not JSON: " + line.substr(0, 200));
  }
  if (!j.is_object() || !j.contains("step") || !j["step"].is_number_integer() ||
      j["step"].get<int64_t>() < 0) {
    return absl::InvalidArgumentError("metrics: expected an object with an integer \"step\": " +
                                      line.substr(0, 200));
  }
  const int64_t step = j["step"].get<int64_t>();
  const double time = j.contains("time") && j["time"].is_number() ? j["time"].get<double>() : now;
  std::vector<MetricPoint> points;
  for (const auto& [key, value] : j.items()) {
    if (key == "step" || key == "epoch" || key == "time" || !value.is_number()) continue;
    const double v = value.get<double>();
    if (!std::isfinite(v) || key.empty() || key.size() > 100) continue;
    points.push_back(MetricPoint{replica, key, step, time, v});
  }
  return points;
}

ParsedChunk ParseMetricsChunk(const std::string& chunk, const std::string& replica, double now) {
  ParsedChunk out;
  size_t start = 0;
  for (size_t nl; (nl = chunk.find('\n', start)) != std::string::npos; start = nl + 1) {
    const std::string line = chunk.substr(start, nl - start);
    out.consumed = nl + 1;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto points = ParseMetricsLine(line, replica, now);
    if (!points.ok()) {
      ++out.bad_lines;
      continue;
    }
    out.points.insert(out.points.end(), points->begin(), points->end());
  }
  return out;
}

std::string MetricSeriesJson(const std::string& job, const std::vector<MetricPoint>& points) {
  nlohmann::ordered_json series = nlohmann::ordered_json::array();
  for (size_t i = 0; i < points.size();) {
    nlohmann::ordered_json s;
    s["replica"] = points[i].replica;
    s["name"] = points[i].name;
    nlohmann::json values = nlohmann::json::array();
    size_t k = i;
    for (; k < points.size() && points[k].replica == points[i].replica &&
           points[k].name == points[i].name;
         ++k) {
      values.push_back({points[k].step, points[k].value, points[k].time});
    }
    s["points"] = values;
    series.push_back(s);
    i = k;
  }
  nlohmann::ordered_json j;
  j["job"] = job;
  j["series"] = series;
  return j.dump();
}

}  // namespace parasol::control
