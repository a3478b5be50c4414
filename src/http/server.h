// An event-driven HTTP/1.1 server (Boost.Beast over Boost.Asio, Debian libboost-dev): every
// connection's reads and writes are asynchronous, so a client that stalls mid-request costs a
// socket and a timer, never a thread. Deadlines bound each phase — the request head, the body,
// the wait for the next request on a keep-alive connection — and a connection that misses one is
// closed. A body declared larger than the bound is refused with 413 as soon as its head is read.
// Complete requests go to the handler on one of the server's threads (requests are handled
// concurrently up to that many at a time); the handler's answer is written back asynchronously.
// Start/Stop from one thread; the handler must be thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace parasol::http {

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string path;    // percent-decoded, without the query string
  std::string query;   // raw, after '?' (empty when none)
  std::string target;  // raw request target, as sent
  std::vector<std::pair<std::string, std::string>> headers;  // as sent, in order
  std::string body;
  std::string peer;  // client address
  // The value of header `name` (case-insensitive); empty when absent.
  std::string Header(const std::string& name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;      // 0: any free port (Start returns it)
  int threads = 16;  // requests handled at once
  size_t max_body_bytes = 1 << 20;
  size_t max_header_bytes = 64 << 10;
  // The head of a request must arrive within this of its first byte being awaited, its body
  // within body_timeout of the head; an idle keep-alive connection is closed after idle_timeout.
  std::chrono::milliseconds header_timeout{10000};
  std::chrono::milliseconds body_timeout{30000};
  std::chrono::milliseconds idle_timeout{30000};
  int max_connections = 10000;  // beyond this, new connections are closed at once
};

// Answers requests. Must be thread-safe; it runs on the server's threads.
using Handler = std::function<Response(const Request&)>;
// The response for a request refused before it reached the handler: status 400 (malformed),
// 408 (too slow), 413 (body over the bound) or 431 (head too large), with what went wrong.
using ErrorResponder = std::function<Response(int status, const absl::Status& why)>;

class Server {
 public:
  Server(Handler handler, ErrorResponder error, ServerOptions options);
  ~Server();  // Stop()

  // Binds and starts serving; returns the bound port. Unavailable naming the address on failure.
  absl::StatusOr<int> Start();
  // Stops accepting, closes every connection and joins the threads. Idempotent.
  void Stop();

  // Connections open now (for tests and metrics).
  int open_connections() const;

  struct Impl;  // server.cc (its connections reach it)

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace parasol::http
