// Runs the `parasol` binary under test (PARASOL_BINARY) as a long-lived child process whose
// stdout the test reads, for end-to-end tests of servers. Thread-compatible.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

namespace parasol::testing {

class ParasolProcess {
 public:
  // Starts `parasol ARGS...` (no shell) with stdout on a pipe; stderr is the test's, or goes to
  // `stderr_path` when given.
  explicit ParasolProcess(std::vector<std::string> args, const std::string& stderr_path = "") {
    int out[2];
    if (pipe(out) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], STDOUT_FILENO);
      close(out[0]);
      if (!stderr_path.empty() && std::freopen(stderr_path.c_str(), "w", stderr) == nullptr) {
        _exit(126);
      }
      std::vector<char*> argv;
      static std::string binary = PARASOL_BINARY;
      argv.push_back(binary.data());
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(binary.c_str(), argv.data());
      _exit(127);
    }
    close(out[1]);
    stdout_ = fdopen(out[0], "r");
  }
  ~ParasolProcess() {
    if (pid_ > 0 && !reaped_) Stop(SIGKILL);
    if (stdout_ != nullptr) fclose(stdout_);
  }
  ParasolProcess(const ParasolProcess&) = delete;
  ParasolProcess& operator=(const ParasolProcess&) = delete;

  pid_t pid() const { return pid_; }

  // The next stdout line without its '\n'; "" at end of output.
  std::string ReadLine() {
    char buf[512] = {0};
    if (stdout_ == nullptr || fgets(buf, sizeof(buf), stdout_) == nullptr) return "";
    std::string line(buf);
    if (!line.empty() && line.back() == '\n') line.pop_back();
    return line;
  }

  // Sends `signal` (0: none, just wait), waits, and returns the exit code (-1 when killed by a
  // signal).
  int Stop(int signal) {
    if (pid_ <= 0 || reaped_) return -1;
    if (signal != 0) kill(pid_, signal);
    int status = 0;
    waitpid(pid_, &status, 0);
    reaped_ = true;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  FILE* stdout_ = nullptr;
};

}  // namespace parasol::testing
