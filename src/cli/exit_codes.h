// How every `parasol` sub-command reports failure: the exit codes and the one error line format.
// Stateless; thread-safe.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace parasol {

inline constexpr int kExitOk = 0;
inline constexpr int kExitRuntime = 1;  // bad data, I/O, a failed job
inline constexpr int kExitUsage = 2;    // bad flag, config or argument

// Prints "parasol: error: MESSAGE" to stderr and returns `code`.
inline int Fail(int code, std::string_view message) {
  std::fprintf(stderr, "parasol: error: %s\n", std::string(message).c_str());
  return code;
}
inline int Fail(int code, const absl::Status& status) {
  return Fail(code, std::string_view(status.message().data(), status.message().size()));
}

}  // namespace parasol
