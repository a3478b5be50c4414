// Streaming reader of training data: text (libsvm, CSV with a schema, Criteo TSV; plain, gzip or
// zstd) or Parasol's binary cache, turned into ExampleBlocks in file order. Memory stays bounded
// by chunk size × queue depth, whatever the file size. Parsing can run on several threads while
// the caller consumes blocks (the reader thread feeds parser threads, output order is kept).
// A DataReader is used by one consumer thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "data/bad_lines.h"
#include "data/example.h"
#include "data/row_encoder.h"
#include "data/schema.h"

namespace parasol {

enum class DataFormat { kLibsvm, kCsv, kCriteo };

// "libsvm" | "csv" | "criteo" → format; InvalidArgument otherwise.
absl::StatusOr<DataFormat> ParseDataFormat(const std::string& name);
const char* DataFormatName(DataFormat format);

struct ReaderOptions {
  DataFormat format = DataFormat::kLibsvm;
  // Threads that parse text chunks; 0 parses on the consumer's thread (deterministic, simple).
  int parse_threads = 0;
  size_t chunk_bytes = 1 << 20;  // text handed to a parser at a time (whole lines)
  int64_t max_bad_lines = 0;
  int hash_bits = 0;  // libsvm keys only; CSV/Criteo keys are masked by the encoder
  // CSV/Criteo: builds the encoder from the column names (required for those formats).
  RowEncoderFactory encoder_factory;
  Schema schema;  // CSV only (Criteo uses CriteoSchema())
  // For prediction: input may come without labels, and such examples get label 0. libsvm: decided
  // per line, a line whose first token holds ':' has no label. CSV/Criteo: the label column may be
  // missing. With a header, the header decides and encoder_factory must accept names without the
  // label column (FeaturePipeline::EncoderFactory(/*label_optional=*/true)); without a header
  // (Criteo, `header: false`), a line with one column fewer than the schema names has no label
  // and is encoded by an encoder made for the schema's columns less the label.
  bool labels_optional = false;
  // libsvm only (other formats are rejected). raw_feature_ids: a feature's key is its integer
  // index as written (libffm: the index; the field is kept as usual), not a hash, for consumers
  // that need columns (dense vectors for KNN); hash_bits must be 0. raw_labels: the label is the
  // number as written, any finite float (class ids 0..9, regression targets), instead of 0/1.
  // Binary caches hold already parsed examples, so neither applies to them.
  bool raw_feature_ids = false;
  bool raw_labels = false;
};

class DataReader {
 public:
  virtual ~DataReader() = default;
  // Replaces *block with the next examples (at least one) in file order. Returns false at end of
  // input. Errors name file and line ("train.svm:17: bad feature '3:x': ...").
  virtual absl::StatusOr<bool> Next(ExampleBlock* block) = 0;
  // Lines read so far, and malformed lines skipped under max_bad_lines.
  virtual uint64_t lines_read() const = 0;
  // Share of the input consumed so far in [0, 1] (it runs ahead of Next() by the read-ahead),
  // or -1 when unknown. May be called from any thread, for progress reports.
  virtual double fraction_read() const = 0;
  virtual const BadLineTracker& bad_lines() const = 0;
};

// Opens `path`. A Parasol binary cache file (see cache.h) is recognised by content and read
// directly, whatever options.format says.
absl::StatusOr<std::unique_ptr<DataReader>> OpenDataReader(const std::string& path,
                                                           const ReaderOptions& options);

// libsvm line parsing, exposed for tests and for the model server's "idx:val ..." inputs.
// Accepts "label idx:val ..." and libffm's "label field:idx:val ..."; labels 0/1 or -1/+1
// (also 1.0, +1.0, ...). `has_label` false parses feature tokens only. Appends one example.
absl::Status ParseLibsvmLine(std::string_view line, bool has_label, int hash_bits,
                             ExampleBlock* out);

}  // namespace parasol
