// Internal to the data component: the per-line parsers used by the reader's chunk parsing (and,
// for libsvm, by the public ParseLibsvmLine). Functions are thread-safe; a DelimitedSplitter
// holds scratch memory and is used by one thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "absl/types/span.h"
#include "data/example.h"
#include "data/row_encoder.h"

namespace parasol {

// Why a line was rejected. `kind` is a short category counted by BadLineTracker ("bad label",
// "bad feature", "bad quoting", "wrong column count", "bad value"); `message` starts with the
// kind or names the offending token/column ("bad feature '3:x': value is not a number").
struct LineError {
  std::string kind;
  std::string message;
};

// Whether a libsvm line starts with a label.
enum class LibsvmLabel {
  kRequired,  // the first token is the label
  kOptional,  // a first token holding ':' is a feature and the line has label 0 (prediction)
  kAbsent,    // every token is a feature; label 0
};

// How a libsvm line becomes an example (see ReaderOptions in reader.h).
struct LibsvmOptions {
  LibsvmLabel label_mode = LibsvmLabel::kRequired;
  int hash_bits = 0;             // ignored with raw_feature_ids
  bool raw_feature_ids = false;  // key = the index itself, no hashing or masking
  bool raw_labels = false;       // label = the number as written (any finite float)
};

// Parses one libsvm/libffm line (see ParseLibsvmLine in reader.h). On success appends one
// finished example and returns true; otherwise fills *error, appends nothing and returns false.
bool ParseLibsvm(std::string_view line, const LibsvmOptions& options, ExampleBlock* out,
                 LineError* error);

// True when a libsvm line holds nothing but whitespace and/or a '#' comment.
bool IsBlankLibsvmLine(std::string_view line);

// Splits delimited lines into columns. With `quoting` (CSV) fields may be RFC 4180 quoted:
// "a,b" holds a delimiter, "say ""hi""" a quote; a quoted field cannot span lines.
class DelimitedSplitter {
 public:
  DelimitedSplitter(char delimiter, bool quoting) : delimiter_(delimiter), quoting_(quoting) {}

  // Splits `line` (without its '\n'; a trailing '\r' is dropped). On success columns() holds the
  // fields, viewing `line` or this object's scratch: valid until the next Split() and while
  // `line` lives. On malformed quoting fills *error ("bad quoting") and returns false.
  bool Split(std::string_view line, LineError* error);
  absl::Span<const std::string_view> columns() const { return columns_; }

 private:
  const char delimiter_;
  const bool quoting_;
  std::vector<std::string_view> columns_;
  std::string scratch_;
};

// Splits `line`, checks that it has `expected_columns` fields and encodes it with `encoder`.
// When `unlabelled` is not null, a line with one field fewer (no label column) is encoded with it
// instead. On success the encoder appended at most one example (statistics encoders append none)
// and true is returned; otherwise *error says why ("wrong column count", "bad value", "bad
// quoting") and nothing was appended.
bool ParseDelimited(std::string_view line, size_t expected_columns, const RowEncoder& encoder,
                    const RowEncoder* unlabelled, DelimitedSplitter* splitter, ExampleBlock* out,
                    LineError* error);

}  // namespace parasol
