#include "data/input_file.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace parasol {
namespace {

// Compressed bytes read from the file at a time.
constexpr size_t kCompressedBufferBytes = 1 << 18;

// An open file descriptor plus the few bytes already read to detect the compression, which are
// handed out again before anything else.
class RawFile {
 public:
  RawFile(std::string path, int fd, bool owned) : path_(std::move(path)), fd_(fd), owned_(owned) {}
  ~RawFile() {
    if (owned_) ::close(fd_);
  }
  RawFile(const RawFile&) = delete;
  RawFile& operator=(const RawFile&) = delete;

  const std::string& path() const { return path_; }
  void set_size(uint64_t size) { size_ = size; }
  double fraction_read() const {
    if (size_ == 0) return -1;
    return std::min(1.0, static_cast<double>(consumed_.load(std::memory_order_relaxed)) / size_);
  }

  // Reads up to sizeof(peek_) bytes so that the format can be detected; they stay readable.
  absl::Status Peek() {
    while (peek_size_ < sizeof(peek_)) {
      absl::StatusOr<size_t> n = ReadFd(peek_ + peek_size_, sizeof(peek_) - peek_size_);
      if (!n.ok()) return n.status();
      if (*n == 0) break;
      peek_size_ += *n;
    }
    return absl::OkStatus();
  }
  const unsigned char* peeked() const { return reinterpret_cast<const unsigned char*>(peek_); }
  size_t peeked_size() const { return peek_size_; }

  // Reads up to n bytes; 0 only at end of file.
  absl::StatusOr<size_t> Read(char* buf, size_t n) {
    if (n == 0) return 0;
    size_t copied = 0;
    if (peek_pos_ < peek_size_) {
      copied = std::min(n, peek_size_ - peek_pos_);
      std::memcpy(buf, peek_ + peek_pos_, copied);
      peek_pos_ += copied;
      if (copied == n) return copied;
    }
    absl::StatusOr<size_t> r = ReadFd(buf + copied, n - copied);
    if (!r.ok()) return r.status();
    return copied + *r;
  }

 private:
  absl::StatusOr<size_t> ReadFd(char* buf, size_t n) {
    n = std::min<size_t>(n, INT_MAX);
    while (true) {
      const ssize_t r = ::read(fd_, buf, n);
      if (r >= 0) {
        consumed_.fetch_add(static_cast<uint64_t>(r), std::memory_order_relaxed);
        return static_cast<size_t>(r);
      }
      if (errno == EINTR) continue;
      return absl::ErrnoToStatus(errno, absl::StrCat(path_, ": read failed"));
    }
  }

  const std::string path_;
  const int fd_;
  const bool owned_;
  uint64_t size_ = 0;  // 0 when unknown
  std::atomic<uint64_t> consumed_{0};
  char peek_[4];
  size_t peek_size_ = 0;
  size_t peek_pos_ = 0;
};

class PlainInput : public InputFile {
 public:
  explicit PlainInput(std::unique_ptr<RawFile> raw) : raw_(std::move(raw)) {}
  absl::StatusOr<size_t> Read(char* buf, size_t n) override { return raw_->Read(buf, n); }
  Compression compression() const override { return Compression::kNone; }
  double fraction_read() const override { return raw_->fraction_read(); }
  const std::string& path() const override { return raw_->path(); }

 private:
  std::unique_ptr<RawFile> raw_;
};

// Decodes gzip (and zlib) streams; several concatenated gzip members read as one stream, as with
// `gzip -d`.
class GzipInput : public InputFile {
 public:
  explicit GzipInput(std::unique_ptr<RawFile> raw)
      : raw_(std::move(raw)), in_(kCompressedBufferBytes) {}
  ~GzipInput() override {
    if (initialized_) inflateEnd(&zs_);
  }

  absl::Status Init() {
    // 15 + 32: largest window, and detect a gzip or zlib header automatically.
    if (inflateInit2(&zs_, 15 + 32) != Z_OK) {
      return absl::InternalError(absl::StrCat(path(), ": cannot initialise zlib"));
    }
    initialized_ = true;
    return absl::OkStatus();
  }

  absl::StatusOr<size_t> Read(char* buf, size_t n) override {
    if (!error_.ok()) return error_;
    if (done_ || n == 0) return 0;
    n = std::min<size_t>(n, UINT_MAX);
    zs_.next_out = reinterpret_cast<Bytef*>(buf);
    zs_.avail_out = static_cast<uInt>(n);
    while (zs_.avail_out > 0) {
      if (zs_.avail_in == 0 && !input_eof_) {
        absl::StatusOr<size_t> r = raw_->Read(in_.data(), in_.size());
        if (!r.ok()) {
          error_ = r.status();
          break;
        }
        if (*r == 0) {
          input_eof_ = true;
        } else {
          zs_.next_in = reinterpret_cast<Bytef*>(in_.data());
          zs_.avail_in = static_cast<uInt>(*r);
        }
      }
      if (member_done_) {
        if (zs_.avail_in == 0) {
          if (input_eof_) {
            done_ = true;
            break;
          }
          continue;
        }
        // Another gzip member follows the one just finished.
        inflateReset(&zs_);
        member_done_ = false;
      }
      if (zs_.avail_in == 0 && input_eof_) {
        error_ = absl::DataLossError(
            absl::StrCat(path(), ": truncated gzip stream (unexpected end of file)"));
        break;
      }
      const int rc = inflate(&zs_, Z_NO_FLUSH);
      if (rc == Z_STREAM_END) {
        member_done_ = true;
      } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
        error_ = absl::DataLossError(absl::StrCat(
            path(), ": corrupt gzip stream: ", zs_.msg != nullptr ? zs_.msg : "inflate failed"));
        break;
      }
    }
    const size_t produced = n - zs_.avail_out;
    // Bytes decoded before an error are delivered first; the error comes with the next call.
    if (produced > 0) return produced;
    if (!error_.ok()) return error_;
    return 0;
  }
  Compression compression() const override { return Compression::kGzip; }
  double fraction_read() const override { return raw_->fraction_read(); }
  const std::string& path() const override { return raw_->path(); }

 private:
  std::unique_ptr<RawFile> raw_;
  std::vector<char> in_;
  z_stream zs_{};
  bool initialized_ = false;
  bool input_eof_ = false;
  bool member_done_ = false;
  bool done_ = false;
  absl::Status error_;
};

// Decodes zstd streams (one or more frames).
class ZstdInput : public InputFile {
 public:
  explicit ZstdInput(std::unique_ptr<RawFile> raw)
      : raw_(std::move(raw)), in_(kCompressedBufferBytes), dctx_(ZSTD_createDCtx()) {}
  ~ZstdInput() override { ZSTD_freeDCtx(dctx_); }

  absl::Status Init() {
    if (dctx_ == nullptr) {
      return absl::InternalError(absl::StrCat(path(), ": cannot initialise zstd"));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<size_t> Read(char* buf, size_t n) override {
    if (!error_.ok()) return error_;
    ZSTD_outBuffer out{buf, n, 0};
    while (out.pos < out.size) {
      if (input_.pos == input_.size && !input_eof_) {
        absl::StatusOr<size_t> r = raw_->Read(in_.data(), in_.size());
        if (!r.ok()) {
          error_ = r.status();
          break;
        }
        if (*r == 0) {
          input_eof_ = true;
        } else {
          input_ = ZSTD_inBuffer{in_.data(), *r, 0};
        }
      }
      const bool no_input = input_.pos == input_.size;
      // End of input exactly at a frame boundary: the normal end.
      if (no_input && frame_hint_ == 0) break;
      const size_t before = out.pos;
      const size_t ret = ZSTD_decompressStream(dctx_, &out, &input_);
      if (ZSTD_isError(ret)) {
        error_ = absl::DataLossError(
            absl::StrCat(path(), ": corrupt zstd stream: ", ZSTD_getErrorName(ret)));
        break;
      }
      frame_hint_ = ret;
      if (no_input && out.pos == before && frame_hint_ != 0) {
        error_ = absl::DataLossError(
            absl::StrCat(path(), ": truncated zstd stream (unexpected end of file)"));
        break;
      }
    }
    if (out.pos > 0) return out.pos;
    if (!error_.ok()) return error_;
    return 0;
  }
  Compression compression() const override { return Compression::kZstd; }
  double fraction_read() const override { return raw_->fraction_read(); }
  const std::string& path() const override { return raw_->path(); }

 private:
  std::unique_ptr<RawFile> raw_;
  std::vector<char> in_;
  ZSTD_DCtx* dctx_;
  ZSTD_inBuffer input_{nullptr, 0, 0};
  // ZSTD_decompressStream's last return: 0 when a frame has just been completed. Starts non-zero
  // because a zstd file must hold at least one frame.
  size_t frame_hint_ = 1;
  bool input_eof_ = false;
  absl::Status error_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<InputFile>> OpenInputFile(const std::string& path) {
  std::unique_ptr<RawFile> raw;
  if (path == "-") {
    raw = std::make_unique<RawFile>(path, STDIN_FILENO, /*owned=*/false);
  } else {
    int fd;
    do {
      fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) return absl::ErrnoToStatus(errno, absl::StrCat(path, ": cannot open"));
    raw = std::make_unique<RawFile>(path, fd, /*owned=*/true);
    struct stat st;
    if (::fstat(fd, &st) == 0) {
      if (S_ISDIR(st.st_mode)) {
        return absl::InvalidArgumentError(absl::StrCat(path, ": is a directory"));
      }
      if (S_ISREG(st.st_mode)) {
        ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
        raw->set_size(static_cast<uint64_t>(st.st_size));
      }
    }
  }
  if (absl::Status s = raw->Peek(); !s.ok()) return s;
  const unsigned char* m = raw->peeked();
  const size_t size = raw->peeked_size();
  if (size >= 2 && m[0] == 0x1f && m[1] == 0x8b) {
    auto gz = std::make_unique<GzipInput>(std::move(raw));
    if (absl::Status s = gz->Init(); !s.ok()) return s;
    return gz;
  }
  if (size >= 4 && m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd) {
    auto zs = std::make_unique<ZstdInput>(std::move(raw));
    if (absl::Status s = zs->Init(); !s.ok()) return s;
    return zs;
  }
  return std::make_unique<PlainInput>(std::move(raw));
}

}  // namespace parasol
