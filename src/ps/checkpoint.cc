#include "ps/checkpoint.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "storage/checkpoint_dir.h"

namespace parasol {
namespace {

namespace fs = std::filesystem;

constexpr char kLatest[] = "LATEST";

}  // namespace

CheckpointCoordinator::CheckpointCoordinator(std::string root, ModelManifest manifest,
                                             PsTransport* transport, int full_every, int keep)
    : root_(std::move(root)),
      manifest_(std::move(manifest)),
      transport_(transport),
      full_every_(full_every < 1 ? 1 : full_every),
      keep_(keep) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root_, ec)) {
    int64_t id = 0;
    if (std::sscanf(entry.path().filename().c_str(), "ckpt-%ld", &id) == 1 && id >= next_id_) {
      next_id_ = id + 1;
    }
  }
}

absl::StatusOr<std::string> CheckpointCoordinator::Take() {
  const std::string name = CheckpointDirName(next_id_);
  const fs::path dir = fs::path(root_) / name;
  // Every full_every-th checkpoint starts a new chain: servers write whole shards.
  const bool whole = taken_ % full_every_ == 0;
  ASSIGN_OR_RETURN(CheckpointInfo info,
                   WriteShards(*transport_, "weights", name, whole ? "" : previous_));
  // Dense tables are written whole every time (every weight of a dense layer changes each step).
  ASSIGN_OR_RETURN(const std::vector<DenseTableInfo> dense, DenseTables(*transport_));
  for (const DenseTableInfo& d : dense) {
    ASSIGN_OR_RETURN(CheckpointInfo part, WriteShards(*transport_, d.name, name, ""));
    info.dense.push_back({d.name, d.size, d.state_per_weight, std::move(part.shards)});
  }
  info.id = next_id_++;
  info.previous = previous_;
  ModelManifest manifest = manifest_;
  manifest.feature_count = info.feature_count;
  RETURN_IF_ERROR(WriteCheckpointManifest(dir.string(), manifest, info));
  // LATEST moves only after the manifest made the checkpoint whole.
  const fs::path latest = fs::path(root_) / kLatest, tmp = latest.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << name << "\n";
    if (!out.flush()) return absl::UnavailableError(absl::StrCat("cannot write ", tmp.string()));
  }
  std::error_code ec;
  fs::rename(tmp, latest, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot rename to ", latest.string(), ": ", ec.message()));
  }
  previous_ = name;
  ++taken_;
  if (keep_ > 0) RETURN_IF_ERROR(PruneCheckpoints(root_, keep_).status());
  return dir.string();
}

absl::StatusOr<int> PruneCheckpoints(const std::string& root, int keep) {
  // Checkpoint directories by id, and which of them are whole (have a manifest).
  std::map<int64_t, std::string> all;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    int64_t id = 0;
    const std::string name = entry.path().filename().string();
    if (entry.is_directory() && std::sscanf(name.c_str(), "ckpt-%ld", &id) == 1 &&
        name == CheckpointDirName(id)) {
      all[id] = name;
    }
  }
  if (ec) return absl::UnavailableError(absl::StrCat("cannot list ", root, ": ", ec.message()));
  std::set<std::string> needed;
  int64_t newest_whole = -1;
  int kept = 0;
  for (auto it = all.rbegin(); it != all.rend() && kept < keep; ++it) {
    auto info = ReadCheckpointInfo((fs::path(root) / it->second).string());
    if (!info.ok()) continue;  // torn (or not ours): never a base
    if (newest_whole < 0) newest_whole = it->first;
    ++kept;
    // Follow the chain back while some shard of the checkpoint is a delta.
    std::string name = it->second;
    absl::StatusOr<CheckpointInfo> link = std::move(info);
    while (needed.insert(name).second) {
      if (!link.ok()) {
        return absl::DataLossError(
            absl::StrCat("checkpoint ", it->second, " builds on ", name,
                         ", which is unreadable: ", link.status().message()));
      }
      const bool has_delta = std::any_of(link->shards.begin(), link->shards.end(),
                                         [](const TableFile& f) { return f.delta; });
      if (!has_delta || link->previous.empty()) break;
      name = link->previous;
      link = ReadCheckpointInfo((fs::path(root) / name).string());
    }
  }
  if (newest_whole < 0) return 0;  // nothing whole yet: delete nothing
  int deleted = 0;
  for (const auto& [id, name] : all) {
    if (id >= newest_whole || needed.count(name)) continue;
    fs::remove_all(fs::path(root) / name, ec);
    if (ec) {
      return absl::UnavailableError(
          absl::StrCat("cannot delete checkpoint ", root, "/", name, ": ", ec.message()));
    }
    ++deleted;
  }
  return deleted;
}

absl::StatusOr<std::string> LatestCheckpoint(const std::string& root) {
  std::ifstream in(fs::path(root) / kLatest);
  std::string name;
  if (!in || !std::getline(in, name) || name.empty()) {
    return absl::NotFoundError(absl::StrCat("no checkpoint under ", root));
  }
  if (name.find('/') != std::string::npos || name == "." || name == "..") {
    return absl::DataLossError(
        absl::StrCat(root, "/", kLatest, ": '", name, "' is not a checkpoint name"));
  }
  const fs::path dir = fs::path(root) / name;
  if (!fs::exists(dir / "manifest.json")) {
    return absl::DataLossError(
        absl::StrCat(root, "/", kLatest, " names ", name, ", which has no manifest.json"));
  }
  return dir.string();
}

}  // namespace parasol
