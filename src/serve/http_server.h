// The HTTP transport of the REST API: the event-driven server of http/ (Boost.Beast), so a client
// that stalls mid-request holds a socket, not one of the threads that answer; deadlines close
// such connections, and a body declared over --max-body-bytes gets its 413 as soon as its head
// arrives. It only moves requests between http::Server and RestApi::Handle.
// Start/Stop from one thread; requests are served concurrently.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "serve/rest_api.h"

namespace parasol::http {
class Server;
}

namespace parasol {

struct HttpServerOptions {
  std::string host = "127.0.0.1";  // loopback unless told otherwise
  int port = 8501;                 // 0: any free port (Start returns it)
  int threads = 16;                // requests handled at once (an idle connection holds none)
};

class HttpServer {
 public:
  // `api` must outlive this object.
  HttpServer(const RestApi* api, HttpServerOptions options);
  ~HttpServer();  // Stop()

  // Binds and starts serving on a background thread; returns the bound port.
  absl::StatusOr<int> Start();
  // Stops accepting, finishes requests in flight and joins the thread. Idempotent.
  void Stop();

 private:
  const RestApi* api_;
  const HttpServerOptions options_;
  std::unique_ptr<http::Server> server_;
};

}  // namespace parasol
