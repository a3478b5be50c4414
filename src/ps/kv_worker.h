// The worker's view of the parameter servers, in the manner of ps-lite's KVWorker: Pull and Push
// return a timestamp to Wait on, so the next batch's pull can overlap the current batch's
// compute. Dense tables are pulled and pushed whole, split by index range. Keys of a call are
// de-duplicated (and duplicate keys' gradients summed) before sending, and each server gets at most
// one request per call. Thread-safe.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "ps/shard_map.h"
#include "ps/transport.h"

namespace parasol {

class KvWorker {
 public:
  using Timestamp = int64_t;

  // `transport` is not owned and must outlive the worker; `dim` is the table's row width.
  KvWorker(PsTransport* transport, std::string table, int dim);
  ~KvWorker();  // waits for calls still in flight

  // Fetches the rows of `keys` (duplicates allowed): after Wait, *values holds
  // keys.size() * dim floats in the order of `keys`. *values must outlive the Wait.
  Timestamp Pull(absl::Span<const uint64_t> keys, std::vector<float>* values);

  // Sends keys.size() * dim gradients; duplicate keys are summed into one update.
  // InvalidArgument (from Wait) when grads.size() != keys.size() * dim.
  Timestamp Push(absl::Span<const uint64_t> keys, absl::Span<const float> grads);

  // Push, then the rows after the update in one round trip per server (ps-lite's PushPull):
  // after Wait, *values holds keys.size() * dim floats in the order of `keys`.
  Timestamp PushPull(absl::Span<const uint64_t> keys, absl::Span<const float> grads,
                     std::vector<float>* values);

  // Dense tables (any name; the row width does not apply): the whole `size`-float table
  // `table`, one request per server for its range. After Wait, *values holds `size` weights.
  Timestamp PullDense(const std::string& table, uint64_t size, std::vector<float>* values);
  // One gradient per index of the whole table (grads.size() is the table's size).
  Timestamp PushDense(const std::string& table, absl::Span<const float> grads);

  // Blocks until the call `ts` completes; returns its status (the first failing server's).
  absl::Status Wait(Timestamp ts);

  int dim() const { return dim_; }

 private:
  struct Call;
  // A sparse call's requests: unique keys per server and, for pushes, their summed gradients.
  struct Requests {
    std::vector<std::vector<uint64_t>> keys;
    std::vector<std::vector<float>> grads;
  };
  Timestamp Start(std::shared_ptr<Call> call);
  // A call that is over before it starts, with `status`.
  Timestamp Failed(absl::Status status);
  absl::Status CheckGrads(size_t keys, size_t grads) const;
  // Groups `keys` by server, de-duplicated; sums `grads` (when not empty) into each server's
  // request; with `values`, prepares *call to scatter the replies into it.
  void Split(absl::Span<const uint64_t> keys, absl::Span<const float> grads,
             std::vector<float>* values, Call* call, Requests* requests) const;
  // The reply handler of server `server`'s part (`keys` rows) of a pull.
  PsTransport::PullDone ScatterThenFinish(std::shared_ptr<Call> call, int server, size_t keys);
  // Copies server `server`'s reply rows to every position of their keys in *call.values.
  void Scatter(const Call& call, int server, absl::Span<const float> rows) const;
  void Finish(const std::shared_ptr<Call>& call, absl::Status status);

  PsTransport* const transport_;
  const std::string table_;
  const int dim_;
  const ShardMap shards_;
  std::mutex mu_;
  std::condition_variable cv_;
  Timestamp next_ = 1;
  std::map<Timestamp, std::shared_ptr<Call>> calls_;
};

}  // namespace parasol
