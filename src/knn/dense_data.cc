// Reading libsvm / CSV files into DenseMatrix: raw feature ids and labels from the data readers
// for libsvm; a RowEncoder that keeps the schema's numeric columns for CSV.
#include "knn/dense_data.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <memory>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "data/example.h"

namespace parasol::knn {

DenseMatrix DenseMatrix::Zeros(size_t rows, size_t cols) {
  DenseMatrix m;
  m.rows = rows;
  m.cols = cols;
  m.stride = std::max<size_t>(8, (cols + 7) / 8 * 8);
  m.data.assign(rows * m.stride, 0.0f);
  return m;
}

namespace {

bool ParseNumber(std::string_view text, float* out) {
  const char* b = text.data();
  const char* e = b + text.size();
  while (b < e && (*b == ' ' || *b == '\t')) ++b;
  while (e > b && (e[-1] == ' ' || e[-1] == '\t')) --e;
  if (b < e && *b == '+') ++b;
  if (b == e) return false;
  auto r = std::from_chars(b, e, *out);
  return r.ec == std::errc() && r.ptr == e && std::isfinite(*out);
}

// CSV columns → one example: key j = the j-th numeric column of the schema, label = the label
// column's number.
class DenseCsvEncoder : public RowEncoder {
 public:
  DenseCsvEncoder(std::vector<size_t> numeric, std::vector<std::string> names, size_t label)
      : numeric_(std::move(numeric)), names_(std::move(names)), label_(label) {}

  absl::Status Encode(absl::Span<const std::string_view> columns,
                      ExampleBlock* out) const override {
    float label;
    if (!ParseNumber(columns[label_], &label)) return BadValue(label_, columns[label_]);
    for (size_t j = 0; j < numeric_.size(); ++j) {
      float v;
      if (!ParseNumber(columns[numeric_[j]], &v)) {
        out->AbandonExample();
        return BadValue(numeric_[j], columns[numeric_[j]]);
      }
      out->AddFeature(j, 0, v);
    }
    out->FinishExample(label);
    return absl::OkStatus();
  }

 private:
  absl::Status BadValue(size_t column, std::string_view value) const {
    return absl::InvalidArgumentError(absl::StrCat("column '", names_[column], "' value '",
                                                   std::string(value.substr(0, 64)),
                                                   "': expected a finite number"));
  }

  std::vector<size_t> numeric_;  // column positions, in schema order
  std::vector<std::string> names_;
  size_t label_;
};

RowEncoderFactory DenseCsvEncoderFactory(const Schema& schema) {
  return [schema](
             const std::vector<std::string>& names) -> absl::StatusOr<std::unique_ptr<RowEncoder>> {
    auto find = [&](const std::string& want) -> absl::StatusOr<size_t> {
      auto it = std::find(names.begin(), names.end(), want);
      if (it == names.end()) {
        return absl::InvalidArgumentError(
            absl::StrCat("column '", want, "' named in the schema is not among the columns"));
      }
      return static_cast<size_t>(it - names.begin());
    };
    if (schema.numeric.empty()) {
      return absl::InvalidArgumentError("the schema lists no numeric columns to use as dimensions");
    }
    std::vector<size_t> numeric;
    for (const std::string& name : schema.numeric) {
      ASSIGN_OR_RETURN(const size_t at, find(name));
      numeric.push_back(at);
    }
    ASSIGN_OR_RETURN(const size_t label, find(schema.label));
    return std::make_unique<DenseCsvEncoder>(std::move(numeric), names, label);
  };
}

absl::Status ReadAll(const std::string& path, const ReaderOptions& options, ExampleBlock* all) {
  ASSIGN_OR_RETURN(std::unique_ptr<DataReader> reader, OpenDataReader(path, options));
  ExampleBlock block;
  while (true) {
    ASSIGN_OR_RETURN(const bool more, reader->Next(&block));
    if (!more) break;
    all->Append(block);
  }
  if (all->empty()) return absl::InvalidArgumentError(absl::StrCat(path, ": no examples"));
  return absl::OkStatus();
}

// Largest key in `block`; an error naming `path` when it cannot be a column.
absl::StatusOr<uint64_t> MaxKey(const std::string& path, const ExampleBlock& block,
                                bool* has_zero) {
  uint64_t max_key = 0;
  for (uint64_t key : block.keys()) {
    max_key = std::max(max_key, key);
    *has_zero |= key == 0;
  }
  if (max_key >= kMaxDenseColumns) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": feature index ", max_key,
                                                   " is too large for dense vectors (at most ",
                                                   kMaxDenseColumns - 1, ")"));
  }
  return max_key;
}

DenseData ToDense(const ExampleBlock& block, uint64_t base, size_t cols) {
  DenseData out;
  out.features = DenseMatrix::Zeros(block.size(), cols);
  out.labels = block.labels();
  for (size_t i = 0; i < block.size(); ++i) {
    const ExampleView ex = block.example(i);
    float* row = out.features.mutable_row(i);
    for (uint32_t j = 0; j < ex.size; ++j) row[ex.keys[j] - base] = ex.values[j];
  }
  return out;
}

}  // namespace

absl::Status ReadDensePair(const std::string& train_path, const std::string& test_path,
                           const DenseReadOptions& options, DenseData* train, DenseData* test) {
  ReaderOptions reader;
  reader.format = options.format;
  reader.parse_threads = options.parse_threads;
  if (options.format == DataFormat::kLibsvm) {
    reader.raw_feature_ids = true;
    reader.raw_labels = true;
  } else if (options.format == DataFormat::kCsv) {
    reader.schema = options.schema;
    reader.encoder_factory = DenseCsvEncoderFactory(options.schema);
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("KNN reads libsvm or csv input, not ", DataFormatName(options.format)));
  }
  ExampleBlock train_block, test_block;
  RETURN_IF_ERROR(ReadAll(train_path, reader, &train_block));
  RETURN_IF_ERROR(ReadAll(test_path, reader, &test_block));
  uint64_t base = 0;
  size_t cols = options.schema.numeric.size();
  if (options.format == DataFormat::kLibsvm) {
    bool has_zero = false;
    ASSIGN_OR_RETURN(const uint64_t max_train, MaxKey(train_path, train_block, &has_zero));
    ASSIGN_OR_RETURN(const uint64_t max_test, MaxKey(test_path, test_block, &has_zero));
    base = has_zero ? 0 : 1;
    cols = static_cast<size_t>(std::max<uint64_t>(std::max(max_train, max_test) + 1 - base, 1));
  }
  *train = ToDense(train_block, base, cols);
  *test = ToDense(test_block, base, cols);
  return absl::OkStatus();
}

}  // namespace parasol::knn
