// The seam between readers of delimited text (CSV, Criteo TSV) and feature transforms: a reader
// splits a line into columns and hands them to a RowEncoder, which appends one example. The
// transform component implements it (transform/feature_pipeline.h); tests may use fakes.
// Implementations must be safe to call from several threads at once (Encode is const).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "data/example.h"

namespace parasol {

class RowEncoder {
 public:
  virtual ~RowEncoder() = default;

  // `columns` holds one value per column, in the order of the column names the encoder was built
  // for. On success appends exactly one finished example (label included) to *out. On a bad value
  // returns InvalidArgument whose message names the column and the value, and appends nothing.
  virtual absl::Status Encode(absl::Span<const std::string_view> columns,
                              ExampleBlock* out) const = 0;
};

// Builds the encoder once a reader knows the column names (from a header line or the schema).
using RowEncoderFactory = std::function<absl::StatusOr<std::unique_ptr<RowEncoder>>(
    const std::vector<std::string>& column_names)>;

}  // namespace parasol
