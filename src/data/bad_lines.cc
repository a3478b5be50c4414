#include "data/bad_lines.h"

#include "absl/strings/str_cat.h"

namespace parasol {

absl::Status BadLineTracker::Report(const std::string& file, uint64_t line, const std::string& kind,
                                    const std::string& message) {
  std::lock_guard<std::mutex> lock(mu_);
  if (total_ >= max_bad_lines_) {
    // Only skipped lines are counted, so total() and Summary() describe what was dropped.
    if (max_bad_lines_ == 0) {
      return absl::InvalidArgumentError(absl::StrCat(file, ":", line, ": ", message));
    }
    return absl::InvalidArgumentError(absl::StrCat(file, ":", line, ": ", message,
                                                   " (more than max_bad_lines = ", max_bad_lines_,
                                                   " bad lines)"));
  }
  ++total_;
  ++by_kind_[kind];
  return absl::OkStatus();
}

int64_t BadLineTracker::total() const {
  std::lock_guard<std::mutex> lock(mu_);
  return total_;
}

std::map<std::string, int64_t> BadLineTracker::by_kind() const {
  std::lock_guard<std::mutex> lock(mu_);
  return by_kind_;
}

std::string BadLineTracker::Summary() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (total_ == 0) return "";
  std::string out = absl::StrCat("skipped ", total_, total_ == 1 ? " bad line (" : " bad lines (");
  bool first = true;
  for (const auto& [kind, count] : by_kind_) {
    absl::StrAppend(&out, first ? "" : ", ", kind, ": ", count);
    first = false;
  }
  out += ")";
  return out;
}

}  // namespace parasol
