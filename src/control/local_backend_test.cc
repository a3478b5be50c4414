// The local backend's port holding: a held port is never handed to anyone else, yet the replica
// it is for can listen on it.
#include "control/local_backend.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <set>

#include "gtest/gtest.h"

namespace parasol::control {
namespace {

// A loopback TCP socket with `options` set, bound to `port`; the bound port, or -1.
int BindLoopback(int port, std::initializer_list<int> options, int* fd_out) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int yes = 1;
  for (int option : options) setsockopt(fd, SOL_SOCKET, option, &yes, sizeof(yes));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    return -1;
  }
  *fd_out = fd;
  return ntohs(addr.sin_port);
}

TEST(HeldPortTest, NoOneElseGetsTheHeldPortButItsReplicaCanListenOnIt) {
  auto held = HeldPort::Hold();
  ASSERT_TRUE(held.ok()) << held.status();
  const int port = held->port();
  ASSERT_GT(port, 0);
  // Other sockets asking the kernel for a port never get it, whatever they set.
  std::set<int> others;
  for (int i = 0; i < 2000; ++i) {
    int fd = -1;
    const int other = BindLoopback(0, {SO_REUSEADDR, SO_REUSEPORT}, &fd);
    ASSERT_GT(other, 0);
    EXPECT_NE(other, port);
    close(fd);
  }
  // The replica's listener binds it with SO_REUSEADDR (serve's REST, gRPC) or SO_REUSEPORT
  // (cpp-httplib's default), and accepts connections; one with neither is refused.
  for (int option : {SO_REUSEADDR, SO_REUSEPORT}) {
    int fd = -1;
    ASSERT_EQ(BindLoopback(port, {option}, &fd), port) << option;
    ASSERT_EQ(listen(fd, 1), 0);
    const int client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    EXPECT_EQ(connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    close(client);
    close(fd);
  }
  int fd = -1;
  EXPECT_EQ(BindLoopback(port, {}, &fd), -1);
  // A second hold of the same port (a service restarted while the job runs) works too; once
  // every hold is gone the port is free.
  auto again = HeldPort::Hold(port);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->port(), port);
  HeldPort moved = *std::move(again);
  EXPECT_EQ(moved.port(), port);
  { HeldPort gone = *std::move(held); }
  { HeldPort gone = std::move(moved); }
  ASSERT_EQ(BindLoopback(port, {}, &fd), port);
  close(fd);
}

}  // namespace
}  // namespace parasol::control
