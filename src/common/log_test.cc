#include "common/log.h"

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

}  // namespace
}  // namespace parasol::log
