#include "ps/checkpoint.h"

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status_macros.h"

namespace parasol {
namespace {

namespace fs = std::filesystem;

constexpr char kLatest[] = "LATEST";

}  // namespace

CheckpointCoordinator::CheckpointCoordinator(std::string root, ModelManifest manifest,
                                             GrpcTransport* transport, int full_every)
    : root_(std::move(root)),
      manifest_(std::move(manifest)),
      transport_(transport),
      full_every_(full_every < 1 ? 1 : full_every) {
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
                   transport_->WriteShards("weights", name, whole ? "" : previous_));
  info.id = next_id_++;
  info.previous = previous_;
  RETURN_IF_ERROR(WriteCheckpointManifest(dir.string(), manifest_, info));
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
  return dir.string();
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
