#include "ps/shard_writer.h"

#include <utility>
#include <vector>

#include "common/status_macros.h"

namespace parasol {

absl::StatusOr<TableFile> WriteTableShard(ServerTable& table, const std::string& path,
                                          const std::string& name, const std::string& previous) {
  const int row_floats = table.row_floats();
  std::vector<uint64_t> keys;
  std::vector<float> rows;  // the one copy of the shard, taken under the table's stripe locks
  const bool delta =
      table.ForEachCheckpointRow(name, previous, [&](uint64_t key, const float* row) {
        keys.push_back(key);
        rows.insert(rows.end(), row, row + row_floats);
      });
  std::vector<std::pair<uint64_t, const float*>> sorted(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) sorted[i] = {keys[i], rows.data() + i * row_floats};
  ASSIGN_OR_RETURN(TableFile file,
                   WriteTableFile(path, sorted, table.dim(), row_floats - table.dim(),
                                  /*finalize=*/nullptr, /*steps=*/0));
  file.delta = delta;
  return file;
}

absl::StatusOr<TableFile> WriteDenseShard(const DenseTable& table, const std::string& path) {
  const int s = table.state_per_weight();
  const std::vector<float> rows = table.CheckpointRows();
  const IndexRange range = table.range();
  std::vector<std::pair<uint64_t, const float*>> sorted(range.size());
  for (uint64_t i = 0; i < range.size(); ++i) {
    sorted[i] = {range.begin + i, rows.data() + i * (1 + s)};
  }
  return WriteTableFile(path, sorted, /*dim=*/1, s, /*finalize=*/nullptr, /*steps=*/0);
}

}  // namespace parasol
