// Writes one server's shard of a table as a checkpoint table file (docs/model-format.md
// #checkpoints) from the table's checkpoint iteration: the tables hold rows, this file owns the
// format. Re-entrant; a table's own locking makes concurrent pushes safe while it writes.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "ps/dense_table.h"
#include "ps/server_table.h"
#include "storage/table_file.h"

namespace parasol {

// Checkpoint `name` of `table` to `path`: a delta over `previous` where the table allows it
// (ServerTable::ForEachCheckpointRow; `delta` in the result says which), otherwise whole.
absl::StatusOr<TableFile> WriteTableShard(ServerTable& table, const std::string& path,
                                          const std::string& name, const std::string& previous);

// The held range of `table` to `path`, always whole: one row per global index, its weight
// followed by its optimizer state.
absl::StatusOr<TableFile> WriteDenseShard(const DenseTable& table, const std::string& path);

}  // namespace parasol
