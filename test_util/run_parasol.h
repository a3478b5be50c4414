// Runs the `parasol` binary under test (PARASOL_BINARY, defined by the test target) as a user
// would, for end-to-end tests. Each call is a separate process; thread-compatible.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace parasol::testing {

struct CommandResult {
  int code;         // exit code, or -1 when killed by a signal
  std::string out;  // stdout and stderr together
};

// `parasol ARGS 2>&1`; ARGS goes through the shell.
inline CommandResult RunParasol(const std::string& args) {
  const std::string cmd = std::string(PARASOL_BINARY) + " " + args + " 2>&1";
  std::FILE* pipe = popen(cmd.c_str(), "r");
  CommandResult r{-1, ""};
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), pipe)) > 0) r.out.append(buf, n);
  const int status = pclose(pipe);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// The whole file; empty when it cannot be read.
inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// `parasol gen` data (GEN_FLAGS: rows, features, vocab, seed) split into DIR/train.svm (the first
// `train_rows` lines) and DIR/test.svm (the rest); false on failure.
inline bool GenerateSplit(const std::string& dir, const std::string& gen_flags, int train_rows) {
  const std::string all = dir + "/all.svm";
  if (RunParasol("gen " + gen_flags + " --out " + all).code != 0) return false;
  const std::string n = std::to_string(train_rows);
  return std::system(("head -n " + n + " " + all + " > " + dir + "/train.svm && tail -n +" +
                      std::to_string(train_rows + 1) + " " + all + " > " + dir + "/test.svm")
                         .c_str()) == 0;
}

// `parasol ARGS...` running in the background (servers); stdout is read with ReadLine, stderr
// goes to `stderr_path` when given. Killed with SIGKILL if still running when destroyed.
class ParasolProcess {
 public:
  explicit ParasolProcess(std::vector<std::string> args, const std::string& stderr_path = "") {
    int out[2];
    if (pipe(out) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], STDOUT_FILENO);
      close(out[0]);
      if (!stderr_path.empty()) std::freopen(stderr_path.c_str(), "w", stderr);
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
    if (pid_ > 0 && !reaped_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (stdout_ != nullptr) fclose(stdout_);
  }
  ParasolProcess(const ParasolProcess&) = delete;
  ParasolProcess& operator=(const ParasolProcess&) = delete;

  pid_t pid() const { return pid_; }
  std::string ReadLine() {
    char buf[512] = {0};
    if (stdout_ == nullptr || fgets(buf, sizeof(buf), stdout_) == nullptr) return "";
    std::string line(buf);
    if (!line.empty() && line.back() == '\n') line.pop_back();
    return line;
  }
  // Sends `signal` (0: none) and waits; the exit code, or -1 when killed by a signal.
  int Stop(int signal) {
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
