// The control service's REST API (/api/v1, JSON) over JobService, on cpp-httplib. A thin layer:
// it parses requests, calls the service and answers a failed call with wire/http_status.h's
// code and body (the one Status→HTTP mapping of every REST front end). Loopback only until
// authentication exists; bodies are bounded. Thread-safe: requests are served concurrently by
// httplib's thread pool.
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
// Errors: {"error": "message naming the field or name at fault", "code": "INVALID_ARGUMENT"}
// with HttpStatusCode's status: 400 bad spec or request, 404 unknown job, replica or endpoint,
// 409 a taken name, 413 a body over 1 MiB or a job larger than the machine, 503, 500.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "control/job_service.h"

namespace httplib {
class Server;
struct Response;
}  // namespace httplib

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

// The one way every /api/v1 handler answers: JSON with a status, or a failed call's Status as
// wire/http_status.h's code and body.
void SendJson(httplib::Response& res, int http_status, const std::string& json);
void SendError(httplib::Response& res, const absl::Status& status);

class ControlHttpServer {
 public:
  explicit ControlHttpServer(JobService& service);
  ~ControlHttpServer();

  // Lets another component of the service (workflow/workflow_http.h) add its endpoints; call
  // before Serve().
  void AddRoutes(const std::function<void(httplib::Server&)>& add);

  // Binds a loopback address (port 0: a free one); the bound port.
  absl::StatusOr<int> Bind(const HostPort& address);
  // Serves until Stop() is called (from another thread).
  absl::Status Serve();
  void Stop();

 private:
  JobService& service_;
  std::unique_ptr<httplib::Server> server_;
};

}  // namespace parasol::control
