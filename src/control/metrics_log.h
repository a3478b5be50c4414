// How replicas report training metrics: JSON lines such as
//   {"step": 1200, "loss": 0.41, "examples_per_sec": 52000, "valid_auc": 0.77}
// appended to the file named by $PARASOL_METRICS_FILE (or POSTed to the API). Every numeric
// field other than step, epoch and time becomes one series point. `parasol train` and
// `parasol ps worker` append this format there (train/progress.h). Thread-safe (pure functions).
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "control/job_record.h"

namespace parasol::control {

// The points of one JSON object (a line). InvalidArgument when it is not an object with an
// integer "step" >= 0. "time" (seconds since the epoch) is used when present, else `now`.
absl::StatusOr<std::vector<MetricPoint>> ParseMetricsLine(const std::string& line,
                                                          const std::string& replica, double now);

// The whole lines of `chunk` (text after the last newline is left for later): their points,
// the bytes consumed, and how many non-empty lines were not valid.
struct ParsedChunk {
  std::vector<MetricPoint> points;
  size_t consumed = 0;
  int bad_lines = 0;
};
ParsedChunk ParseMetricsChunk(const std::string& chunk, const std::string& replica, double now);

// {"job": NAME, "series": [{"replica": R, "name": N, "points": [[step, value, time], ...]}]},
// from points sorted by replica, name, step.
std::string MetricSeriesJson(const std::string& job, const std::vector<MetricPoint>& points);

}  // namespace parasol::control
