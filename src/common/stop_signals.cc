#include "common/stop_signals.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <mutex>

namespace parasol::stop_signals {
namespace {

int pipe_fds[2] = {-1, -1};

void OnSignal(int signal) {
  const int saved = errno;
  const unsigned char byte = static_cast<unsigned char>(signal);
  [[maybe_unused]] const ssize_t n = write(pipe_fds[1], &byte, 1);  // async-signal-safe
  errno = saved;
}

}  // namespace

void Install() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (pipe2(pipe_fds, O_CLOEXEC) != 0) return;  // Wait() then never returns: as no handler
    fcntl(pipe_fds[1], F_SETFL, O_NONBLOCK);      // a full pipe drops a repeated signal
    struct sigaction action = {};
    action.sa_handler = OnSignal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);
    std::signal(SIGPIPE, SIG_IGN);
  });
}

int Wait() {
  Install();
  unsigned char byte = 0;
  while (true) {
    const ssize_t n = read(pipe_fds[0], &byte, 1);
    if (n == 1) return byte;
    if (n < 0 && errno == EINTR) continue;
    pause();  // no pipe (pipe2 failed): nothing can wake us but termination
  }
}

void Raise(int signal) {
  Install();
  OnSignal(signal);
}

}  // namespace parasol::stop_signals
