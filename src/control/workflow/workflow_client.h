// The client of the workflow endpoints (workflow_http.h) that `parasol workflow` uses, through
// the control service's client (control_client.h: one HTTP path for every request). Server
// errors come back as the server's Status (wire/http_status.h); an unreachable service is
// Unavailable naming the endpoint; every reply is read with
// common/config_reader.h into RunView, or the call is Internal naming the request and the
// field. Thread-compatible.
#pragma once

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "control/control_client.h"

namespace parasol::control {

struct StepView {
  std::string name, type, state, reason, job, verdict;
  int64_t attempts = 0;
};

struct RunView {
  std::string name, workflow, state, reason;
  std::vector<StepView> steps;
  nlohmann::json json;  // the reply as sent, for --json
};

class WorkflowClient {
 public:
  // `endpoint`: "http://HOST:PORT" (unsigned requests).
  static absl::StatusOr<std::unique_ptr<WorkflowClient>> Create(const std::string& endpoint);
  // Over a connected client (the CLI's, which signs with the caller's credentials).
  explicit WorkflowClient(std::unique_ptr<ControlClient> client) : client_(std::move(client)) {}
  ~WorkflowClient();

  absl::StatusOr<RunView> Run(const std::string& spec_text, const std::string& source,
                              const std::map<std::string, std::string>& sets,
                              const std::string& working_dir);
  absl::StatusOr<RunView> Get(const std::string& run);
  absl::StatusOr<std::vector<RunView>> List();
  absl::StatusOr<RunView> Rerun(const std::string& run, const std::string& from);
  absl::StatusOr<RunView> Bless(const std::string& run, const std::string& step,
                                const std::string& reason);

 private:
  absl::StatusOr<nlohmann::json> Call(const std::string& method, const std::string& path,
                                      const nlohmann::json* body, int ok_status);
  std::unique_ptr<ControlClient> client_;
};

}  // namespace parasol::control
