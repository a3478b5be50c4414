// Internal to storage/ (other components include manifest.h, model_dir.h, checkpoint_dir.h):
// manifest.json's fields as JSON. manifest.cc is the one place they are read and written, so a
// change to the manifest schema or to how its fields are read happens there alone.
// Thread-compatible, like the files it reads and writes.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "model/model.h"
#include "storage/checkpoint_dir.h"
#include "storage/manifest.h"
#include "storage/table_file.h"

namespace parasol {

// A manifest read and checked (everything but the table files themselves).
struct ParsedManifest {
  std::string where;  // DIR/manifest.json, for messages
  ModelManifest mf;
  int dim = 0, state_dim = 0;  // of the sparse table, tables[0]
  bool sharded = false;        // tables[0] lists shards (a checkpoint) rather than one file
  TableFile table;             // tables[0]'s one file, when not sharded
  std::optional<CheckpointInfo> checkpoint;  // the checkpoint section with its shard files
  std::vector<DenseTableCheckpoint> dense;   // tables[1..]: a checkpoint's or a deep model's
};

// Reads and checks DIR/manifest.json: everything ReadModelManifest describes.
absl::StatusOr<ParsedManifest> ReadManifest(const std::string& dir);

// The checkpoint section; NotFound when the manifest has none.
absl::StatusOr<CheckpointInfo> ParseCheckpoint(const ParsedManifest& p);

// The width of one row's weights for `spec` (Model::dim()).
absl::StatusOr<int> ModelDim(const ModelSpec& spec);

// Writes DIR/manifest.json atomically for a plain model directory whose sparse table file
// (rows of dim weights and state_dim state floats) is `table`, and whose dense tables (a deep
// model's layers) are `dense`.
absl::Status WriteModelManifest(const std::string& dir, const ModelManifest& manifest, int dim,
                                int state_dim, const TableFile& table,
                                const std::vector<DenseTableCheckpoint>& dense = {});

// Writes DIR/manifest.json atomically for a checkpoint: its sparse shards (rows of dim weights
// and state_dim state floats), its dense tables and its checkpoint section.
absl::Status WriteShardedManifest(const std::string& dir, const ModelManifest& manifest, int dim,
                                  int state_dim, const CheckpointInfo& checkpoint);

}  // namespace parasol
