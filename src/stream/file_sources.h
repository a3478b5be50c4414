// Sources without a server: a folder of arriving files and standard input. One thread each.
//
// dir:PATH — the rolling-folder layout: a producer writes NAME, then creates the empty file
// NAME.done (the done-mark); only then is NAME read. Files are read in name order (use names
// that sort by time: 20261207-2100.txt), one event per line. The position is the file being read
// and the byte offset in it, so a restart resumes mid-file exactly. Names starting with '.' and
// the marks themselves are never read; a file whose mark appears after a later-named file was
// finished is logged and not read (name order is the contract).
//
// - (standard input) — one event per line until end of file; nothing can be replayed, so a
// restart continues with whatever the pipe gives next.
#pragma once

#include <cstdint>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "stream/source.h"

namespace parasol::stream {

inline constexpr char kDoneSuffix[] = ".done";

class DirSource : public Source {
 public:
  // `position`: a Position() of an earlier run, or "".
  static absl::StatusOr<std::unique_ptr<DirSource>> Open(const std::string& path,
                                                         const std::string& position);
  absl::Status Read(size_t max, int wait_ms, std::vector<Event>* out) override;
  std::string Position() const override;
  absl::Status Commit() override { return absl::OkStatus(); }
  std::string Describe() const override { return "dir:" + path_; }
  std::string Where(const std::string& where) const override { return path_ + "/" + where; }

 private:
  explicit DirSource(std::string path) : path_(std::move(path)) {}
  // Opens the next finished file after finished_ (or current_ at its offset); false if none.
  absl::StatusOr<bool> OpenNext();

  std::string path_;
  std::string finished_;  // the last file read to its end ("" none)
  std::string current_;   // the file being read ("" none)
  uint64_t offset_ = 0;   // bytes of current_ consumed
  uint64_t line_ = 0;     // lines of current_ consumed, for messages
  std::ifstream in_;
  std::set<std::string> warned_;
};

class StdinSource : public Source {
 public:
  absl::Status Read(size_t max, int wait_ms, std::vector<Event>* out) override;
  bool finished() const override { return eof_ && buffer_.empty(); }
  std::string Position() const override;
  absl::Status Commit() override { return absl::OkStatus(); }
  std::string Describe() const override { return "-"; }
  std::string Where(const std::string& where) const override { return "stdin:" + where; }

 private:
  std::string buffer_;  // bytes read past the last newline
  bool eof_ = false;
  uint64_t lines_ = 0;
};

}  // namespace parasol::stream
