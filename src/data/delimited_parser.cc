// Splitting of CSV (RFC 4180 quoting) and Criteo TSV lines into columns, and their hand-off to a
// RowEncoder.
#include <cstring>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "data/line_parsers.h"

namespace parasol {

bool DelimitedSplitter::Split(std::string_view line, LineError* error) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  columns_.clear();
  const char* p = line.data();
  const char* end = p + line.size();
  if (!quoting_ || std::memchr(p, '"', line.size()) == nullptr) {
    // Fast path: no quotes, split at every delimiter.
    while (true) {
      const void* d = std::memchr(p, delimiter_, static_cast<size_t>(end - p));
      if (d == nullptr) {
        columns_.emplace_back(p, static_cast<size_t>(end - p));
        return true;
      }
      const char* dp = static_cast<const char*>(d);
      columns_.emplace_back(p, static_cast<size_t>(dp - p));
      p = dp + 1;
    }
  }
  // Unquoted text is never longer than the line, so reserving the line's size up front keeps
  // views into scratch_ valid while it grows.
  scratch_.clear();
  scratch_.reserve(line.size());
  while (true) {
    if (p < end && *p == '"') {
      const char* q = p + 1;
      const size_t scratch_begin = scratch_.size();
      bool escaped = false;
      const char* closing = nullptr;
      while (q < end) {
        const void* found = std::memchr(q, '"', static_cast<size_t>(end - q));
        if (found == nullptr) break;
        const char* quote = static_cast<const char*>(found);
        if (quote + 1 < end && quote[1] == '"') {  // "" is an escaped quote
          scratch_.append(q, static_cast<size_t>(quote + 1 - q));
          escaped = true;
          q = quote + 2;
          continue;
        }
        closing = quote;
        break;
      }
      if (closing == nullptr) {
        error->kind = "bad quoting";
        error->message = absl::StrCat("bad quoting in column ", columns_.size() + 1,
                                      ": unterminated quoted field (quoted fields cannot span "
                                      "lines)");
        return false;
      }
      if (escaped) {
        scratch_.append(q, static_cast<size_t>(closing - q));
        columns_.emplace_back(scratch_.data() + scratch_begin, scratch_.size() - scratch_begin);
      } else {
        columns_.emplace_back(p + 1, static_cast<size_t>(closing - p - 1));
      }
      p = closing + 1;
      if (p == end) return true;
      if (*p != delimiter_) {
        error->kind = "bad quoting";
        error->message = absl::StrCat("bad quoting in column ", columns_.size(), ": unexpected '",
                                      std::string(p, 1), "' after a closing quote");
        return false;
      }
      ++p;
      continue;
    }
    // An unquoted field; a quote inside it is taken literally.
    const void* d = std::memchr(p, delimiter_, static_cast<size_t>(end - p));
    if (d == nullptr) {
      columns_.emplace_back(p, static_cast<size_t>(end - p));
      return true;
    }
    const char* dp = static_cast<const char*>(d);
    columns_.emplace_back(p, static_cast<size_t>(dp - p));
    p = dp + 1;
  }
}

bool ParseDelimited(std::string_view line, size_t expected_columns, const RowEncoder& encoder,
                    const RowEncoder* unlabelled, DelimitedSplitter* splitter, ExampleBlock* out,
                    LineError* error) {
  if (!splitter->Split(line, error)) return false;
  const absl::Span<const std::string_view> columns = splitter->columns();
  const RowEncoder* use = &encoder;
  if (columns.size() != expected_columns) {
    if (unlabelled != nullptr && columns.size() + 1 == expected_columns) {
      use = unlabelled;
    } else {
      error->kind = "wrong column count";
      error->message = absl::StrCat(
          "wrong column count: expected ", expected_columns,
          unlabelled != nullptr ? absl::StrCat(" (or ", expected_columns - 1, " without the label)")
                                : "",
          ", got ", columns.size());
      return false;
    }
  }
  absl::Status status = use->Encode(columns, out);
  if (!status.ok()) {
    out->AbandonExample();  // the contract says nothing was appended; make sure of it
    error->kind = "bad value";
    error->message = std::string(status.message());
    return false;
  }
  return true;
}

}  // namespace parasol
