// ControlClient's signing against a real HTTP server on loopback that checks every request with
// the SigV4 verifier (auth/verifier.h): list, a query (logs), a body (submit), a repeated request
// in the same second, a wrong secret and no credentials.
#include <httplib.h>

#include <ctime>
#include <thread>

#include "control/auth/verifier.h"
#include "control/control_client.h"
#include "control/http_reply.h"
#include "gtest/gtest.h"

namespace parasol::control {
namespace {

constexpr char kKey[] = "PKTESTTESTTESTTESTTE";
constexpr char kSecret[] = "0123456789abcdefghijABCDEFGHIJ0123456789";

class VerifyingServer {
 public:
  VerifyingServer()
      : verifier_(auth::VerifierOptions{},
                  [](const std::string& key) -> absl::StatusOr<std::string> {
                    if (key == kKey) return std::string(kSecret);
                    return absl::NotFoundError("unknown");
                  }) {
    auto answer = [this](const httplib::Request& req, httplib::Response& res) {
      auto key = verifier_.Verify(RequestParts(req), std::time(nullptr));
      if (!key.ok()) return SendError(res, key.status());
      if (req.path.find("/logs") != std::string::npos) {
        res.set_header("X-Parasol-Next-Offset", "2");
        res.set_header("X-Parasol-Done", "1");
        res.set_content("ok", "text/plain");
        return;
      }
      SendJson(res, 200, "{\"jobs\":[]}");
    };
    server_.Get(".*", answer);
    server_.Post(".*", answer);
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~VerifyingServer() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  auth::SigV4Verifier verifier_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

TEST(ControlClientAuthTest, SignedRequestsVerify) {
  VerifyingServer server;
  auto client = ControlClient::Create(server.url(), auth::SigningCredentials{kKey, kSecret});
  ASSERT_TRUE(client.ok());
  // Identical requests within one second differ by their signed nonce: none is a replay.
  for (int i = 0; i < 3; ++i) {
    auto list = (*client)->List();
    EXPECT_TRUE(list.ok()) << list.status();
  }
  auto logs = (*client)->Logs("job a", "worker-0", 7);  // escaped path, a query
  ASSERT_TRUE(logs.ok()) << logs.status();
  EXPECT_EQ(logs->data, "ok");
  auto submitted = (*client)->Submit("name: x\n", "x.yaml", "/w");  // a body and extra headers
  EXPECT_FALSE(absl::IsUnauthenticated(submitted.status()) ||
               absl::IsPermissionDenied(submitted.status()))
      << submitted.status();

  auto wrong = ControlClient::Create(server.url(), auth::SigningCredentials{kKey, "wrong"});
  auto refused = (*wrong)->List();
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kPermissionDenied) << refused.status();
  EXPECT_EQ(refused.status().message().find("wrong"), std::string::npos);
  auto anonymous = ControlClient::Create(server.url());
  EXPECT_EQ((*anonymous)->List().status().code(), absl::StatusCode::kUnauthenticated);
}

}  // namespace
}  // namespace parasol::control
