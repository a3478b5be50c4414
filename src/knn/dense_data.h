// Dense row-major vectors for nearest-neighbour search, read from libsvm or CSV files with
// Parasol's readers. Train and test are read together so that they share one column layout.
// A DenseMatrix is immutable once built and safe to share between threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "data/reader.h"
#include "data/schema.h"

namespace parasol::knn {

// Rows of `cols` floats, each padded with zeros to `stride` (a multiple of 8) so that vector
// kernels need no tail handling. Padding never changes an L2, L1 or cosine distance.
struct DenseMatrix {
  size_t rows = 0;
  size_t cols = 0;
  size_t stride = 0;
  std::vector<float> data;  // rows × stride

  const float* row(size_t i) const { return data.data() + i * stride; }
  float* mutable_row(size_t i) { return data.data() + i * stride; }
  // Zero-filled rows × cols matrix.
  static DenseMatrix Zeros(size_t rows, size_t cols);
};

// Examples as dense vectors and their labels (class ids or regression targets, as written).
struct DenseData {
  DenseMatrix features;
  std::vector<float> labels;
};

struct DenseReadOptions {
  DataFormat format = DataFormat::kLibsvm;  // libsvm or csv
  Schema schema;                            // csv: numeric columns and the label column
  int parse_threads = 0;
};

// The largest column count a dense matrix may have (a libsvm index beyond it is an error).
inline constexpr size_t kMaxDenseColumns = size_t{1} << 22;

// Reads `train_path` and `test_path` into *train and *test.
//
// libsvm: a feature `idx:val` goes to column idx − base, where base is 1 (libsvm indices start
// at 1) unless index 0 occurs in either file, then 0. The choice only drops a column that would
// be all zeros, so it never changes a distance. cols = max index − base + 1 over both files;
// features absent from a line are 0; a repeated index keeps its last value; libffm fields are
// ignored. Labels are the numbers as written.
// csv: the schema's `numeric` columns, in schema order, are the dimensions (`categorical`
// columns are ignored); the `label` column is read as a number. Every value must be a finite
// number; errors name file, line, column and value.
// Both files must hold at least one example.
absl::Status ReadDensePair(const std::string& train_path, const std::string& test_path,
                           const DenseReadOptions& options, DenseData* train, DenseData* test);

}  // namespace parasol::knn
