// Checkpoints of a running distributed job. The coordinator (the `parasol cluster` launcher, or
// any client) asks every server to write its shard into ROOT/ckpt-NNNNNN/, then writes that
// directory's manifest.json — only then is the checkpoint whole — and finally ROOT/LATEST naming
// it. A crash at any point leaves the previous checkpoint as the latest whole one. A checkpoint
// directory is a model directory (docs/model-format.md): `parasol predict`, `eval` and the model
// server load it, and `parasol ps server --restore` loads it onto any number of servers.
// Thread-compatible.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "ps/transport.h"
#include "storage/manifest.h"

namespace parasol {

class CheckpointCoordinator {
 public:
  // `manifest` describes the model (spec, optimizer, input); `transport` reaches the servers.
  // Checkpoint ids continue after the newest one already under `root`. Every `full_every`-th
  // checkpoint is whole on every server, bounding delta chains. With `keep` > 0, each Take
  // then deletes what PruneCheckpoints(root, keep) would.
  CheckpointCoordinator(std::string root, ModelManifest manifest, PsTransport* transport,
                        int full_every = 10, int keep = 0);

  // Takes one checkpoint; returns its directory.
  absl::StatusOr<std::string> Take();

  int64_t taken() const { return taken_; }

 private:
  std::string root_;
  ModelManifest manifest_;
  PsTransport* transport_;
  int full_every_;
  int keep_;
  int64_t next_id_ = 1;
  std::string previous_;  // last whole checkpoint written by this coordinator
  int64_t taken_ = 0;
};

// Deletes the checkpoints under `root` that are not needed to load its newest `keep` whole ones
// (a delta needs the checkpoints its chain goes back through), and torn ones (no manifest)
// older than the newest whole one. Returns how many directories were deleted.
absl::StatusOr<int> PruneCheckpoints(const std::string& root, int keep);

// The newest whole checkpoint under `root` (as ROOT/LATEST names it); NotFound when none.
absl::StatusOr<std::string> LatestCheckpoint(const std::string& root);

}  // namespace parasol
