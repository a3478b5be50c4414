#include "stream/file_sources.h"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace parasol::stream {
namespace fs = std::filesystem;

namespace {
constexpr int kPollMs = 100;  // how often a folder is listed while waiting for files

bool EndsWith(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
}  // namespace

absl::StatusOr<std::unique_ptr<DirSource>> DirSource::Open(const std::string& path,
                                                           const std::string& position) {
  std::error_code ec;
  if (!fs::is_directory(path, ec)) {
    return absl::InvalidArgumentError(
        absl::StrCat("dir:", path, ": not a directory (dir:PATH reads the files of a folder)"));
  }
  auto source = std::unique_ptr<DirSource>(new DirSource(path));
  if (!position.empty()) {
    const auto j = nlohmann::json::parse(position, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object() || !j.contains("finished") || !j.contains("file") || !j.contains("offset")) {
      return absl::InvalidArgumentError(
          absl::StrCat("dir:", path, ": stored position is not a folder position: ", position));
    }
    source->finished_ = j["finished"].get<std::string>();
    source->current_ = j["file"].get<std::string>();
    source->offset_ = j["offset"].get<uint64_t>();
    source->line_ = j.value("line", uint64_t{0});
  }
  return source;
}

std::string DirSource::Position() const {
  return nlohmann::json{
      {"finished", finished_}, {"file", current_}, {"offset", offset_}, {"line", line_}}
      .dump();
}

absl::StatusOr<bool> DirSource::OpenNext() {
  std::vector<std::string> ready;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(path_, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name[0] == '.' || EndsWith(name, kDoneSuffix)) continue;
    if (!fs::exists(entry.path().string() + kDoneSuffix)) continue;
    if (!current_.empty() ? name < current_ : name <= finished_) {
      if (name != finished_ && name != current_ && warned_.insert(name).second) {
        log::Warn(
            "dir:{}: {} is finished but sorts before {}, which was read already; not read "
            "(files are read in name order)",
            path_, name, current_.empty() ? finished_ : current_);
      }
      continue;
    }
    ready.push_back(name);
  }
  if (ec) return absl::UnavailableError(absl::StrCat("dir:", path_, ": ", ec.message()));
  if (ready.empty()) return false;
  const std::string name = *std::min_element(ready.begin(), ready.end());
  if (name != current_) {
    current_ = name;
    offset_ = 0;
    line_ = 0;
  }
  in_.close();
  in_.clear();
  in_.open(fs::path(path_) / name, std::ios::binary);
  if (!in_) {
    return absl::UnavailableError(absl::StrCat("dir:", path_, ": cannot read ", name));
  }
  in_.seekg(static_cast<std::streamoff>(offset_));
  return true;
}

absl::Status DirSource::Read(size_t max, int wait_ms, std::vector<Event>* out) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  size_t taken = 0;
  std::string text;
  while (taken < max) {
    if (!in_.is_open()) {
      auto opened = OpenNext();
      if (!opened.ok()) return opened.status();
      if (!*opened) {
        if (taken > 0 || std::chrono::steady_clock::now() >= deadline) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(kPollMs));
        continue;
      }
    }
    if (!std::getline(in_, text)) {
      in_.close();
      finished_ = current_;
      current_.clear();
      offset_ = 0;
      line_ = 0;
      continue;
    }
    // getline stops at '\n' or at the end of a finished file (a last line without newline).
    offset_ += text.size() + (in_.eof() ? 0 : 1);
    ++line_;
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (text.empty()) continue;
    out->push_back({"", std::move(text), "", absl::StrCat(current_, ":", line_)});
    ++taken;
  }
  return absl::OkStatus();
}

absl::Status StdinSource::Read(size_t max, int wait_ms, std::vector<Event>* out) {
  size_t taken = 0;
  auto take_lines = [&] {
    size_t start = 0;
    for (size_t nl; taken < max && (nl = buffer_.find('\n', start)) != std::string::npos;
         start = nl + 1) {
      std::string line = buffer_.substr(start, nl - start);
      ++lines_;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty()) continue;
      out->push_back({"", std::move(line), "", std::to_string(lines_)});
      ++taken;
    }
    buffer_.erase(0, start);
  };
  take_lines();
  if (taken > 0 || eof_) {
    if (eof_ && taken < max && !buffer_.empty()) {  // a last line without newline
      buffer_.push_back('\n');
      take_lines();
    }
    return absl::OkStatus();
  }
  pollfd p{STDIN_FILENO, POLLIN, 0};
  const int ready = poll(&p, 1, wait_ms);
  if (ready < 0 && errno != EINTR) {
    return absl::UnavailableError(absl::StrCat("standard input: ", std::strerror(errno)));
  }
  if (ready <= 0) return absl::OkStatus();
  char buf[1 << 16];
  const ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
  if (n < 0 && errno != EINTR && errno != EAGAIN) {
    return absl::UnavailableError(absl::StrCat("standard input: ", std::strerror(errno)));
  }
  if (n == 0) eof_ = true;
  if (n > 0) buffer_.append(buf, static_cast<size_t>(n));
  take_lines();
  if (eof_ && taken < max && !buffer_.empty()) {
    buffer_.push_back('\n');
    take_lines();
  }
  return absl::OkStatus();
}

std::string StdinSource::Position() const { return nlohmann::json{{"lines", lines_}}.dump(); }

}  // namespace parasol::stream
