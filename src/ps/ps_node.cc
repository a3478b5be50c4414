#include "ps/ps_node.h"

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/hash.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "ps/shard_writer.h"

namespace parasol {
namespace {

bool IsPlainName(const std::string& name) {
  if (name.empty() || name == "." || name == ".." || name.size() > 200) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  });
}

}  // namespace

// Sleeps in `interval` steps until destroyed, calling EvictExpired on its table.
class PsNode::Evictor {
 public:
  Evictor(ServerTable* table, double ttl_seconds)
      : thread_([this, table, ttl_seconds] {
          const auto interval =
              std::chrono::duration<double>(std::clamp(ttl_seconds / 4, 0.05, 60.0));
          std::unique_lock<std::mutex> lock(mu_);
          while (!cv_.wait_for(lock, interval, [this] { return stop_; })) {
            lock.unlock();
            const uint64_t evicted = table->EvictExpired();
            if (evicted > 0) {
              log::Info("ps server: evicted {} rows idle for {}s", evicted, ttl_seconds);
            }
            lock.lock();
          }
        }) {}
  ~Evictor() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;  // last: starts after the members it uses
};

PsNode::PsNode(std::vector<std::unique_ptr<ServerTable>> tables,
               std::vector<std::unique_ptr<DenseTable>> dense, std::string checkpoint_root)
    : tables_(std::move(tables)),
      dense_(std::move(dense)),
      checkpoint_root_(std::move(checkpoint_root)) {}

PsNode::~PsNode() { evictors_.clear(); }

ServerTable* PsNode::table(const std::string& name) const {
  for (const auto& t : tables_) {
    if (t->name() == name) return t.get();
  }
  return nullptr;
}

DenseTable* PsNode::dense_table(const std::string& name) const {
  for (const auto& t : dense_) {
    if (t->name() == name) return t.get();
  }
  return nullptr;
}

absl::Status PsNode::UnknownTable(const std::string& name) const {
  std::string known;
  for (const auto& t : tables_) absl::StrAppend(&known, known.empty() ? "" : ", ", t->name());
  for (const auto& t : dense_) {
    absl::StrAppend(&known, known.empty() ? "" : ", ", t->name(), " (dense)");
  }
  return absl::NotFoundError(absl::StrCat("no table '", name, "' (this server has: ", known, ")"));
}

absl::StatusOr<ClockReply> PsNode::Clock(const ClockCall& call) {
  ClockReply reply;
  switch (call.epoch_op) {
    case ClockCall::EpochOp::kReached:
      RETURN_IF_ERROR(clocks_.ReachEpoch(call.worker, call.num_workers, call.epoch, call.timeout));
      return reply;
    case ClockCall::EpochOp::kDecide:
      clocks_.Decide(call.epoch, call.stop);
      return reply;
    case ClockCall::EpochOp::kAwait: {
      ASSIGN_OR_RETURN(reply.stop, clocks_.AwaitDecision(call.epoch, call.timeout));
      return reply;
    }
    case ClockCall::EpochOp::kNone:
      break;
  }
  if (call.finished) {
    RETURN_IF_ERROR(clocks_.Finish(call.worker, call.num_workers));
  } else {
    RETURN_IF_ERROR(
        clocks_.Advance(call.worker, call.num_workers, call.clock, call.staleness, call.timeout));
  }
  return reply;
}

absl::StatusOr<ShardCheckpoint> PsNode::Checkpoint(const ShardCheckpointRequest& request) {
  if (checkpoint_root_.empty()) {
    return absl::FailedPreconditionError(
        "this server has no checkpoint directory (start it with --checkpoint-dir)");
  }
  if (!IsPlainName(request.name) || (!request.previous.empty() && !IsPlainName(request.previous))) {
    return absl::InvalidArgumentError(
        absl::StrCat("checkpoint names must be plain directory names ([A-Za-z0-9._-], not "
                     "'.' or '..'), got '",
                     request.name, "' and previous '", request.previous, "'"));
  }
  if (request.num_shards < 1 || request.shard < 0 || request.shard >= request.num_shards) {
    return absl::InvalidArgumentError(
        absl::StrCat("shard ", request.shard, " is not in [0, ", request.num_shards, ")"));
  }
  ServerTable* sparse = table(request.table);
  DenseTable* dense = sparse == nullptr ? dense_table(request.table) : nullptr;
  if (sparse == nullptr && dense == nullptr) return UnknownTable(request.table);
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(checkpoint_root_) / request.name;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    return absl::UnavailableError(absl::StrCat("cannot create ", dir.string(), ": ", ec.message()));
  }
  const std::string path =
      (dir / absl::StrCat(request.table, "-", request.shard, "-of-", request.num_shards, ".bin"))
          .string();
  ShardCheckpoint out;
  auto written = sparse != nullptr ? WriteTableShard(*sparse, path, request.name, request.previous)
                                   : WriteDenseShard(*dense, path);
  if (!written.ok()) return written.status();
  out.file = *std::move(written);
  if (sparse != nullptr) {
    out.features = sparse->Stats().rows - (sparse->Contains(kBiasKey) ? 1 : 0);
  }
  out.worker_clocks = clocks_.Snapshot();
  return out;
}

PsStats PsNode::Stats() {
  PsStats stats;
  stats.worker_clocks = clocks_.Snapshot();
  for (const auto& t : tables_) stats.tables.push_back(t->Stats());
  for (const auto& t : dense_) stats.dense.push_back(t->Stats());
  return stats;
}

void PsNode::StartEviction() {
  if (!evictors_.empty()) return;
  for (const auto& t : tables_) {
    if (t->ttl_seconds() > 0) {
      evictors_.push_back(std::make_unique<Evictor>(t.get(), t->ttl_seconds()));
    }
  }
}

}  // namespace parasol
