// Turns stream events into examples: one line in the stream's --format (libsvm/libffm, CSV with
// a schema, Criteo TSV) per event, parsed by the same line parsers as files (data/), with the
// same transforms (InputSpec). A stream has no header line, so CSV needs the schema's `columns:`
// list. With a label join the lines carry features only and the label comes from the joiner.
// Not thread-safe (scratch buffers); one per thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "data/example.h"
#include "data/line_parsers.h"
#include "predict/input_spec.h"

namespace parasol::stream {

class EventParser {
 public:
  // `features_only`: lines carry no label (a label join); otherwise each line must have one.
  // `columns` (CSV/Criteo): the names of a line's columns; empty: the input schema's `columns:`.
  static absl::StatusOr<std::unique_ptr<EventParser>> Create(
      const InputSpec& input, bool features_only, const std::vector<std::string>& columns = {});

  // Appends the example of `line` to *out with `label` when features_only (else the line's own),
  // or fills *error and appends nothing.
  bool Parse(const std::string& line, float label, ExampleBlock* out, LineError* error);

 private:
  EventParser() = default;
  DataFormat format_ = DataFormat::kLibsvm;
  LibsvmOptions libsvm_;
  bool features_only_ = false;
  size_t columns_ = 0;
  std::unique_ptr<RowEncoder> encoder_, unlabelled_;
  std::unique_ptr<DelimitedSplitter> splitter_;
};

// Malformed events, counted by kind under the --max-bad-lines policy: up to `max` are skipped
// (the first few of each kind logged with where they came from), one more stops the stream with
// an error naming it. Not thread-safe.
class BadEvents {
 public:
  explicit BadEvents(int64_t max) : max_(max) {}
  // OK when the event may be skipped; InvalidArgument "WHERE: message" past the limit.
  absl::Status Report(const std::string& where, const LineError& error);
  int64_t total() const { return total_; }
  const std::map<std::string, int64_t>& by_kind() const { return by_kind_; }
  // Restores counts from a checkpoint.
  void Restore(int64_t total, std::map<std::string, int64_t> by_kind) {
    total_ = total;
    by_kind_ = std::move(by_kind);
  }

 private:
  static constexpr int kLoggedPerKind = 5;
  const int64_t max_;
  int64_t total_ = 0;
  std::map<std::string, int64_t> by_kind_;
};

}  // namespace parasol::stream
