#include "ps/kv_worker.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace parasol {

// One Pull or Push in flight: per-server parts, a countdown, and the first error.
struct KvWorker::Call {
  int pending = 0;
  bool done = false;
  absl::Status status;
  // Pull: where each server's reply lands, and how to scatter it back.
  std::vector<std::vector<float>> replies;   // per server
  std::vector<std::vector<uint32_t>> slots;  // per server: index into `unique` of each key
  std::vector<uint64_t> unique;
  std::vector<uint32_t> position;  // for each original key, its index in `unique`
  std::vector<float>* values = nullptr;
  bool dense = false;  // replies are the servers' ranges, in server order
};

KvWorker::KvWorker(PsTransport* transport, std::string table, int dim)
    : transport_(transport),
      table_(std::move(table)),
      dim_(dim),
      shards_(transport->num_servers()) {}

KvWorker::~KvWorker() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] {
    return std::all_of(calls_.begin(), calls_.end(), [](const auto& c) { return c.second->done; });
  });
}

namespace {

// Unique keys of `keys` in first-seen order, and for each key its index among them. Linear
// time: an open-addressing table of indices into `unique`, sized to a power of two >= 2n.
void Deduplicate(absl::Span<const uint64_t> keys, std::vector<uint64_t>* unique,
                 std::vector<uint32_t>* position) {
  unique->clear();
  unique->reserve(keys.size());
  position->resize(keys.size());
  size_t capacity = 16;
  while (capacity < 2 * keys.size()) capacity <<= 1;
  const size_t mask = capacity - 1;
  constexpr uint32_t kEmpty = ~uint32_t{0};
  std::vector<uint32_t> slots(capacity, kEmpty);
  for (size_t i = 0; i < keys.size(); ++i) {
    const uint64_t key = keys[i];
    size_t h = static_cast<size_t>((key * 0x9e3779b97f4a7c15ULL) >> 20) & mask;
    while (slots[h] != kEmpty && (*unique)[slots[h]] != key) h = (h + 1) & mask;
    if (slots[h] == kEmpty) {
      slots[h] = static_cast<uint32_t>(unique->size());
      unique->push_back(key);
    }
    (*position)[i] = slots[h];
  }
}

}  // namespace

KvWorker::Timestamp KvWorker::Start(std::shared_ptr<Call> call) {
  std::lock_guard<std::mutex> lock(mu_);
  const Timestamp ts = next_++;
  calls_[ts] = std::move(call);
  return ts;
}

void KvWorker::Finish(const std::shared_ptr<Call>& call, absl::Status status) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!status.ok() && call->status.ok()) call->status = status;
  if (--call->pending > 0) return;
  if (call->values != nullptr && call->status.ok() && call->dense) {
    call->values->clear();
    for (const auto& r : call->replies) call->values->insert(call->values->end(), r.begin(), r.end());
  } else if (call->values != nullptr && call->status.ok()) {
    // Scatter the per-server replies back to the caller's key order.
    std::vector<float> rows(call->unique.size() * dim_);
    for (size_t s = 0; s < call->slots.size(); ++s) {
      for (size_t j = 0; j < call->slots[s].size(); ++j) {
        std::copy_n(call->replies[s].data() + j * dim_, dim_,
                    rows.data() + static_cast<size_t>(call->slots[s][j]) * dim_);
      }
    }
    call->values->resize(call->position.size() * dim_);
    for (size_t i = 0; i < call->position.size(); ++i) {
      std::copy_n(rows.data() + static_cast<size_t>(call->position[i]) * dim_, dim_,
                  call->values->data() + i * dim_);
    }
  }
  call->done = true;
  cv_.notify_all();
}

KvWorker::Timestamp KvWorker::Pull(absl::Span<const uint64_t> keys, std::vector<float>* values) {
  auto call = std::make_shared<Call>();
  call->values = values;
  Deduplicate(keys, &call->unique, &call->position);
  const int n = shards_.num_servers();
  std::vector<std::vector<uint64_t>> per_server(n);
  call->slots.resize(n);
  call->replies.resize(n);
  for (uint32_t u = 0; u < call->unique.size(); ++u) {
    const int s = shards_.ServerOf(call->unique[u]);
    per_server[s].push_back(call->unique[u]);
    call->slots[s].push_back(u);
  }
  call->pending = 1;  // held until every request is issued
  for (int s = 0; s < n; ++s) call->pending += per_server[s].empty() ? 0 : 1;
  const Timestamp ts = Start(call);
  for (int s = 0; s < n; ++s) {
    if (per_server[s].empty()) continue;
    transport_->Pull(s, table_, std::move(per_server[s]), &call->replies[s],
                     [this, call](absl::Status st) { Finish(call, std::move(st)); });
  }
  Finish(call, absl::OkStatus());
  return ts;
}

KvWorker::Timestamp KvWorker::Push(absl::Span<const uint64_t> keys, absl::Span<const float> grads) {
  auto call = std::make_shared<Call>();
  if (grads.size() != keys.size() * dim_) {
    call->pending = 1;
    const Timestamp ts = Start(call);
    Finish(call,
           absl::InvalidArgumentError(absl::StrCat(keys.size(), " keys need ", keys.size() * dim_,
                                                   " gradients, got ", grads.size())));
    return ts;
  }
  Deduplicate(keys, &call->unique, &call->position);
  std::vector<float> summed(call->unique.size() * dim_, 0.0f);
  for (size_t i = 0; i < keys.size(); ++i) {
    float* dst = summed.data() + static_cast<size_t>(call->position[i]) * dim_;
    for (int j = 0; j < dim_; ++j) dst[j] += grads[i * dim_ + j];
  }
  const int n = shards_.num_servers();
  std::vector<std::vector<uint64_t>> server_keys(n);
  std::vector<std::vector<float>> server_grads(n);
  for (size_t u = 0; u < call->unique.size(); ++u) {
    const int s = shards_.ServerOf(call->unique[u]);
    server_keys[s].push_back(call->unique[u]);
    server_grads[s].insert(server_grads[s].end(), summed.begin() + u * dim_,
                           summed.begin() + (u + 1) * dim_);
  }
  call->pending = 1;
  for (int s = 0; s < n; ++s) call->pending += server_keys[s].empty() ? 0 : 1;
  const Timestamp ts = Start(call);
  for (int s = 0; s < n; ++s) {
    if (server_keys[s].empty()) continue;
    transport_->Push(s, table_, std::move(server_keys[s]), std::move(server_grads[s]),
                     [this, call](absl::Status st) { Finish(call, std::move(st)); });
  }
  Finish(call, absl::OkStatus());
  return ts;
}

absl::Status KvWorker::Wait(Timestamp ts) {
  std::unique_lock<std::mutex> lock(mu_);
  auto it = calls_.find(ts);
  if (it == calls_.end()) {
    return absl::InvalidArgumentError(absl::StrCat("unknown or already waited timestamp ", ts));
  }
  std::shared_ptr<Call> call = it->second;
  cv_.wait(lock, [&] { return call->done; });
  calls_.erase(ts);
  return call->status;
}

KvWorker::Timestamp KvWorker::PullDense(const std::string& table, uint64_t size,
                                        std::vector<float>* values) {
  auto call = std::make_shared<Call>();
  call->values = values;
  call->dense = true;
  const int n = shards_.num_servers();
  call->replies.resize(n);
  call->pending = 1 + n;
  const Timestamp ts = Start(call);
  for (int s = 0; s < n; ++s) {
    const IndexRange r = DenseRange(size, s, n);
    transport_->DensePull(s, table, r.begin, r.size(), &call->replies[s],
                          [this, call](absl::Status st) { Finish(call, std::move(st)); });
  }
  Finish(call, absl::OkStatus());
  return ts;
}

KvWorker::Timestamp KvWorker::PushDense(const std::string& table, absl::Span<const float> grads) {
  auto call = std::make_shared<Call>();
  const int n = shards_.num_servers();
  call->pending = 1 + n;
  const Timestamp ts = Start(call);
  for (int s = 0; s < n; ++s) {
    const IndexRange r = DenseRange(grads.size(), s, n);
    transport_->DensePush(s, table, r.begin,
                          std::vector<float>(grads.begin() + r.begin, grads.begin() + r.end),
                          [this, call](absl::Status st) { Finish(call, std::move(st)); });
  }
  Finish(call, absl::OkStatus());
  return ts;
}

}  // namespace parasol
