// Sequential byte input from a file that may be plain, gzip or zstd compressed; the format is
// chosen from the file's first bytes (magic numbers), never from its name. Not thread-safe.
#pragma once

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
  virtual const std::string& path() const = 0;
};

// Opens `path` ("-" is stdin) and detects its compression. NotFound/PermissionDenied name the path.
absl::StatusOr<std::unique_ptr<InputFile>> OpenInputFile(const std::string& path);

}  // namespace parasol
