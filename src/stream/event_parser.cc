#include "stream/event_parser.h"

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "data/schema.h"

namespace parasol::stream {

absl::StatusOr<std::unique_ptr<EventParser>> EventParser::Create(
    const InputSpec& input, bool features_only, const std::vector<std::string>& columns) {
  auto parser = std::unique_ptr<EventParser>(new EventParser());
  parser->format_ = input.format;
  parser->features_only_ = features_only;
  if (input.format == DataFormat::kLibsvm) {
    parser->libsvm_.label_mode = features_only ? LibsvmLabel::kAbsent : LibsvmLabel::kRequired;
    parser->libsvm_.hash_bits = input.hash_bits;
    return parser;
  }
  const ReaderOptions options = input.MakeReaderOptions(0, 0);
  Schema schema = input.format == DataFormat::kCriteo ? CriteoSchema() : options.schema;
  if (!columns.empty()) schema.columns = columns;
  if (schema.columns.empty()) {
    return absl::InvalidArgumentError(
        "a stream has no header line: list the columns in the schema (columns: [a, b, ...], "
        "header: false)");
  }
  parser->columns_ = schema.columns.size();
  parser->splitter_ =
      std::make_unique<DelimitedSplitter>(schema.delimiter, input.format == DataFormat::kCsv);
  RowEncoderFactory factory = features_only
                                  ? input.pipeline->EncoderFactory(/*label_optional=*/true)
                                  : options.encoder_factory;
  ASSIGN_OR_RETURN(parser->encoder_, factory(schema.columns));
  if (features_only) {
    std::vector<std::string> names;
    for (const std::string& name : schema.columns) {
      if (name != schema.label) names.push_back(name);
    }
    ASSIGN_OR_RETURN(parser->unlabelled_, factory(names));
  }
  return parser;
}

bool EventParser::Parse(const std::string& line, float label, ExampleBlock* out, LineError* error) {
  const size_t before = out->size();
  bool ok;
  if (format_ == DataFormat::kLibsvm) {
    ok = ParseLibsvm(line, libsvm_, out, error);
  } else {
    ok = ParseDelimited(line, columns_, *encoder_, unlabelled_.get(), splitter_.get(), out, error);
  }
  if (!ok) return false;
  if (out->size() == before) {
    *error = {"empty event", "empty event: no example in the line"};
    return false;
  }
  if (features_only_) (*out->mutable_labels())[before] = label;
  return true;
}

absl::Status BadEvents::Report(const std::string& where, const LineError& error) {
  if (total_ >= max_) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, ": ", error.message,
        max_ == 0 ? " (--max-bad-lines N skips up to N malformed events)"
                  : absl::StrCat(" (more than --max-bad-lines = ", max_, " malformed events)")));
  }
  ++total_;
  if (++by_kind_[error.kind] <= kLoggedPerKind) {
    log::Warn("{}: skipped: {}", where, error.message);
  }
  return absl::OkStatus();
}

}  // namespace parasol::stream
