#include "common/log.h"

#include <unistd.h>

#include <cstdio>
#include <string>

#include "gtest/gtest.h"

namespace parasol::log {
namespace {

TEST(LogTest, CaptureReceivesFormattedLinesAsWritten) {
  ScopedCapture capture;
  Info("model '{}' version {} is available", "churn", 3);
  Error("cannot save job {}: {}", "j1", "disk full");
  EXPECT_EQ(capture.text(),
            "model 'churn' version 3 is available\ncannot save job j1: disk full\n");
}

TEST(LogTest, LinesAfterCaptureEndsAreNotCaptured) {
  std::string seen;
  {
    ScopedCapture capture;
    Warn("first");
    seen = capture.text();
  }
  ScopedCapture second;
  EXPECT_EQ(seen, "first\n");
  EXPECT_EQ(second.text(), "");
}

// Standard error's bytes while `write` runs (fd 2 pointed at a temporary file).
template <typename F>
std::string StderrOf(F write) {
  std::fflush(stderr);
  std::FILE* tmp = std::tmpfile();
  const int saved = dup(2);
  dup2(fileno(tmp), 2);
  write();
  std::fflush(stderr);
  dup2(saved, 2);
  close(saved);
  std::string out(4096, '\0');
  std::rewind(tmp);
  out.resize(std::fread(out.data(), 1, out.size(), tmp));
  std::fclose(tmp);
  return out;
}

TEST(LogTest, ALineReplacesTheStatusLineBeforeIt) {
  const std::string out = StderrOf([] {
    Transient("epoch 1/2 [##..]");
    Transient("epoch 1/2 [###.]");
    Info("epoch 1/2: done");
    ClearTransient();  // nothing shown: writes nothing
    Transient("epoch 2/2 [#...]");
    ClearTransient();
  });
  EXPECT_EQ(out,
            "\r\033[Kepoch 1/2 [##..]\r\033[Kepoch 1/2 [###.]\r\033[Kepoch 1/2: done\n"
            "\r\033[Kepoch 2/2 [#...]\r\033[K");
}

TEST(LogTest, StatusLinesAreNotCaptured) {
  ScopedCapture capture;
  Transient("bar");
  Info("line");
  EXPECT_EQ(capture.text(), "line\n");
}

}  // namespace
}  // namespace parasol::log
