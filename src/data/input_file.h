// Sequential byte input from a file that may be plain, gzip or zstd compressed; the format is
// chosen from the file's first bytes (magic numbers), never from its name. Not thread-safe.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace parasol {

enum class Compression { kNone, kGzip, kZstd };

class InputFile {
 public:
  virtual ~InputFile() = default;
  // Reads up to n bytes into buf. Returns 0 only at end of input. A truncated or corrupt
  // compressed stream is DataLoss naming the file.
  virtual absl::StatusOr<size_t> Read(char* buf, size_t n) = 0;
  virtual Compression compression() const = 0;
  // How much of the file (compressed bytes for gzip/zstd) has been consumed, in [0, 1], or -1
  // when the size is unknown (stdin, a pipe). Safe to call from another thread than Read's.
  virtual double fraction_read() const = 0;
  virtual const std::string& path() const = 0;
};

// Opens `path` ("-" is stdin) and detects its compression. NotFound/PermissionDenied name the path.
absl::StatusOr<std::unique_ptr<InputFile>> OpenInputFile(const std::string& path);

}  // namespace parasol
