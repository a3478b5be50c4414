// `parasol stream` as a library call: reads events from a source, parses them, learns them with
// progressive validation, checkpoints the model with the source positions every so often, and on
// a stop writes the output directory as a model directory. One thread reads, parses and learns
// (deep models add DeepLearner's team); the caller's stop flag ends it.
//
// Output directory OUT:
//   OUT/manifest.json, weights.bin[, dense.bin]  the model, written at the end (a model
//                                               directory: `parasol predict --model OUT`)
//   OUT/checkpoint/                              the newest checkpoint: a model directory with
//                                               optimizer state, plus stream.json (positions,
//                                               counts, join state); replaced whole by rename
//   OUT/progress                                 examples learned so far, rewritten after every
//                                               batch: what a restart compares with its checkpoint
//   OUT/metrics.jsonl                            progressive-validation lines (also appended to
//                                               $PARASOL_METRICS_FILE), see StreamMetricsLine
// A restart with the same OUT resumes from OUT/checkpoint: the model and the positions stored
// with it. Redis entries are acknowledged only after the checkpoint that holds them is in place,
// so a kill -9 loses nothing acknowledged; the entries read after the checkpoint are read and
// learned again (counted as `replayed`).
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "train/train_config.h"

namespace parasol::stream {

struct StreamOptions {
  TrainConfig train;           // out_dir, format, model, optimizer, batch size, max_bad_lines
  std::string source;          // redis://HOST:PORT/STREAM[?group=G], dir:PATH or -
  std::string labels;          // label stream (redis://...); empty: lines carry their labels
  double join_window_s = 600;  // with labels: how long an impression waits for its label
  double checkpoint_every_s = 60;
  size_t window = 10000;       // examples in the progressive-validation window
  size_t read_batch = 1000;    // events per read
  double metrics_every_s = 5;  // a metrics line at least this often while learning
  std::string report_path;     // $PARASOL_METRICS_FILE, or ""
};

struct StreamCounts {
  uint64_t events = 0;    // events read (source and label stream)
  uint64_t examples = 0;  // examples learned (over all runs of this OUT)
  uint64_t replayed = 0;  // events read again after a restart (learned twice), this run
  // Examples the previous run learned after its last checkpoint (from OUT/progress, updated
  // after every learned batch): a replaying source (Redis, dir) learns them again; standard
  // input cannot give them again, so the model lost them.
  uint64_t after_checkpoint = 0;
  uint64_t checkpoints = 0;
  int64_t bad_events = 0;
  std::map<std::string, int64_t> bad_by_kind;
  // Label join (zero without --labels).
  uint64_t joined = 0, negatives = 0, late = 0, orphan_labels = 0, evicted = 0;
  double auc = 0, logloss = 0;  // progressive, over the last window
};

// The progressive-validation line written to the metrics log:
// {"event": "stream", "step": EXAMPLES, "examples_per_sec": R, "progressive_auc": A,
//  "progressive_logloss": L, "bad_events": B, ... join counts, "time": T}
std::string StreamMetricsLine(const StreamCounts& counts, double examples_per_sec);

// Runs until `stop` becomes true (then checkpoints, writes the model and returns OK) or the
// source ends (standard input at EOF: the same). Errors: a bad source spec or config, an
// unreadable checkpoint, more malformed events than max_bad_lines, a checkpoint that cannot be
// written.
absl::StatusOr<StreamCounts> RunStream(const StreamOptions& options, const std::atomic<bool>& stop);

}  // namespace parasol::stream
