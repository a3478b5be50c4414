// The one logging sink of Parasol's libraries: servers and long-running components report events
// (a model version loaded, a job that could not be saved, a delta refused) here, never with
// fprintf. Lines go to standard error through spdlog, as the plain message (no prefix added), so
// the text a user or a test reads is the text written. Thread-safe.
#pragma once

#include <string>
#include <utility>

#include "spdlog/fmt/fmt.h"

namespace parasol::log {

enum class Level { kInfo, kWarn, kError };

// Writes one line at `level`.
void Write(Level level, const std::string& line);

template <typename... Args>
void Info(fmt::format_string<Args...> format, Args&&... args) {
  Write(Level::kInfo, fmt::format(format, std::forward<Args>(args)...));
}
template <typename... Args>
void Warn(fmt::format_string<Args...> format, Args&&... args) {
  Write(Level::kWarn, fmt::format(format, std::forward<Args>(args)...));
}
template <typename... Args>
void Error(fmt::format_string<Args...> format, Args&&... args) {
  Write(Level::kError, fmt::format(format, std::forward<Args>(args)...));
}

// A status line that the next line replaces (a progress bar on a terminal): drawn over the
// previous one, and cleared before any line written with Write/Info/Warn/Error. Callers draw it
// only when standard error is a terminal. Not captured by ScopedCapture.
void Transient(const std::string& text);
// Clears the status line, if one is shown.
void ClearTransient();

// While alive, lines are appended to a string instead of standard error (tests of what a
// component logs). One at a time; not nested.
class ScopedCapture {
 public:
  ScopedCapture();
  ~ScopedCapture();
  ScopedCapture(const ScopedCapture&) = delete;
  ScopedCapture& operator=(const ScopedCapture&) = delete;
  // Everything written since construction, one line per call.
  std::string text() const;
};

}  // namespace parasol::log
