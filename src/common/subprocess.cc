#include "common/subprocess.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/str_cat.h"

extern char** environ;

namespace parasol {
namespace {

// Everything the child needs, built before fork: after fork only async-signal-safe calls run.
struct ChildPlan {
  std::vector<std::string> env_storage;
  std::vector<char*> argv, envp;
};

ChildPlan MakePlan(const SpawnOptions& o) {
  ChildPlan plan;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry(*e);
    const std::string name = entry.substr(0, entry.find('='));
    bool overridden = false;
    for (const auto& set : o.env) overridden |= set.compare(0, name.size() + 1, name + "=") == 0;
    if (!overridden) plan.env_storage.push_back(entry);
  }
  for (const auto& set : o.env) plan.env_storage.push_back(set);
  for (const auto& a : o.argv) plan.argv.push_back(const_cast<char*>(a.c_str()));
  plan.argv.push_back(nullptr);
  for (auto& e : plan.env_storage) plan.envp.push_back(e.data());
  plan.envp.push_back(nullptr);
  return plan;
}

// In the child: reports `what` and errno through `fd` and exits.
[[noreturn]] void ChildFail(int fd, char what) {
  const int err = errno;
  char msg[1 + sizeof(int)];
  msg[0] = what;
  std::memcpy(msg + 1, &err, sizeof(int));
  [[maybe_unused]] ssize_t n = write(fd, msg, sizeof(msg));
  _exit(127);
}

}  // namespace

int ExitCodeOf(int wait_status) {
  return WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 128 + WTERMSIG(wait_status);
}

absl::StatusOr<std::unique_ptr<Subprocess>> Subprocess::Spawn(const SpawnOptions& o) {
  if (o.argv.empty() || o.argv[0].empty()) {
    return absl::InvalidArgumentError("no program to run (empty command)");
  }
  ChildPlan plan = MakePlan(o);
  int report[2];  // the child's reason for failing before exec; closed by a successful exec
  if (pipe2(report, O_CLOEXEC) != 0)
    return absl::InternalError("pipe: " + std::string(strerror(errno)));
  int out[2] = {-1, -1};
  const bool capture = o.capture_stdout && o.output_file.empty();
  if (capture && pipe2(out, O_CLOEXEC) != 0) {
    close(report[0]);
    close(report[1]);
    return absl::InternalError("pipe: " + std::string(strerror(errno)));
  }
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) return absl::InternalError("fork: " + std::string(strerror(errno)));
  if (pid == 0) {
    if (o.die_with_parent) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(1);
    }
    if (o.new_session && setsid() < 0) ChildFail(report[1], 's');
    // Signals this process ignores or blocks must not leak into the program.
    for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGQUIT, SIGCHLD}) signal(sig, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    if (!o.working_dir.empty() && chdir(o.working_dir.c_str()) != 0) ChildFail(report[1], 'd');
    if (!o.output_file.empty()) {
      const int fd = open(o.output_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd < 0) ChildFail(report[1], 'o');
      dup2(fd, STDOUT_FILENO);
      dup2(fd, STDERR_FILENO);
      close(fd);
      const int null_in = open("/dev/null", O_RDONLY);
      if (null_in >= 0) dup2(null_in, STDIN_FILENO);
    } else if (capture) {
      dup2(out[1], STDOUT_FILENO);
    } else if (o.stdout_to_stderr) {
      dup2(STDERR_FILENO, STDOUT_FILENO);
    }
    execvpe(plan.argv[0], plan.argv.data(), plan.envp.data());
    ChildFail(report[1], 'x');
  }
  close(report[1]);
  if (capture) close(out[1]);
  char msg[1 + sizeof(int)];
  ssize_t n;
  do {
    n = read(report[0], msg, sizeof(msg));
  } while (n < 0 && errno == EINTR);
  close(report[0]);
  if (n == static_cast<ssize_t>(sizeof(msg))) {
    int err;
    std::memcpy(&err, msg + 1, sizeof(int));
    int status;
    waitpid(pid, &status, 0);
    if (capture) close(out[0]);
    const char* what = msg[0] == 'd'   ? "cannot enter working directory "
                       : msg[0] == 'o' ? "cannot open output file "
                       : msg[0] == 's' ? "cannot start a session for "
                                       : "cannot execute ";
    const std::string object = msg[0] == 'd'   ? o.working_dir
                               : msg[0] == 'o' ? o.output_file
                                               : o.argv[0];
    return absl::FailedPreconditionError(absl::StrCat(what, "'", object, "': ", strerror(err)));
  }
  std::FILE* stdout_file = capture ? fdopen(out[0], "r") : nullptr;
  return std::unique_ptr<Subprocess>(new Subprocess(pid, stdout_file, o.kill_on_destroy));
}

Subprocess::~Subprocess() {
  if (running() && kill_on_destroy_) {
    kill(pid_, SIGKILL);
    Wait();
  }
  if (stdout_ != nullptr) std::fclose(stdout_);
}

std::string Subprocess::ReadLine() {
  char buf[512] = {0};
  if (stdout_ == nullptr || std::fgets(buf, sizeof(buf), stdout_) == nullptr) return "";
  std::string line(buf);
  if (!line.empty() && line.back() == '\n') line.pop_back();
  return line;
}

std::optional<int> Subprocess::Poll() {
  if (!running()) return exit_code_;
  int status = 0;
  const pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) return Reap(status);
  if (r < 0 && errno == ECHILD) return Reap(W_EXITCODE(127, 0));  // reaped elsewhere
  return std::nullopt;
}

int Subprocess::Wait() {
  if (!running()) return *exit_code_;
  int status = 0;
  pid_t r;
  do {
    r = waitpid(pid_, &status, 0);
  } while (r < 0 && errno == EINTR);
  if (r < 0) status = W_EXITCODE(127, 0);
  return Reap(status);
}

int Subprocess::Reap(int wait_status) {
  exit_code_ = ExitCodeOf(wait_status);
  return *exit_code_;
}

void Subprocess::Signal(int signal, bool group) {
  if (running()) kill(group ? -pid_ : pid_, signal);
}

int Subprocess::Stop(int signal) {
  Signal(signal);
  return Wait();
}

}  // namespace parasol
