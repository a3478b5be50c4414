// Starting and supervising child processes (fork/exec): the one place Parasol spawns programs,
// used by the local backend (control/local_backend.h: the replicas of control-plane jobs and of
// `parasol cluster`) and its replica shim. A Subprocess is thread-compatible: one thread at a time
// may use it.
#pragma once

#include <sys/types.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace parasol {

struct SpawnOptions {
  // argv[0] is the program: a path, or a name looked up in PATH. Must not be empty.
  std::vector<std::string> argv;
  // "NAME=VALUE" entries set on top of this process's environment.
  std::vector<std::string> env;
  // Directory the program starts in; empty: this process's.
  std::string working_dir;
  // When set, stdout and stderr are appended to this file (created 0644 if missing).
  std::string output_file;
  // stdout becomes a pipe read by ReadLine (ignored when output_file is set).
  bool capture_stdout = false;
  // stdout goes where this process's stderr goes (ignored when output_file or capture_stdout is
  // set): a child's output shown as a log, apart from this process's own stdout.
  bool stdout_to_stderr = false;
  // The child starts its own session and process group (pgid == pid), so Signal(sig,
  // /*group=*/true) reaches everything it starts and terminal signals do not.
  bool new_session = false;
  // The kernel kills the child (SIGKILL) when this process dies.
  bool die_with_parent = false;
  // The destructor kills (SIGKILL) and reaps a child still running. Off: it is left alone.
  bool kill_on_destroy = true;
};

class Subprocess {
 public:
  // Starts the program. Fails (naming the program and the reason) when it cannot be executed or
  // its working directory or output file cannot be opened; nothing is left running then.
  static absl::StatusOr<std::unique_ptr<Subprocess>> Spawn(const SpawnOptions& options);

  ~Subprocess();
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  pid_t pid() const { return pid_; }
  bool running() const { return !exit_code_.has_value(); }
  // The exit code once reaped: the program's status, or 128 + signal number.
  std::optional<int> exit_code() const { return exit_code_; }

  // The next line of captured stdout without its newline; "" at end of output.
  std::string ReadLine();
  // Reaps the child if it has exited, without blocking; its exit code, or nullopt if running.
  std::optional<int> Poll();
  // Blocks until the child exits; its exit code.
  int Wait();
  // Records a wait status obtained elsewhere (waitpid(-1, ...)) for this child; its exit code.
  int Reap(int wait_status);
  // Sends `signal` to the child, or to its whole process group when `group` is true.
  void Signal(int signal, bool group = false);
  // Signal(signal) then Wait().
  int Stop(int signal);

 private:
  Subprocess(pid_t pid, std::FILE* out, bool kill_on_destroy)
      : pid_(pid), stdout_(out), kill_on_destroy_(kill_on_destroy) {}

  pid_t pid_;
  std::FILE* stdout_;
  bool kill_on_destroy_;
  std::optional<int> exit_code_;
};

// The exit code a wait status stands for: the exit status, or 128 + signal number.
int ExitCodeOf(int wait_status);

}  // namespace parasol
