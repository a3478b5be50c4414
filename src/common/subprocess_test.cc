#include "common/subprocess.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "gtest/gtest.h"

namespace parasol {
namespace {

namespace fs = std::filesystem;

TEST(SubprocessTest, ExitCodeEnvWorkingDirAndOutputFile) {
  const fs::path dir = fs::path(::testing::TempDir()) / ("subprocess_" + std::to_string(getpid()));
  fs::create_directories(dir);
  SpawnOptions o;
  o.argv = {"sh", "-c", "echo \"$GREETING\" $(pwd); echo oops >&2; exit 3"};
  o.env = {"GREETING=hello"};
  o.working_dir = dir.string();
  o.output_file = (dir / "out.log").string();
  auto p = Subprocess::Spawn(o);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ((*p)->Wait(), 3);
  std::ifstream in(dir / "out.log");
  std::stringstream s;
  s << in.rdbuf();
  EXPECT_EQ(s.str(), "hello " + fs::canonical(dir).string() + "\noops\n");
  fs::remove_all(dir);
}

TEST(SubprocessTest, StdoutToStderrSendsBothStreamsWhereThisProcesssStderrGoes) {
  const fs::path file = fs::path(::testing::TempDir()) / ("stderr_" + std::to_string(getpid()));
  // This process's stderr goes to `file` while the child runs; stdout stays where it was.
  std::fflush(stderr);
  const int saved = dup(STDERR_FILENO);
  const int fd = open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ASSERT_GE(fd, 0);
  dup2(fd, STDERR_FILENO);
  close(fd);
  SpawnOptions o;
  o.argv = {"sh", "-c", "echo to-stdout; echo to-stderr >&2"};
  o.stdout_to_stderr = true;
  auto p = Subprocess::Spawn(o);
  const int code = p.ok() ? (*p)->Wait() : -1;
  dup2(saved, STDERR_FILENO);
  close(saved);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(code, 0);
  std::ifstream in(file);
  std::stringstream s;
  s << in.rdbuf();
  EXPECT_EQ(s.str(), "to-stdout\nto-stderr\n");
  fs::remove(file);
}

TEST(SubprocessTest, CapturedStdoutAndSignals) {
  SpawnOptions o;
  o.argv = {"sh", "-c", "echo ready; exec sleep 30"};
  o.capture_stdout = true;
  o.new_session = true;
  auto p = Subprocess::Spawn(o);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ((*p)->ReadLine(), "ready");
  EXPECT_EQ((*p)->Poll(), std::nullopt);
  EXPECT_EQ(getpgid((*p)->pid()), (*p)->pid());
  (*p)->Signal(SIGTERM, /*group=*/true);
  EXPECT_EQ((*p)->Wait(), 128 + SIGTERM);
  EXPECT_FALSE((*p)->running());
}

TEST(SubprocessTest, MissingProgramOrDirectoryIsAnErrorNamingIt) {
  SpawnOptions o;
  o.argv = {"/no/such/program"};
  auto p = Subprocess::Spawn(o);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("cannot execute '/no/such/program'"), std::string::npos)
      << p.status();
  o.argv = {"true"};
  o.working_dir = "/no/such/dir";
  p = Subprocess::Spawn(o);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("/no/such/dir"), std::string::npos) << p.status();
  EXPECT_FALSE(Subprocess::Spawn(SpawnOptions{}).ok());
}

}  // namespace
}  // namespace parasol
