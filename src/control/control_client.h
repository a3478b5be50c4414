// A client of the control service's REST API (what `parasol job ...` uses), on cpp-httplib.
// Server errors come back as absl::Status with the server's message; an unreachable service is
// Unavailable naming the endpoint. Every reply is checked before it is returned: it is JSON and
// has each field the CLI reads, of its type, or the call is Internal naming the request and the
// field ("... malformed reply to GET /api/v1/jobs/x: replicas[0].exitCode: expected an integer
// or null, got \"3\""); callers may then read those fields with operator[] and get<T>.
// Thread-compatible.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "absl/status/statusor.h"
#include "control/job_service.h"

namespace httplib {
class Client;
}

namespace parasol::control {

inline constexpr char kDefaultEndpoint[] = "http://127.0.0.1:7900";

class ControlClient {
 public:
  // `endpoint`: "http://HOST:PORT". InvalidArgument for anything else.
  static absl::StatusOr<std::unique_ptr<ControlClient>> Create(const std::string& endpoint);
  ~ControlClient();

  // The job records as JSON (JobRecordToJson's form): name, kind, state, reason, createdAt,
  // startedAt, finishedAt, restarts, spec.restartPolicy, spec.backoffLimit, spec.workingDir (if
  // any), replicas[] with name, state, reason, restarts, pid, port, exitCode are checked.
  // `working_dir`: the default working directory for a spec that names none ("" for none).
  absl::StatusOr<nlohmann::json> Submit(const std::string& spec_text, const std::string& source,
                                        const std::string& working_dir);
  absl::StatusOr<nlohmann::json> List();
  absl::StatusOr<nlohmann::json> Get(const std::string& name);
  absl::StatusOr<nlohmann::json> Stop(const std::string& name);
  // True when the job is gone; false when it goes once its replicas have stopped.
  absl::StatusOr<bool> Delete(const std::string& name);
  // {"job", "series": [{"replica", "name", "points": [[step, value, time], ...]}]} (http_api.h).
  absl::StatusOr<nlohmann::json> Metrics(const std::string& name);
  absl::StatusOr<LogChunk> Logs(const std::string& name, const std::string& replica,
                                uint64_t offset);

 private:
  ControlClient(std::string endpoint, std::unique_ptr<httplib::Client> client);
  std::string endpoint_;
  std::unique_ptr<httplib::Client> client_;
};

}  // namespace parasol::control
