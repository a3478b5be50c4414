// The HTTP transport of the REST API: cpp-httplib (Debian libcpp-httplib-dev; chosen over
// Boost.Beast after measuring, see README.md) on a thread pool, keep-alive connections, bodies
// bounded while being read. It only moves bytes between sockets and RestApi::Handle.
// Start/Stop from one thread; requests are served concurrently.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "serve/rest_api.h"

namespace httplib {
class Server;
}

namespace parasol {

struct HttpServerOptions {
  std::string host = "127.0.0.1";  // loopback unless told otherwise
  int port = 8501;                 // 0: any free port (Start returns it)
  int threads = 16;                // connections served at once (each keep-alive holds one)
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
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::atomic<bool> listen_returned_{false};
};

}  // namespace parasol
