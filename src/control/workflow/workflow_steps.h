// The built-in workflow steps, each run as a job of the `parasol` binary (`parasol workflow
// eval|gate|deploy`, src/cli/workflow_command.cc): score a model, judge a candidate against a
// baseline, write a blessed model as the next version of a served model base. Each writes its
// results into the step's folder `out_dir` (outputs.json: the values later steps may reference;
// the gate's verdict.json: every figure behind its verdict). Thread-compatible.
#pragma once

#include <map>
#include <string>

#include "absl/status/statusor.h"

namespace parasol::control {

// The metrics of `parasol eval --json` of `model_dir` on labelled `data` (NaN ones left out).
absl::StatusOr<std::map<std::string, double>> ScoreModel(const std::string& model_dir,
                                                         const std::string& data);

// Writes OUT/metrics.json (the figures) and OUT/outputs.json ({"auc", "logloss"}).
absl::Status RunEvalStep(const std::string& model_dir, const std::string& data,
                         const std::string& out_dir);

struct GateStepOptions {
  std::string candidate;        // model folder
  std::string data;             // validation set, scored for both models
  std::string rules_json;       // gate.h's GateRulesToJson form
  std::string baseline;         // a model folder; or:
  std::string baseline_base;    // a model base BASE/VERSION/: the newest version, or with
  std::string baseline_server;  // a server (http://HOST:PORT), the newest version it serves as
                                // AVAILABLE under the model named after BASE's folder
  std::string out_dir;
};
// Scores both models on the same data and judges them; writes OUT/verdict.json ({"verdict",
// "candidate": {figures}, "baseline": {figures} | null, "baselineModel", "checks": [...],
// "skipped": [...]}) and OUT/outputs.json ({"verdict"}). A NOT_BLESSED verdict is a result, not
// an error; errors are failures to score (a missing model, unreadable data, a server that does
// not answer).
absl::StatusOr<bool> RunGateStep(const GateStepOptions& options);

// Copies `model_dir` into BASE/N.tmp-PID and renames it to BASE/N, N one more than the highest
// numbered version there (a server polling BASE never sees a half-written version: it ignores
// names that are not digits). With `server`, waits (at most `wait_seconds`) until the server
// reports version N AVAILABLE. Writes OUT/outputs.json ({"version", "path"}).
absl::StatusOr<int64_t> RunDeployStep(const std::string& model_dir, const std::string& model_base,
                                      const std::string& server, const std::string& out_dir,
                                      int wait_seconds = 120);

// The newest version `server` serves as AVAILABLE for model `name`; 0 when it serves none.
// Unavailable when the server does not answer.
absl::StatusOr<int64_t> ServedVersion(const std::string& server, const std::string& name);

}  // namespace parasol::control
