// Counts and limits malformed input lines. Default policy: the first bad line stops the read with
// a message naming file, line and fault; with max_bad_lines = N, up to N are skipped and counted
// by kind. Thread-safe: parser threads report concurrently.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "absl/status/status.h"

namespace parasol {

class BadLineTracker {
 public:
  explicit BadLineTracker(int64_t max_bad_lines = 0) : max_bad_lines_(max_bad_lines) {}

  // Records a bad line. Returns OK when the line may be skipped, or InvalidArgument
  // "FILE:LINE: <message>" when the limit is exceeded. `kind` is a short category such as
  // "bad label", "bad feature", "wrong column count".
  absl::Status Report(const std::string& file, uint64_t line, const std::string& kind,
                      const std::string& message);

  int64_t total() const;
  std::map<std::string, int64_t> by_kind() const;
  // "skipped 3 bad lines (bad label: 1, bad feature: 2)" or "" when none.
  std::string Summary() const;

 private:
  const int64_t max_bad_lines_;
  mutable std::mutex mu_;
  int64_t total_ = 0;
  std::map<std::string, int64_t> by_kind_;
};

}  // namespace parasol
