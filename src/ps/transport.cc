#include "ps/transport.h"

#include <algorithm>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "model/sparse_table.h"

namespace parasol {

void InProcessTransport::SetNode(int server, PsNode* node) {
  std::unique_lock<std::shared_mutex> lock(mu_);
  nodes_.at(server) = node;
}

absl::StatusOr<PsNode*> InProcessTransport::Node(int server) const {
  if (server < 0 || server >= num_servers()) {
    return absl::InvalidArgumentError(absl::StrCat("no server ", server));
  }
  std::shared_lock<std::shared_mutex> lock(mu_);
  if (nodes_[server] == nullptr) {
    return absl::UnavailableError(absl::StrCat("server ", server, " is down"));
  }
  return nodes_[server];
}

absl::StatusOr<ServerTable*> InProcessTransport::Find(int server, const std::string& table) const {
  ASSIGN_OR_RETURN(PsNode * node, Node(server));
  ServerTable* t = node->table(table);
  if (t == nullptr) {
    return absl::NotFoundError(absl::StrCat("server ", server, " has no table '", table, "'"));
  }
  return t;
}

absl::StatusOr<DenseTable*> InProcessTransport::FindDense(int server,
                                                          const std::string& table) const {
  ASSIGN_OR_RETURN(PsNode * node, Node(server));
  DenseTable* t = node->dense_table(table);
  if (t == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("server ", server, " has no dense table '", table, "'"));
  }
  return t;
}

void InProcessTransport::Pull(int server, const std::string& table, std::vector<uint64_t> keys,
                              PullDone done) {
  requests_.fetch_add(1);
  auto t = Find(server, table);
  if (!t.ok()) return done(t.status(), {});
  std::vector<float> values(keys.size() * (*t)->dim());
  (*t)->Pull(keys, absl::MakeSpan(values));
  done(absl::OkStatus(), values);
}

void InProcessTransport::Push(int server, const std::string& table, std::vector<uint64_t> keys,
                              std::vector<float> grads, Done done) {
  requests_.fetch_add(1);
  auto t = Find(server, table);
  if (!t.ok()) return done(t.status());
  done((*t)->Push(keys, grads));
}

void InProcessTransport::PushPull(int server, const std::string& table, std::vector<uint64_t> keys,
                                  std::vector<float> grads, PullDone done) {
  requests_.fetch_add(1);
  auto t = Find(server, table);
  if (!t.ok()) return done(t.status(), {});
  if (absl::Status pushed = (*t)->Push(keys, grads); !pushed.ok()) return done(pushed, {});
  std::vector<float> values(keys.size() * (*t)->dim());
  (*t)->Pull(keys, absl::MakeSpan(values));
  done(absl::OkStatus(), values);
}

void InProcessTransport::DensePull(int server, const std::string& table, uint64_t offset,
                                   uint64_t length, std::vector<float>* values, Done done) {
  requests_.fetch_add(1);
  auto t = FindDense(server, table);
  if (!t.ok()) return done(t.status());
  values->resize(length);
  done((*t)->Pull(offset, absl::MakeSpan(*values)));
}

void InProcessTransport::DensePush(int server, const std::string& table, uint64_t offset,
                                   std::vector<float> grads, Done done) {
  requests_.fetch_add(1);
  auto t = FindDense(server, table);
  if (!t.ok()) return done(t.status());
  done((*t)->Push(offset, grads));
}

absl::StatusOr<ClockReply> InProcessTransport::Clock(int server, const ClockCall& call) {
  ASSIGN_OR_RETURN(PsNode * node, Node(server));
  return node->Clock(call);
}

absl::StatusOr<PsStats> InProcessTransport::Stats(int server) {
  ASSIGN_OR_RETURN(PsNode * node, Node(server));
  return node->Stats();
}

absl::StatusOr<ShardCheckpoint> InProcessTransport::Checkpoint(
    int server, const ShardCheckpointRequest& request) {
  ASSIGN_OR_RETURN(PsNode * node, Node(server));
  return node->Checkpoint(request);
}

absl::Status InProcessTransport::Export(int server, const std::string& table, const RowFn& fn) {
  ASSIGN_OR_RETURN(PsNode * node, Node(server));
  if (const DenseTable* dense = node->dense_table(table)) {
    ForEachDenseRow(*dense, fn);
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(ServerTable * t, Find(server, table));
  const size_t row_floats = static_cast<size_t>(t->row_floats());
  t->ForEachRow(
      [&](uint64_t key, const float* row) { fn(key, absl::MakeConstSpan(row, row_floats)); });
  return absl::OkStatus();
}

absl::Status AdvanceClock(PsTransport& transport, int worker, int num_workers, int64_t clock,
                          int64_t staleness) {
  ClockCall call;
  call.worker = worker;
  call.num_workers = num_workers;
  call.clock = clock;
  call.staleness = staleness;
  return transport.Clock(0, call).status();
}

absl::Status FinishClock(PsTransport& transport, int worker, int num_workers) {
  ClockCall call;
  call.worker = worker;
  call.num_workers = num_workers;
  call.finished = true;
  return transport.Clock(0, call).status();
}

namespace {
// Epoch calls wait for a whole epoch of the slowest worker, or for worker 0's validation (and
// its writing the model): longer than a clock's wait.
ClockCall EpochCall(ClockCall::EpochOp op, int64_t epoch) {
  ClockCall call;
  call.epoch_op = op;
  call.epoch = epoch;
  call.timeout = std::chrono::hours(1);
  return call;
}
}  // namespace

absl::Status ReachEpoch(PsTransport& transport, int worker, int num_workers, int64_t epoch) {
  ClockCall call = EpochCall(ClockCall::EpochOp::kReached, epoch);
  call.worker = worker;
  call.num_workers = num_workers;
  return transport.Clock(0, call).status();
}

absl::Status DecideEpoch(PsTransport& transport, int64_t epoch, bool stop) {
  ClockCall call = EpochCall(ClockCall::EpochOp::kDecide, epoch);
  call.stop = stop;
  return transport.Clock(0, call).status();
}

absl::StatusOr<bool> AwaitEpochDecision(PsTransport& transport, int64_t epoch) {
  ASSIGN_OR_RETURN(const ClockReply reply,
                   transport.Clock(0, EpochCall(ClockCall::EpochOp::kAwait, epoch)));
  return reply.stop;
}

absl::StatusOr<std::vector<int64_t>> WorkerClocks(PsTransport& transport) {
  ASSIGN_OR_RETURN(PsStats stats, transport.Stats(0));
  return std::move(stats.worker_clocks);
}

absl::StatusOr<std::vector<DenseTableInfo>> DenseTables(PsTransport& transport) {
  ASSIGN_OR_RETURN(const PsStats stats, transport.Stats(0));
  std::vector<DenseTableInfo> tables;
  for (const DenseTableStats& d : stats.dense)
    tables.push_back({d.name, d.size, d.state_per_weight});
  return tables;
}

absl::StatusOr<CheckpointInfo> WriteShards(PsTransport& transport, const std::string& table,
                                           const std::string& name, const std::string& previous) {
  const int n = transport.num_servers();
  std::vector<absl::StatusOr<ShardCheckpoint>> shards(n, absl::UnknownError("not called"));
  std::vector<std::thread> calls;
  for (int s = 0; s < n; ++s) {
    calls.emplace_back([&, s] {
      ShardCheckpointRequest request;
      request.table = table;
      request.name = name;
      request.previous = previous;
      request.shard = s;
      request.num_shards = n;
      shards[s] = transport.Checkpoint(s, request);
    });
  }
  for (auto& call : calls) call.join();
  CheckpointInfo info;
  for (int s = 0; s < n; ++s) {
    if (!shards[s].ok()) {
      return absl::Status(
          shards[s].status().code(),
          absl::StrCat("checkpoint ", name, ", server ", s, ": ", shards[s].status().message()));
    }
    info.shards.push_back(shards[s]->file);
    info.feature_count += static_cast<int64_t>(shards[s]->features);
  }
  info.worker_clocks = shards[0]->worker_clocks;
  return info;
}

void ForEachDenseRow(const DenseTable& table, const PsTransport::RowFn& fn) {
  const std::vector<float> rows = table.CheckpointRows();
  const size_t width = 1 + static_cast<size_t>(table.state_per_weight());
  for (uint64_t i = 0; i < table.range().size(); ++i) {
    fn(table.range().begin + i, absl::MakeConstSpan(rows.data() + i * width, width));
  }
}

absl::Status ExportDenseTable(PsTransport& transport, const std::string& table, uint64_t size,
                              int state_per_weight, std::vector<float>* weights,
                              std::vector<float>* state) {
  const size_t s = static_cast<size_t>(state_per_weight);
  weights->assign(size, 0.0f);
  state->assign(size * s, 0.0f);
  std::vector<bool> seen(size, false);
  for (int server = 0; server < transport.num_servers(); ++server) {
    absl::Status bad;
    RETURN_IF_ERROR(
        transport.Export(server, table, [&](uint64_t index, absl::Span<const float> row) {
          if (!bad.ok()) return;
          if (index >= size || row.size() != 1 + s) {
            bad = absl::DataLossError(absl::StrCat("server ", server, ": dense table '", table,
                                                   "' exported index ", index, " with ", row.size(),
                                                   " floats; expected < ", size, " and ", 1 + s));
            return;
          }
          (*weights)[index] = row[0];
          std::copy_n(row.data() + 1, s, state->data() + index * s);
          seen[index] = true;
        }));
    RETURN_IF_ERROR(bad);
  }
  const auto missing = std::find(seen.begin(), seen.end(), false);
  if (missing != seen.end()) {
    return absl::DataLossError(absl::StrCat("dense table '", table, "': no server exported index ",
                                            missing - seen.begin()));
  }
  return absl::OkStatus();
}

absl::Status ExportTable(PsTransport& transport, const std::string& table, SparseTable* into) {
  const size_t want = static_cast<size_t>(into->row_floats());
  for (int s = 0; s < transport.num_servers(); ++s) {
    absl::Status bad;
    RETURN_IF_ERROR(transport.Export(s, table, [&](uint64_t key, absl::Span<const float> row) {
      if (row.size() != want) {
        if (bad.ok()) {
          bad = absl::DataLossError(absl::StrCat("server ", s, ": exported rows of ", row.size(),
                                                 " floats, expected ", want));
        }
        return;
      }
      into->Put(key, row.data());
    }));
    RETURN_IF_ERROR(bad);
  }
  return absl::OkStatus();
}

}  // namespace parasol
