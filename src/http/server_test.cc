// The event-driven HTTP server with real sockets: requests and keep-alive, early 413s, malformed
// heads, 100-continue, and the reason it exists: stalled clients cost a socket, not a thread.
#include "http/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace parasol::http {
namespace {

// A raw TCP client: what it sends is exactly what the test writes.
class Client {
 public:
  explicit Client(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    timeval tv{20, 0};  // a reply that never comes fails the test instead of hanging it
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  ~Client() { close(fd_); }
  bool connected() const { return connected_; }
  bool Send(const std::string& bytes) {
    return write(fd_, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size());
  }
  // Reads until `until` appears in what was received (or the peer closes); returns it all.
  std::string ReadUntil(const std::string& until) {
    while (received_.find(until) == std::string::npos) {
      char buf[4096];
      const ssize_t n = read(fd_, buf, sizeof(buf));
      if (n <= 0) break;
      received_.append(buf, n);
    }
    return received_;
  }
  // Reads one whole response with a Content-Length body and removes it from what was received.
  std::string ReadResponse() {
    ReadUntil("\r\n\r\n");
    const size_t head_end = received_.find("\r\n\r\n");
    if (head_end == std::string::npos) return received_;
    size_t length = 0;
    const size_t cl = received_.find("Content-Length: ");
    if (cl != std::string::npos && cl < head_end) length = std::stoul(received_.substr(cl + 16));
    while (received_.size() < head_end + 4 + length) {
      char buf[4096];
      const ssize_t n = read(fd_, buf, sizeof(buf));
      if (n <= 0) break;
      received_.append(buf, n);
    }
    std::string response = received_.substr(0, head_end + 4 + length);
    received_.erase(0, response.size());
    return response;
  }
  // True once the server closed the connection (read returns 0).
  bool ClosedByServer() {
    char buf[256];
    ssize_t n;
    while ((n = read(fd_, buf, sizeof(buf))) > 0) received_.append(buf, n);
    return n == 0;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
  std::string received_;
};

Response Echo(const Request& r) {
  Response res;
  res.content_type = "text/plain";
  res.body = absl::StrCat(r.method, " ", r.path, " q=", r.query,
                          " auth=", r.Header("authorization"), " body=", r.body);
  res.headers.push_back({"X-Test", "1"});
  return res;
}

Response ErrorBody(int status, const absl::Status& why) {
  Response res;
  res.status = status;
  res.body = absl::StrCat("{\"error\": \"", why.message(), "\"}");
  return res;
}

class HttpServerTest : public ::testing::Test {
 protected:
  void StartServer(ServerOptions options) {
    options.port = 0;
    server_ = std::make_unique<Server>(Echo, ErrorBody, options);
    auto port = server_->Start();
    ASSERT_TRUE(port.ok()) << port.status();
    port_ = *port;
  }
  std::unique_ptr<Server> server_;
  int port_ = 0;
};

TEST_F(HttpServerTest, AnswersRequestsOnAKeptAliveConnection) {
  StartServer({});
  Client c(port_);
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(
      c.Send("POST /v1/a%20b?x=1&y=2 HTTP/1.1\r\nHost: h\r\nAuthorization: AWS4 k\r\n"
             "Content-Length: 5\r\n\r\nhello"));
  std::string first = c.ReadResponse();
  EXPECT_NE(first.find("HTTP/1.1 200"), std::string::npos) << first;
  EXPECT_NE(first.find("X-Test: 1"), std::string::npos) << first;
  EXPECT_NE(first.find("POST /v1/a b q=x=1&y=2 auth=AWS4 k body=hello"), std::string::npos)
      << first;
  ASSERT_TRUE(c.Send("GET /again HTTP/1.1\r\nHost: h\r\n\r\n"));
  std::string second = c.ReadResponse();
  EXPECT_NE(second.find("GET /again q= auth= body="), std::string::npos) << second;
}

TEST_F(HttpServerTest, AnOversizedBodyIsRefusedAsSoonAsItsHeadArrives) {
  ServerOptions options;
  options.max_body_bytes = 1000;
  StartServer(options);
  Client c(port_);
  // 100 MB declared, none of it sent: the 413 comes without waiting for the body.
  ASSERT_TRUE(c.Send("POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 100000000\r\n\r\n"));
  const std::string response = c.ReadResponse();
  EXPECT_NE(response.find("HTTP/1.1 413"), std::string::npos) << response;
  EXPECT_NE(response.find("over the limit of 1000 bytes"), std::string::npos) << response;
  EXPECT_TRUE(c.ClosedByServer());
}

TEST_F(HttpServerTest, AMalformedHeadGetsA400) {
  StartServer({});
  Client c(port_);
  ASSERT_TRUE(c.Send("GARBAGE\r\n\r\n"));
  const std::string response = c.ReadResponse();
  EXPECT_NE(response.find("HTTP/1.1 400"), std::string::npos) << response;
  EXPECT_NE(response.find("malformed request head"), std::string::npos) << response;
}

TEST_F(HttpServerTest, ExpectContinueGetsA100BeforeTheBody) {
  StartServer({});
  Client c(port_);
  ASSERT_TRUE(
      c.Send("POST /p HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n"
             "Content-Length: 3\r\n\r\n"));
  EXPECT_NE(c.ReadUntil("\r\n\r\n").find("HTTP/1.1 100 Continue"), std::string::npos);
  ASSERT_TRUE(c.Send("abc"));
  EXPECT_NE(c.ReadUntil("body=abc").find("body=abc"), std::string::npos);
}

TEST_F(HttpServerTest, StalledClientsHoldNoThreadAndAreClosedByTheirDeadlines) {
  ServerOptions options;
  options.threads = 2;
  options.header_timeout = std::chrono::milliseconds(1500);
  options.body_timeout = std::chrono::milliseconds(1500);
  StartServer(options);
  // 256 clients that stall: half mid-head, half mid-body.
  std::vector<std::unique_ptr<Client>> stalled;
  for (int i = 0; i < 256; ++i) {
    stalled.push_back(std::make_unique<Client>(port_));
    ASSERT_TRUE(stalled.back()->connected());
    ASSERT_TRUE(stalled.back()->Send(i % 2 == 0 ? "POST /slow HTTP/1.1\r\nHost: h\r\nX-"
                                                : "POST /slow HTTP/1.1\r\nHost: h\r\n"
                                                  "Content-Length: 100\r\n\r\npartial"));
  }
  while (server_->open_connections() < 256)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  // With every one of them open (their deadlines have not passed: the server still holds all
  // 256), a normal request on two threads is answered.
  Client normal(port_);
  ASSERT_TRUE(normal.Send("GET /fine HTTP/1.1\r\nHost: h\r\n\r\n"));
  const std::string response = normal.ReadResponse();
  EXPECT_NE(response.find("GET /fine"), std::string::npos) << response;
  EXPECT_GE(server_->open_connections(), 256);
  // Then each stalled connection is closed by its deadline.
  for (auto& c : stalled) EXPECT_TRUE(c->ClosedByServer());
}

TEST_F(HttpServerTest, StopClosesIdleConnectionsAndReturns) {
  StartServer({});
  Client idle(port_);
  ASSERT_TRUE(idle.Send("GET /x HTTP/1.1\r\nHost: h\r\n\r\n"));
  idle.ReadResponse();
  server_->Stop();
  EXPECT_TRUE(idle.ClosedByServer());
  EXPECT_EQ(server_->open_connections(), 0);
}

}  // namespace
}  // namespace parasol::http
