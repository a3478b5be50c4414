#include "data/cache.h"

#include <errno.h>
#include <sys/stat.h>
#include <xxhash.h>

#include <bit>
#include <cstdio>
#include <cstring>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace parasol {
namespace {

static_assert(std::endian::native == std::endian::little,
              "the cache layout is little-endian; add byte swapping for this platform");

constexpr uint32_t kCacheVersion = 1;
constexpr uint32_t kBlockMagic = 0x4b4c4250;  // "PBLK"
constexpr uint32_t kEndMagic = 0x444e4550;    // "PEND"
constexpr size_t kHeaderBytes = sizeof(kCacheMagic) + 4 + 8;
constexpr size_t kIoBufferBytes = 1 << 20;

template <typename T>
bool WriteArray(std::FILE* f, const T* data, size_t n) {
  return n == 0 || std::fwrite(data, sizeof(T), n, f) == n;
}

template <typename T>
bool WriteValue(std::FILE* f, T value) {
  return std::fwrite(&value, sizeof(T), 1, f) == 1;
}

std::string TmpPath(const std::string& path) { return path + ".tmp"; }

}  // namespace

bool IsCacheFile(const std::string& path) {
  // Only regular files: peeking into a pipe (e.g. a shell's <(zcat ...)) would eat its bytes.
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return false;
  char magic[sizeof(kCacheMagic)];
  const bool is_cache = std::fread(magic, 1, sizeof(magic), f) == sizeof(magic) &&
                        std::memcmp(magic, kCacheMagic, sizeof(magic)) == 0;
  std::fclose(f);
  return is_cache;
}

uint64_t SourceFingerprint(const std::string& source_path, const std::string& config_text) {
  XXH3_state_t* state = XXH3_createState();
  XXH3_64bits_reset(state);
  XXH3_64bits_update(state, source_path.data(), source_path.size() + 1);  // with its '\0'
  struct stat st;
  int64_t meta[3] = {-1, 0, 0};  // size, mtime seconds, mtime nanoseconds
  if (::stat(source_path.c_str(), &st) == 0) {
    meta[0] = static_cast<int64_t>(st.st_size);
    meta[1] = static_cast<int64_t>(st.st_mtim.tv_sec);
    meta[2] = static_cast<int64_t>(st.st_mtim.tv_nsec);
  }
  XXH3_64bits_update(state, meta, sizeof(meta));
  XXH3_64bits_update(state, config_text.data(), config_text.size());
  const uint64_t h = XXH3_64bits_digest(state);
  XXH3_freeState(state);
  return h;
}

// ---------------------------------------------------------------------------------------------
// CacheWriter

absl::StatusOr<std::unique_ptr<CacheWriter>> CacheWriter::Create(const std::string& path,
                                                                 uint64_t fingerprint) {
  const std::string tmp = TmpPath(path);
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) return absl::ErrnoToStatus(errno, absl::StrCat(tmp, ": cannot create"));
  std::unique_ptr<CacheWriter> writer(new CacheWriter(path, f));
  std::setvbuf(f, nullptr, _IOFBF, kIoBufferBytes);
  if (std::fwrite(kCacheMagic, 1, sizeof(kCacheMagic), f) != sizeof(kCacheMagic) ||
      !WriteValue(f, kCacheVersion) || !WriteValue(f, fingerprint)) {
    return absl::ErrnoToStatus(errno, absl::StrCat(tmp, ": write failed"));
  }
  return writer;
}

CacheWriter::~CacheWriter() {
  if (file_ != nullptr) {
    std::fclose(file_);
    std::remove(TmpPath(path_).c_str());
  }
}

absl::Status CacheWriter::Write(const ExampleBlock& block) {
  if (file_ == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(path_, ": cache already finished"));
  }
  if (block.empty()) return absl::OkStatus();
  const uint32_t n = static_cast<uint32_t>(block.size());
  const uint32_t m = static_cast<uint32_t>(block.num_features());
  if (block.size() > UINT32_MAX || block.num_features() > UINT32_MAX) {
    return absl::InvalidArgumentError(absl::StrCat(path_, ": block too large for the cache"));
  }
  const uint32_t head[3] = {kBlockMagic, n, m};
  XXH3_state_t* state = XXH3_createState();
  XXH3_64bits_reset(state);
  XXH3_64bits_update(state, head, sizeof(head));
  XXH3_64bits_update(state, block.labels().data(), n * sizeof(float));
  XXH3_64bits_update(state, block.offsets().data(), (size_t{n} + 1) * sizeof(uint32_t));
  XXH3_64bits_update(state, block.keys().data(), m * sizeof(uint64_t));
  XXH3_64bits_update(state, block.fields().data(), m * sizeof(uint32_t));
  XXH3_64bits_update(state, block.values().data(), m * sizeof(float));
  const uint64_t checksum = XXH3_64bits_digest(state);
  XXH3_freeState(state);
  if (!WriteArray(file_, head, 3) || !WriteArray(file_, block.labels().data(), n) ||
      !WriteArray(file_, block.offsets().data(), size_t{n} + 1) ||
      !WriteArray(file_, block.keys().data(), m) || !WriteArray(file_, block.fields().data(), m) ||
      !WriteArray(file_, block.values().data(), m) || !WriteValue(file_, checksum)) {
    return absl::ErrnoToStatus(errno, absl::StrCat(TmpPath(path_), ": write failed"));
  }
  examples_ += n;
  return absl::OkStatus();
}

absl::Status CacheWriter::Finish() {
  if (file_ == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(path_, ": cache already finished"));
  }
  const std::string tmp = TmpPath(path_);
  const bool written =
      WriteValue(file_, kEndMagic) && WriteValue(file_, examples_) && std::fflush(file_) == 0;
  const int write_errno = errno;
  const bool closed = std::fclose(file_) == 0;
  file_ = nullptr;
  if (!written || !closed) {
    const int err = !written ? write_errno : errno;
    std::remove(tmp.c_str());
    return absl::ErrnoToStatus(err, absl::StrCat(tmp, ": write failed"));
  }
  if (std::rename(tmp.c_str(), path_.c_str()) != 0) {
    const int err = errno;
    std::remove(tmp.c_str());
    return absl::ErrnoToStatus(err, absl::StrCat(path_, ": cannot rename ", tmp, " to it"));
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// CacheReader

absl::StatusOr<std::unique_ptr<CacheReader>> CacheReader::Open(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return absl::ErrnoToStatus(errno, absl::StrCat(path, ": cannot open"));
  std::setvbuf(f, nullptr, _IOFBF, kIoBufferBytes);
  char magic[sizeof(kCacheMagic)];
  const size_t got = std::fread(magic, 1, sizeof(magic), f);
  if (std::memcmp(magic, kCacheMagic, got) != 0 || got == 0) {
    std::fclose(f);
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a Parasol cache file"));
  }
  uint32_t version = 0;
  uint64_t fingerprint = 0;
  if (got != sizeof(magic) || std::fread(&version, sizeof(version), 1, f) != 1 ||
      std::fread(&fingerprint, sizeof(fingerprint), 1, f) != 1) {
    std::fclose(f);
    return absl::DataLossError(absl::StrCat(path, ": truncated cache header"));
  }
  if (version != kCacheVersion) {
    std::fclose(f);
    return absl::FailedPreconditionError(absl::StrCat(path, ": cache version ", version,
                                                      ", this build reads version ", kCacheVersion,
                                                      "; rebuild the cache"));
  }
  std::unique_ptr<CacheReader> reader(new CacheReader(path, f, fingerprint));
  struct stat st;
  if (::fstat(fileno(f), &st) == 0) reader->file_size_ = static_cast<uint64_t>(st.st_size);
  reader->offset_ = kHeaderBytes;
  return reader;
}

CacheReader::~CacheReader() {
  if (file_ != nullptr) std::fclose(file_);
}

absl::Status CacheReader::ReadBytes(void* data, size_t bytes) {
  if (bytes == 0) return absl::OkStatus();
  if (std::fread(data, 1, bytes, file_) != bytes) {
    if (std::ferror(file_)) {
      return absl::DataLossError(absl::StrCat(path_, ": read error at byte ", offset_));
    }
    return absl::DataLossError(absl::StrCat(path_,
                                            ": truncated cache (ends inside a block at byte ",
                                            offset_, "; was it written completely?)"));
  }
  offset_ += bytes;
  consumed_.store(offset_, std::memory_order_relaxed);
  return absl::OkStatus();
}

absl::StatusOr<bool> CacheReader::Next(ExampleBlock* block) {
  if (file_ == nullptr) return false;
  uint32_t magic;
  if (absl::Status s = ReadBytes(&magic, sizeof(magic)); !s.ok()) {
    return absl::DataLossError(absl::StrCat(path_, ": truncated cache (no end marker after ",
                                            examples_, " examples; was it written completely?)"));
  }
  if (magic == kEndMagic) {
    uint64_t total = 0;
    if (absl::Status s = ReadBytes(&total, sizeof(total)); !s.ok()) return s;
    if (total != examples_) {
      return absl::DataLossError(absl::StrCat(path_, ": cache trailer says ", total,
                                              " examples, blocks hold ", examples_));
    }
    if (std::fgetc(file_) != EOF) {
      return absl::DataLossError(absl::StrCat(path_, ": unexpected bytes after the end marker"));
    }
    std::fclose(file_);
    file_ = nullptr;
    return false;
  }
  if (magic != kBlockMagic) {
    return absl::DataLossError(
        absl::StrCat(path_, ": corrupt cache (bad block marker at byte ", offset_ - 4, ")"));
  }
  uint32_t counts[2];
  if (absl::Status s = ReadBytes(counts, sizeof(counts)); !s.ok()) return s;
  const uint32_t n = counts[0];
  const uint32_t m = counts[1];
  // Check the sizes against the file before allocating, so corruption cannot ask for terabytes.
  const uint64_t need = uint64_t{n} * 4 + (uint64_t{n} + 1) * 4 + uint64_t{m} * 16 + 8;
  if (file_size_ != 0 && offset_ + need > file_size_) {
    return absl::DataLossError(absl::StrCat(path_, ": truncated cache (a block of ", n,
                                            " examples runs past the end of the file)"));
  }
  std::vector<float>& labels = *block->mutable_labels();
  std::vector<uint32_t>& offsets = *block->mutable_offsets();
  std::vector<uint64_t>& keys = *block->mutable_keys();
  std::vector<uint32_t>& fields = *block->mutable_fields();
  std::vector<float>& values = *block->mutable_values();
  labels.resize(n);
  offsets.resize(size_t{n} + 1);
  keys.resize(m);
  fields.resize(m);
  values.resize(m);
  uint64_t checksum = 0;
  absl::Status s = ReadBytes(labels.data(), n * sizeof(float));
  if (s.ok()) s = ReadBytes(offsets.data(), offsets.size() * sizeof(uint32_t));
  if (s.ok()) s = ReadBytes(keys.data(), m * sizeof(uint64_t));
  if (s.ok()) s = ReadBytes(fields.data(), m * sizeof(uint32_t));
  if (s.ok()) s = ReadBytes(values.data(), m * sizeof(float));
  if (s.ok()) s = ReadBytes(&checksum, sizeof(checksum));
  if (!s.ok()) {
    block->Clear();
    return s;
  }
  const uint32_t head[3] = {kBlockMagic, n, m};
  XXH3_state_t* state = XXH3_createState();
  XXH3_64bits_reset(state);
  XXH3_64bits_update(state, head, sizeof(head));
  XXH3_64bits_update(state, labels.data(), n * sizeof(float));
  XXH3_64bits_update(state, offsets.data(), offsets.size() * sizeof(uint32_t));
  XXH3_64bits_update(state, keys.data(), m * sizeof(uint64_t));
  XXH3_64bits_update(state, fields.data(), m * sizeof(uint32_t));
  XXH3_64bits_update(state, values.data(), m * sizeof(float));
  const uint64_t actual = XXH3_64bits_digest(state);
  XXH3_freeState(state);
  bool offsets_ok = offsets[0] == 0 && offsets[n] == m;
  for (uint32_t i = 0; offsets_ok && i < n; ++i) offsets_ok = offsets[i] <= offsets[i + 1];
  if (actual != checksum || !offsets_ok) {
    block->Clear();
    return absl::DataLossError(absl::StrCat(path_,
                                            ": corrupt cache (checksum mismatch in the "
                                            "block ending at byte ",
                                            offset_, ")"));
  }
  examples_ += n;
  return true;
}

}  // namespace parasol
