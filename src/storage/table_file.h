// One table file's binary format (the weights.bin layout of docs/model-format.md): a header,
// the keys, the weights, the optimizer state, and an XXH3 checksum of all of it. Used for a
// model's table, each checkpoint shard and each dense-table shard. Functions here are
// thread-compatible: do not write and read the same file concurrently.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "model/sparse_table.h"
#include "optim/optimizer.h"

namespace parasol {

// One table file as a manifest lists it.
struct TableFile {
  std::string file;  // plain file name inside the model directory
  uint64_t rows = 0;
  uint64_t checksum = 0;
  bool delta = false;  // checkpoint shards: only the rows changed since the previous checkpoint
};

// A checksum as manifests record it and messages print it: 16 lowercase hex digits.
std::string ChecksumHex(uint64_t checksum);

// Writes `rows` (key → dim weights followed by state_dim optimizer state floats, sorted by key)
// to `path` atomically (a temporary file renamed into place). With `finalize`, weights are
// exported through it (the averaged perceptron) given `steps`; otherwise copied.
absl::StatusOr<TableFile> WriteTableFile(const std::string& path,
                                         absl::Span<const std::pair<uint64_t, const float*>> rows,
                                         int dim, int state_dim, const Optimizer* finalize,
                                         uint64_t steps);

// Reads the table file at `path`, which its manifest says holds `rows` rows of dim weights and
// state_dim state floats with `checksum`, into `table` (rows of dim floats, then state_dim more
// when `with_state`); Put replaces rows already there. With `keep`, only the rows whose key it
// accepts are stored. NotFound when the file cannot be read; DataLoss naming `path` when it is
// truncated, corrupt or does not match the manifest.
absl::Status ReadTableFile(const std::string& path, int dim, int state_dim, uint64_t rows,
                           uint64_t checksum, bool with_state, SparseTable* table,
                           const std::function<bool(uint64_t)>& keep = nullptr);

}  // namespace parasol
