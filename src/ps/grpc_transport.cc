#include "ps/grpc_transport.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "model/sparse_table.h"
#include "proto/ps.grpc.pb.h"
#include "ps/grpc_server.h"
#include "wire/grpc_status.h"

namespace parasol {

// One thread per server runs that server's calls in order, with gRPC's synchronous API. (The
// callback API of Debian's gRPC 1.51 double-frees a completion queue at shutdown under
// AddressSanitizer, and a thread per server keeps per-server ordering for free.)
class ServerLane {
 public:
  explicit ServerLane(std::unique_ptr<ps::ParameterServer::Stub> stub)
      : stub_(std::move(stub)), thread_([this] { Loop(); }) {}
  ~ServerLane() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_one();
    thread_.join();  // runs what was queued first, so every `done` is called
  }
  ps::ParameterServer::Stub& stub() { return *stub_; }
  void Run(std::function<void()> call) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.push_back(std::move(call));
    }
    cv_.notify_one();
  }

 private:
  void Loop() {
    while (true) {
      std::function<void()> call;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;
        call = std::move(queue_.front());
        queue_.pop_front();
      }
      call();
    }
  }

  std::unique_ptr<ps::ParameterServer::Stub> stub_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::thread thread_;  // last: starts after the members it uses
};

struct GrpcTransport::Impl {
  std::vector<std::unique_ptr<ServerLane>> lanes;
  std::chrono::milliseconds retry{60000};
};

namespace {

// Runs call(context) until it succeeds, fails with something other than UNAVAILABLE, or `retry`
// has passed; each attempt waits for the channel to (re)connect. `extra` is time the server may
// legitimately take to answer (a clock wait).
template <typename Call>
grpc::Status WithRetry(std::chrono::milliseconds retry, Call&& call,
                       std::chrono::milliseconds extra = std::chrono::milliseconds(0)) {
  const auto give_up = std::chrono::system_clock::now() + retry;
  while (true) {
    grpc::ClientContext context;
    context.set_wait_for_ready(true);
    context.set_deadline(std::max(give_up, std::chrono::system_clock::now()) + extra);
    const grpc::Status status = call(context);
    const bool unavailable = status.error_code() == grpc::StatusCode::UNAVAILABLE ||
                             status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
    if (!unavailable) return status;
    if (std::chrono::system_clock::now() >= give_up) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                          absl::StrCat("unavailable for ", retry.count() / 1000.0,
                                       " s (last error: ", status.error_message(), ")"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace

GrpcTransport::GrpcTransport(const std::vector<std::string>& addresses, double retry_seconds)
    : impl_(std::make_unique<Impl>()) {
  impl_->retry = std::chrono::milliseconds(static_cast<int64_t>(retry_seconds * 1000));
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kPsMaxMessageBytes);
  args.SetMaxSendMessageSize(kPsMaxMessageBytes);
  // A restarted server is back within a second or two: reconnect promptly, not after minutes.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 250);
  for (const std::string& address : addresses) {
    impl_->lanes.push_back(std::make_unique<ServerLane>(ps::ParameterServer::NewStub(
        grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args))));
  }
}

GrpcTransport::~GrpcTransport() = default;

int GrpcTransport::num_servers() const { return static_cast<int>(impl_->lanes.size()); }

namespace {

// The longest a clock call may wait at the server (ClockRequest.timeout_ms 0 = 600 s there).
constexpr std::chrono::milliseconds kClockWait(600000);

// A failed call's status, naming what was asked of which server.
absl::Status CallError(const grpc::Status& status, const std::string& what, int server) {
  return absl::Status(FromGrpcStatus(status).code(),
                      absl::StrCat(what, " (server ", server, "): ", status.error_message()));
}

}  // namespace

absl::StatusOr<ClockReply> GrpcTransport::Clock(int server, const ClockCall& call) {
  ps::ClockRequest request;
  request.set_worker(call.worker);
  request.set_num_workers(call.num_workers);
  request.set_clock(call.clock);
  request.set_staleness(call.staleness);
  request.set_finished(call.finished);
  request.set_timeout_ms(static_cast<uint32_t>(call.timeout.count()));
  request.set_epoch_op(static_cast<int32_t>(call.epoch_op));
  request.set_epoch(call.epoch);
  request.set_stop(call.stop);
  ps::ClockResponse response;
  const grpc::Status status = WithRetry(
      impl_->retry,
      [&](grpc::ClientContext& context) {
        return impl_->lanes[server]->stub().Clock(&context, request, &response);
      },
      std::max(kClockWait, call.timeout));
  if (status.ok()) return ClockReply{response.stop()};
  return CallError(status, "clock", server);
}

absl::StatusOr<PsStats> GrpcTransport::Stats(int server) {
  ps::StatsRequest request;
  ps::StatsResponse response;
  const grpc::Status status = WithRetry(impl_->retry, [&](grpc::ClientContext& context) {
    return impl_->lanes[server]->stub().Stats(&context, request, &response);
  });
  if (!status.ok()) return CallError(status, "stats", server);
  PsStats stats;
  stats.worker_clocks.assign(response.worker_clocks().begin(), response.worker_clocks().end());
  for (const ps::TableStats& t : response.tables()) {
    if (t.dense()) {
      DenseTableStats d;
      d.name = t.name();
      d.size = t.size();
      d.state_per_weight = static_cast<int>(t.state_dim());
      d.range = {t.begin(), t.begin() + t.rows()};
      d.bytes = t.bytes();
      d.pulled = t.pulls();
      d.pushed = t.pushes();
      stats.dense.push_back(std::move(d));
      continue;
    }
    ServerTableStats s;
    s.name = t.name();
    s.dim = static_cast<int>(t.dim());
    s.rows = t.rows();
    s.bytes = t.bytes();
    s.pulled_keys = t.pulls();
    s.pushed_keys = t.pushes();
    s.evicted_rows = t.evicted();
    s.unadmitted_keys = t.unadmitted();
    stats.tables.push_back(std::move(s));
  }
  return stats;
}

absl::StatusOr<ShardCheckpoint> GrpcTransport::Checkpoint(int server,
                                                          const ShardCheckpointRequest& request) {
  ps::CheckpointRequest wire;
  wire.set_table(request.table);
  wire.set_name(request.name);
  wire.set_previous(request.previous);
  wire.set_shard(request.shard);
  wire.set_num_shards(request.num_shards);
  ps::CheckpointResponse response;
  // A server that just started (a restore) may not take connections yet: wait for it as the
  // pulls and pushes do.
  const grpc::Status status = WithRetry(impl_->retry, [&](grpc::ClientContext& context) {
    return impl_->lanes[server]->stub().Checkpoint(&context, wire, &response);
  });
  if (!status.ok()) {
    return absl::Status(FromGrpcStatus(status).code(), status.error_message());
  }
  ShardCheckpoint out;
  out.file.file = response.file();
  out.file.rows = response.rows();
  out.file.checksum = response.checksum();
  out.file.delta = response.delta();
  out.features = response.features();
  out.worker_clocks.assign(response.worker_clocks().begin(), response.worker_clocks().end());
  return out;
}

absl::Status GrpcTransport::Export(int server, const std::string& table, const RowFn& fn) {
  grpc::ClientContext context;
  ps::ExportRequest request;
  request.set_table(table);
  auto reader = impl_->lanes[server]->stub().Export(&context, request);
  ps::ExportChunk chunk;
  while (reader->Read(&chunk)) {
    const size_t row_floats = chunk.row_floats();
    if (static_cast<size_t>(chunk.rows_size()) != chunk.keys_size() * row_floats) {
      context.TryCancel();
      reader->Finish();
      return absl::DataLossError(absl::StrCat("server ", server, ": export chunk of ",
                                              chunk.keys_size(), " keys with ", chunk.rows_size(),
                                              " floats for rows of ", row_floats));
    }
    for (int i = 0; i < chunk.keys_size(); ++i) {
      fn(chunk.keys(i), absl::MakeConstSpan(chunk.rows().data() + i * row_floats, row_floats));
    }
  }
  const grpc::Status status = reader->Finish();
  if (!status.ok()) return CallError(status, "export", server);
  return absl::OkStatus();
}

namespace {

// Hands a pull-shaped reply (Pull, PushPull) to `done`, checking its size first.
void AnswerPull(int server, const grpc::Status& status, const ps::PullResponse& response,
                size_t keys, const PsTransport::PullDone& done) {
  if (!status.ok()) {
    return done(absl::Status(FromGrpcStatus(status).code(),
                             absl::StrCat("server ", server, ": ", status.error_message())),
                {});
  }
  const auto& v = response.values();
  if (static_cast<size_t>(v.size()) != keys * response.dim()) {
    return done(absl::DataLossError(absl::StrCat("server ", server, " answered ", v.size(),
                                                 " values for ", keys, " keys")),
                {});
  }
  done(absl::OkStatus(), absl::MakeConstSpan(v.data(), static_cast<size_t>(v.size())));
}

}  // namespace

void GrpcTransport::Pull(int server, const std::string& table, std::vector<uint64_t> keys,
                         PullDone done) {
  ServerLane* lane = impl_->lanes[server].get();
  lane->Run(
      [lane, server, table, keys = std::move(keys), done = std::move(done), retry = impl_->retry] {
        ps::PullRequest request;
        ps::PullResponse response;
        request.set_table(table);
        request.mutable_keys()->Add(keys.begin(), keys.end());
        const grpc::Status status = WithRetry(retry, [&](grpc::ClientContext& context) {
          return lane->stub().Pull(&context, request, &response);
        });
        AnswerPull(server, status, response, keys.size(), done);
      });
}

void GrpcTransport::PushPull(int server, const std::string& table, std::vector<uint64_t> keys,
                             std::vector<float> grads, PullDone done) {
  ServerLane* lane = impl_->lanes[server].get();
  lane->Run([lane, server, table, keys = std::move(keys), grads = std::move(grads),
             done = std::move(done), retry = impl_->retry] {
    ps::PushRequest request;
    ps::PullResponse response;
    request.set_table(table);
    request.mutable_keys()->Add(keys.begin(), keys.end());
    request.mutable_grads()->Add(grads.begin(), grads.end());
    const grpc::Status status = WithRetry(retry, [&](grpc::ClientContext& context) {
      return lane->stub().PushPull(&context, request, &response);
    });
    AnswerPull(server, status, response, keys.size(), done);
  });
}

void GrpcTransport::Push(int server, const std::string& table, std::vector<uint64_t> keys,
                         std::vector<float> grads, Done done) {
  ServerLane* lane = impl_->lanes[server].get();
  lane->Run([lane, server, table, keys = std::move(keys), grads = std::move(grads),
             done = std::move(done), retry = impl_->retry] {
    ps::PushRequest request;
    ps::PushResponse response;
    request.set_table(table);
    request.mutable_keys()->Add(keys.begin(), keys.end());
    request.mutable_grads()->Add(grads.begin(), grads.end());
    const grpc::Status status = WithRetry(retry, [&](grpc::ClientContext& context) {
      return lane->stub().Push(&context, request, &response);
    });
    if (!status.ok()) {
      return done(absl::Status(FromGrpcStatus(status).code(),
                               absl::StrCat("server ", server, ": ", status.error_message())));
    }
    done(absl::OkStatus());
  });
}

void GrpcTransport::DensePull(int server, const std::string& table, uint64_t offset,
                              uint64_t length, std::vector<float>* values, Done done) {
  ServerLane* lane = impl_->lanes[server].get();
  lane->Run([lane, server, table, offset, length, values, done = std::move(done),
             retry = impl_->retry] {
    ps::DensePullRequest request;
    ps::DensePullResponse response;
    request.set_table(table);
    request.set_offset(offset);
    request.set_length(length);
    const grpc::Status status = WithRetry(retry, [&](grpc::ClientContext& context) {
      return lane->stub().DensePull(&context, request, &response);
    });
    if (!status.ok()) {
      return done(absl::Status(FromGrpcStatus(status).code(),
                               absl::StrCat("server ", server, ": ", status.error_message())));
    }
    if (static_cast<uint64_t>(response.values_size()) != length) {
      return done(
          absl::DataLossError(absl::StrCat("server ", server, " answered ", response.values_size(),
                                           " values of dense '", table, "' for ", length)));
    }
    values->assign(response.values().begin(), response.values().end());
    done(absl::OkStatus());
  });
}

void GrpcTransport::DensePush(int server, const std::string& table, uint64_t offset,
                              std::vector<float> grads, Done done) {
  ServerLane* lane = impl_->lanes[server].get();
  lane->Run([lane, server, table, offset, grads = std::move(grads), done = std::move(done),
             retry = impl_->retry] {
    ps::DensePushRequest request;
    ps::DensePushResponse response;
    request.set_table(table);
    request.set_offset(offset);
    request.mutable_grads()->Add(grads.begin(), grads.end());
    const grpc::Status status = WithRetry(retry, [&](grpc::ClientContext& context) {
      return lane->stub().DensePush(&context, request, &response);
    });
    if (!status.ok()) {
      return done(absl::Status(FromGrpcStatus(status).code(),
                               absl::StrCat("server ", server, ": ", status.error_message())));
    }
    done(absl::OkStatus());
  });
}

}  // namespace parasol
