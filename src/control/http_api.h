// The control service's REST API (/api/v1, JSON) over JobService, on cpp-httplib. A thin layer:
// it parses requests, calls the service and answers a failed call with wire/http_status.h's
// code and body (the one Status→HTTP mapping of every REST front end). Without authentication
// it listens on loopback only and trusts every caller; with it (ControlSecurity, `control --auth`)
// every /api/v1 request but healthz must be signed with AWS SigV4 (control/auth/), a tenant sees
// and acts on its own jobs only (another's is 404), and changes and refusals go to the audit
// log. Bodies are bounded. Thread-safe: requests are served concurrently by httplib's thread pool.
//
//   GET    /                               the web dashboard (web/, compiled in)
//   GET    /api/v1/healthz
//   GET    /api/v1/jobs                    {"jobs": [JOB, ...]}
//   POST   /api/v1/jobs                    body: the spec (YAML or JSON) -> 201 JOB
//   GET    /api/v1/jobs/NAME               JOB ({"name", "state": "Running", "replicas": [...]})
//   POST   /api/v1/jobs/NAME/stop          JOB
//   DELETE /api/v1/jobs/NAME               200 {"deleted": true} | 202 {"deleted": false}
//   GET    /api/v1/jobs/NAME/logs?replica=R&offset=N[&max=M]
//          text/plain; headers X-Parasol-Next-Offset, X-Parasol-Done (1 when no more will come)
//   With --auth (auth_api.cc), the admin only unless said:
//   POST   /api/v1/tenants                 {"name", "quota": {"cpu", "memory", "gpu", "jobs"}}
//                                          -> 201 {"tenant": TENANT, "accessKeyId",
//                                          "secretAccessKey"}
//   GET    /api/v1/tenants                 {"tenants": [TENANT, ...]} (with "usage")
//   DELETE /api/v1/tenants/NAME            {"deleted": true} (its keys are revoked)
//   POST   /api/v1/tenants/NAME/keys       201 {"tenant", "accessKeyId", "secretAccessKey"}
//   DELETE /api/v1/keys/ACCESS_KEY         {"revoked": true}
//   GET    /api/v1/quota[?tenant=T]        any caller, its own: TENANT with "usage"
//   GET    /api/v1/audit[?tenant=T&limit=N] any caller: its own entries; the admin all
//   TENANT: {"name", "quota": {"cpu", "memoryBytes", "gpu", "jobs"} (null: no limit), "usage"}
// Errors: {"error": "message naming the field or name at fault", "code": "INVALID_ARGUMENT"}
// with HttpStatusCode's status: 400 bad spec or request, 404 unknown job, replica or endpoint,
// 409 a taken name, 413 a body over 1 MiB or a job larger than the machine, 503, 500.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "control/auth/tenant_store.h"
#include "control/job_service.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace parasol::auth {
class Authenticator;
class AuditLog;
}  // namespace parasol::auth

namespace parasol::control {

inline constexpr size_t kMaxRequestBytes = 1 << 20;  // a spec is a few KB
inline constexpr size_t kMaxLogChunkBytes = 1 << 20;

struct HostPort {
  std::string host;
  int port = 0;
};
// "HOST:PORT" ("[::1]:PORT" for IPv6); InvalidArgument naming `flag` otherwise.
absl::StatusOr<HostPort> ParseHostPort(const std::string& text, const std::string& flag);
// OK for 127.0.0.0/8, ::1 and "localhost"; FailedPrecondition otherwise.
absl::Status CheckLoopback(const std::string& host);

// Authentication for the API (`control --auth`); both null: none. Not owned; must outlive the
// server.
struct ControlSecurity {
  auth::Authenticator* authenticator = nullptr;
  auth::AuditLog* audit = nullptr;
};

class ControlHttpServer {
 public:
  explicit ControlHttpServer(JobService& service, ControlSecurity security = {});
  ~ControlHttpServer();

  // Lets another component of the service (workflow/workflow_http.h) add its endpoints under
  // `prefix`; call before Serve(). With --auth they are the admin's only (authenticated and
  // audited like the others; tenants do not run them yet).
  void AddRoutes(const std::string& prefix, const std::function<void(httplib::Server&)>& add);

  // Binds an address (port 0: a free one), loopback only without authentication; the bound port.
  absl::StatusOr<int> Bind(const HostPort& address);
  // Serves until Stop() is called (from another thread).
  absl::Status Serve();
  void Stop();

 private:
  // A request's caller (without authentication: an admin with no tenant) and what it acts on
  // (the job of /jobs/NAME routes; handlers may set it), for ownership checks and the audit log.
  struct RequestContext {
    auth::Caller caller;
    std::string target;
  };
  using AuthedHandler =
      std::function<void(const httplib::Request&, httplib::Response&, RequestContext&)>;
  // The httplib handler that authenticates the request (401/403 otherwise) and then runs
  // `handler`, auditing the result under `action`.
  std::function<void(const httplib::Request&, httplib::Response&)> Authed(std::string action,
                                                                          AuthedHandler handler);
  void Audit(const RequestContext& ctx, const std::string& action, int result,
             const std::string& message);
  // OK when the caller may see job `job`: the admin, or the tenant that submitted it; NotFound
  // (as for a missing job) otherwise.
  absl::Status CheckOwner(const RequestContext& ctx, const std::string& job);
  void AddAuthRoutes();  // auth_api.cc

  JobService& service_;
  const ControlSecurity security_;
  std::unique_ptr<httplib::Server> server_;
};

}  // namespace parasol::control
