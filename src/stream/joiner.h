// The label join (Monolith's joiner): impressions (request id + features) wait for their label
// for a window; a label that finds its impression makes an example (joined); an impression whose
// window closes unlabelled becomes a negative; a label for an impression whose window closed is
// late and dropped; a label for an id never seen (or forgotten) is an orphan. The state is
// bounded: past `memory_limit_bytes` the oldest waiting impressions are evicted (dropped, not
// learned, counted). Closed ids are remembered for one more window, to tell late labels from
// orphans. Times are milliseconds since the epoch, passed in. Serialises to JSON for
// checkpoints. Not thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"

namespace parasol::stream {

class Joiner {
 public:
  Joiner(int64_t window_ms, size_t memory_limit_bytes)
      : window_ms_(window_ms), limit_(memory_limit_bytes) {}

  struct Example {
    std::string line, where;
    float label = 0;
  };
  // Counts since the first run of this output directory.
  struct Counts {
    uint64_t joined = 0, negatives = 0, late = 0, orphan_labels = 0, evicted = 0;
  };

  // An impression that waits for its label until now + window. False when `id` already waits
  // (a duplicate; the first one is kept).
  bool AddImpression(const std::string& id, std::string line, std::string where, int64_t now_ms);
  // A label for `id`: appends the joined example to *ready, or counts the label late or orphan.
  void AddLabel(const std::string& id, float label, int64_t now_ms, std::vector<Example>* ready);
  // Closes the windows that ended by now_ms: their impressions become negatives in *ready.
  void Expire(int64_t now_ms, std::vector<Example>* ready);

  const Counts& counts() const { return counts_; }
  size_t waiting() const { return waiting_.size(); }
  size_t bytes() const { return bytes_; }

  nlohmann::json ToJson() const;
  // Replaces the state with a ToJson() of an earlier run; InvalidArgument when malformed.
  absl::Status FromJson(const nlohmann::json& j);

 private:
  struct Waiting {
    std::string line, where;
    int64_t deadline;
  };
  static size_t Cost(const std::string& id, const Waiting& w) {
    return id.size() + w.line.size() + w.where.size() + 96;
  }
  void Close(const std::string& id, int64_t now_ms);
  void EnforceLimit();

  const int64_t window_ms_;
  const size_t limit_;
  std::unordered_map<std::string, Waiting> waiting_;
  std::deque<std::string> order_;  // waiting ids by arrival (so by deadline); may hold stale ids
  std::unordered_map<std::string, int64_t> closed_;  // id → when it may be forgotten
  std::deque<std::string> closed_order_;
  size_t bytes_ = 0;
  Counts counts_;
};

}  // namespace parasol::stream
