// Parasol's binary cache of parsed examples: text is parsed once, later epochs and runs read
// blocks straight into memory. Layout (little-endian):
//   header: magic "PSLCACHE", u32 version, u64 source fingerprint
//   blocks: u32 magic, u32 n_examples, u32 n_features, then labels f32[n], offsets u32[n+1],
//           keys u64[m], fields u32[m], values f32[m], u64 xxh3 checksum of the block
//   trailer: u32 end magic, u64 total examples
// A cache without its trailer (interrupted write) or with a bad checksum is rejected with
// DataLoss. Not thread-safe; one writer or reader per object.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "data/example.h"

namespace parasol {

inline constexpr char kCacheMagic[8] = {'P', 'S', 'L', 'C', 'A', 'C', 'H', 'E'};

// True when the file at `path` starts with kCacheMagic.
bool IsCacheFile(const std::string& path);

// Identifies what a cache was built from (source path, size, mtime, format and feature config),
// so a stale cache is rebuilt rather than silently used.
uint64_t SourceFingerprint(const std::string& source_path, const std::string& config_text);

class CacheWriter {
 public:
  // Writes to `path`.tmp and renames on Finish(), so a crash never leaves a half cache at `path`.
  static absl::StatusOr<std::unique_ptr<CacheWriter>> Create(const std::string& path,
                                                             uint64_t fingerprint);
  ~CacheWriter();
  absl::Status Write(const ExampleBlock& block);
  absl::Status Finish();

 private:
  CacheWriter(std::string path, std::FILE* file) : path_(std::move(path)), file_(file) {}
  std::string path_;
  std::FILE* file_;
  uint64_t examples_ = 0;
};

class CacheReader {
 public:
  static absl::StatusOr<std::unique_ptr<CacheReader>> Open(const std::string& path);
  ~CacheReader();
  uint64_t fingerprint() const { return fingerprint_; }
  // Share of the file consumed, in [0, 1], or -1 when its size is unknown. Thread-safe.
  double fraction_read() const {
    return file_size_ == 0 ? -1 : static_cast<double>(consumed_.load()) / file_size_;
  }
  // Replaces *block with the next stored block; false at the end (after the trailer checks out).
  absl::StatusOr<bool> Next(ExampleBlock* block);

 private:
  CacheReader(std::string path, std::FILE* file, uint64_t fingerprint)
      : path_(std::move(path)), file_(file), fingerprint_(fingerprint) {}
  // Reads exactly `bytes` bytes; DataLoss naming the path when the file ends first.
  absl::Status ReadBytes(void* data, size_t bytes);
  std::string path_;
  std::FILE* file_;
  uint64_t fingerprint_;
  uint64_t examples_ = 0;
  uint64_t file_size_ = 0;             // 0 when unknown
  uint64_t offset_ = 0;                // bytes consumed so far
  std::atomic<uint64_t> consumed_{0};  // offset_, readable from other threads
};

}  // namespace parasol
