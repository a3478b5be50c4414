// Runs the `parasol` binary under test (PARASOL_BINARY, defined by the test target) as a user
// would, for end-to-end tests. Each call is a separate process; thread-compatible.
#pragma once

#include <sys/wait.h>

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

// `COMMAND 2>&1` through the shell.
inline CommandResult RunCommand(const std::string& command) {
  const std::string cmd = command + " 2>&1";
  std::FILE* pipe = popen(cmd.c_str(), "r");
  CommandResult r{-1, ""};
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), pipe)) > 0) r.out.append(buf, n);
  const int status = pclose(pipe);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// `parasol ARGS 2>&1`; ARGS goes through the shell.
inline CommandResult RunParasol(const std::string& args) {
  return RunCommand(std::string(PARASOL_BINARY) + " " + args);
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

}  // namespace parasol::testing
