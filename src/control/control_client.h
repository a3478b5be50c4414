// A client of the control service's REST API (what `parasol job ...` uses), on cpp-httplib.
// Server errors come back as absl::Status with the server's message; an unreachable service is
// Unavailable naming the endpoint. Every reply is read with common/config_reader.h into the
// typed views below, or the call is Internal naming the request and the field ("the control
// service sent a malformed reply to GET /api/v1/jobs/x: replicas[0].exitCode: expected an
// integer, got the string \"3\""). Fields the views do not hold are not read (a newer service may
// add some). Given credentials, every request is signed with AWS SigV4 (control/auth/sigv4.h)
// and carries a random X-Parasol-Nonce, so two identical requests in one second differ.
// Thread-compatible.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "control/auth/sigv4.h"
#include "control/job_service.h"

namespace httplib {
class Client;
class Result;
}  // namespace httplib

namespace parasol::control {

inline constexpr char kDefaultEndpoint[] = "http://127.0.0.1:7900";

// What `parasol job` shows of a replica and of a job (JobRecordToJson's form).
struct ReplicaView {
  std::string name;
  std::string state;
  std::string reason;
  int64_t restarts = 0;
  int64_t pid = 0;
  int64_t port = 0;
  std::optional<int64_t> exit_code;  // null: has not exited
};

struct JobView {
  std::string name;
  std::string kind;
  std::string state;
  std::string reason;
  double created_at = 0;
  double started_at = 0;
  double finished_at = 0;
  int64_t restarts = 0;
  std::string restart_policy;  // spec.restartPolicy
  int64_t backoff_limit = 0;   // spec.backoffLimit
  std::string working_dir;     // spec.workingDir; empty: none
  std::vector<ReplicaView> replicas;
  nlohmann::json json;  // the reply as sent, for --json (a job of a list: null)
};

struct JobListView {
  std::vector<JobView> jobs;
  nlohmann::json json;
};

// {"series": [{"replica", "name", "points": [[step, value, time], ...]}]} (http_api.h).
struct MetricSeriesView {
  std::string replica;
  std::string name;
  std::vector<std::pair<double, double>> points;  // (step, value)
};

struct MetricsView {
  std::vector<MetricSeriesView> series;
  nlohmann::json json;
};

// `s` %-escaped for one segment of a request path.
std::string EscapePathSegment(const std::string& s);

// A new access key as the service shows it once (tenant or key creation).
struct NewKeyView {
  std::string tenant;
  std::string access_key;
  std::string secret_key;
  nlohmann::json json;
};

// A tenant's quota and usage (http_api.h's TENANT). Limits: -1 for none.
struct TenantView {
  std::string name;
  double cpu_limit = -1, cpu_used = 0;
  int64_t memory_limit = -1, memory_used = 0;
  int64_t gpu_limit = -1, gpu_used = 0;
  int64_t jobs_limit = -1, jobs_used = 0;
  nlohmann::json json;
};

struct TenantListView {
  std::vector<TenantView> tenants;
  nlohmann::json json;
};

struct AuditEntryView {
  double time = 0;
  std::string tenant, access_key, action, target, message;
  int64_t result = 0;
};

struct AuditView {
  std::vector<AuditEntryView> entries;
  nlohmann::json json;
};

class ControlClient {
 public:
  // `endpoint`: "http://HOST:PORT". InvalidArgument for anything else. With `credentials`,
  // requests are signed.
  static absl::StatusOr<std::unique_ptr<ControlClient>> Create(
      const std::string& endpoint,
      std::optional<auth::SigningCredentials> credentials = std::nullopt);
  ~ControlClient();

  // `working_dir`: the default working directory for a spec that names none ("" for none).
  absl::StatusOr<JobView> Submit(const std::string& spec_text, const std::string& source,
                                 const std::string& working_dir);
  absl::StatusOr<JobListView> List();
  absl::StatusOr<JobView> Get(const std::string& name);
  absl::StatusOr<JobView> Stop(const std::string& name);
  // True when the job is gone; false when it goes once its replicas have stopped.
  absl::StatusOr<bool> Delete(const std::string& name);
  absl::StatusOr<MetricsView> Metrics(const std::string& name);
  absl::StatusOr<LogChunk> Logs(const std::string& name, const std::string& replica,
                                uint64_t offset);

  // Any other endpoint of the service (the workflow client's, workflow/workflow_client.h):
  // `method` GET or POST (with `json_body` when not null); the reply's body when its status is
  // `ok_status`, else the server's Status, or Unavailable when the service cannot be reached.
  absl::StatusOr<std::string> Call(const std::string& method, const std::string& path,
                                   const std::string* json_body, int ok_status);

  // Tenants and keys (the admin's), quotas and the audit log (control --auth).
  // `quota_json`: {"cpu": ..., "memory": ..., "gpu": ..., "jobs": ...}, keys optional.
  absl::StatusOr<NewKeyView> CreateTenant(const std::string& name,
                                          const nlohmann::json& quota_json);
  absl::StatusOr<TenantListView> ListTenants();
  absl::StatusOr<bool> DeleteTenant(const std::string& name);
  absl::StatusOr<NewKeyView> CreateKey(const std::string& tenant);
  absl::StatusOr<bool> RevokeKey(const std::string& access_key);
  // `tenant` "": the caller's own.
  absl::StatusOr<TenantView> Quota(const std::string& tenant);
  absl::StatusOr<AuditView> Audit(const std::string& tenant, int64_t limit);

 private:
  ControlClient(std::string endpoint, std::unique_ptr<httplib::Client> client,
                std::optional<auth::SigningCredentials> credentials);
  // Sends `method` `target` (path and query), signed when there are credentials.
  httplib::Result Send(const std::string& method, const std::string& target,
                       const std::string& body = "", const std::string& content_type = "",
                       const std::vector<std::pair<std::string, std::string>>& headers = {});
  std::string endpoint_;
  std::unique_ptr<httplib::Client> client_;
  std::optional<auth::SigningCredentials> credentials_;
};

}  // namespace parasol::control
