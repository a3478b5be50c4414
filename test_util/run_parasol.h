// Runs the `parasol` binary under test (PARASOL_BINARY, defined by the test target) as a user
// would, for end-to-end tests. Each call is a separate process; thread-compatible.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <string>

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

}  // namespace parasol::testing
