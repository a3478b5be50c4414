#include "ps/kv_worker.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace parasol {

// One Pull or Push in flight: per-server parts, a countdown, and the first error.
struct KvWorker::Call {
  int pending = 0;
  bool done = false;
  absl::Status status;
  // Sparse pull: each server's reply is scattered into *values as it arrives (the servers' parts
  // are disjoint). slots[s][j]: the unique key of server s's j-th row; first[u]: the first
  // original index of unique key u, next[i]: the next original index with the same key (-1).
  std::vector<std::vector<uint32_t>> slots;
  std::vector<uint64_t> unique;
  std::vector<uint32_t> position;  // for each original key, its index in `unique`
  std::vector<int32_t> first, next;
  std::vector<float>* values = nullptr;
  // Dense pull: the servers' ranges, concatenated in server order at the end.
  std::vector<std::vector<float>> replies;
  bool dense = false;
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
    for (const auto& r : call->replies)
      call->values->insert(call->values->end(), r.begin(), r.end());
  }
  call->done = true;
  cv_.notify_all();
}

KvWorker::Timestamp KvWorker::Failed(absl::Status status) {
  auto call = std::make_shared<Call>();
  call->pending = 1;
  const Timestamp ts = Start(call);
  Finish(call, std::move(status));
  return ts;
}

void KvWorker::Split(absl::Span<const uint64_t> keys, absl::Span<const float> grads,
                     std::vector<float>* values, Call* call, Requests* requests) const {
  Deduplicate(keys, &call->unique, &call->position);
  const int n = shards_.num_servers();
  requests->keys.assign(n, {});
  call->slots.assign(n, {});
  for (uint32_t u = 0; u < call->unique.size(); ++u) {
    const int s = shards_.ServerOf(call->unique[u]);
    requests->keys[s].push_back(call->unique[u]);
    call->slots[s].push_back(u);
  }
  if (!grads.empty()) {
    // Each unique key's gradients go to its row of its server's request (slots give the row).
    std::vector<float*> sum_into(call->unique.size());
    requests->grads.assign(n, {});
    for (int s = 0; s < n; ++s) {
      requests->grads[s].assign(requests->keys[s].size() * dim_, 0.0f);
      for (size_t j = 0; j < call->slots[s].size(); ++j) {
        sum_into[call->slots[s][j]] = requests->grads[s].data() + j * dim_;
      }
    }
    for (size_t i = 0; i < keys.size(); ++i) {
      float* out = sum_into[call->position[i]];
      const float* g = grads.data() + i * dim_;
      for (int j = 0; j < dim_; ++j) out[j] += g[j];
    }
  }
  if (values != nullptr) {
    call->values = values;
    call->first.assign(call->unique.size(), -1);
    call->next.assign(keys.size(), -1);
    for (size_t i = keys.size(); i-- > 0;) {  // backwards: first[u] ends at the first occurrence
      call->next[i] = call->first[call->position[i]];
      call->first[call->position[i]] = static_cast<int32_t>(i);
    }
    values->resize(keys.size() * dim_);
  }
  call->pending = 1;  // held until every request is issued
  for (int s = 0; s < n; ++s) call->pending += requests->keys[s].empty() ? 0 : 1;
}

PsTransport::PullDone KvWorker::ScatterThenFinish(std::shared_ptr<Call> call, int server,
                                                  size_t keys) {
  const size_t expected = keys * static_cast<size_t>(dim_);
  return [this, call = std::move(call), server, expected](absl::Status st,
                                                          absl::Span<const float> rows) {
    if (st.ok() && rows.size() != expected) {
      st = absl::DataLossError(absl::StrCat("server ", server, " answered ", rows.size(),
                                            " values, expected ", expected, " (rows of ", dim_,
                                            ")"));
    }
    if (st.ok()) Scatter(*call, server, rows);
    Finish(call, std::move(st));
  };
}

KvWorker::Timestamp KvWorker::Pull(absl::Span<const uint64_t> keys, std::vector<float>* values) {
  auto call = std::make_shared<Call>();
  Requests requests;
  Split(keys, {}, values, call.get(), &requests);
  const Timestamp ts = Start(call);
  for (int s = 0; s < shards_.num_servers(); ++s) {
    if (requests.keys[s].empty()) continue;
    const size_t n = requests.keys[s].size();
    transport_->Pull(s, table_, std::move(requests.keys[s]), ScatterThenFinish(call, s, n));
  }
  Finish(call, absl::OkStatus());
  return ts;
}

void KvWorker::Scatter(const Call& call, int server, absl::Span<const float> rows) const {
  float* out = call.values->data();
  const std::vector<uint32_t>& slots = call.slots[server];
  for (size_t j = 0; j < slots.size(); ++j) {
    const float* row = rows.data() + j * dim_;
    for (int32_t i = call.first[slots[j]]; i >= 0; i = call.next[i]) {
      std::copy_n(row, dim_, out + static_cast<size_t>(i) * dim_);
    }
  }
}

absl::Status KvWorker::CheckGrads(size_t keys, size_t grads) const {
  if (grads == keys * dim_) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(keys, " keys need ", keys * dim_, " gradients, got ", grads));
}

KvWorker::Timestamp KvWorker::Push(absl::Span<const uint64_t> keys, absl::Span<const float> grads) {
  if (absl::Status st = CheckGrads(keys.size(), grads.size()); !st.ok()) return Failed(st);
  auto call = std::make_shared<Call>();
  Requests requests;
  Split(keys, grads, nullptr, call.get(), &requests);
  const Timestamp ts = Start(call);
  for (int s = 0; s < shards_.num_servers(); ++s) {
    if (requests.keys[s].empty()) continue;
    transport_->Push(s, table_, std::move(requests.keys[s]), std::move(requests.grads[s]),
                     [this, call](absl::Status st) { Finish(call, std::move(st)); });
  }
  Finish(call, absl::OkStatus());
  return ts;
}

KvWorker::Timestamp KvWorker::PushPull(absl::Span<const uint64_t> keys,
                                       absl::Span<const float> grads, std::vector<float>* values) {
  if (absl::Status st = CheckGrads(keys.size(), grads.size()); !st.ok()) return Failed(st);
  auto call = std::make_shared<Call>();
  Requests requests;
  Split(keys, grads, values, call.get(), &requests);
  const Timestamp ts = Start(call);
  for (int s = 0; s < shards_.num_servers(); ++s) {
    if (requests.keys[s].empty()) continue;
    const size_t n = requests.keys[s].size();
    transport_->PushPull(s, table_, std::move(requests.keys[s]), std::move(requests.grads[s]),
                         ScatterThenFinish(call, s, n));
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
