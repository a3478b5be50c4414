#include "ps/grpc_server.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>

#include "absl/strings/str_cat.h"
#include "proto/ps.grpc.pb.h"
#include "ps/transport.h"
#include "wire/grpc_status.h"

namespace parasol {
namespace {

class PsService final : public ps::ParameterServer::Service {
 public:
  explicit PsService(PsNode* node) : node_(node) {}

  ServerTable* Find(const std::string& name) const { return node_->table(name); }
  DenseTable* FindDense(const std::string& name) const { return node_->dense_table(name); }
  absl::Status UnknownTable(const std::string& name) const { return node_->UnknownTable(name); }

  grpc::Status Pull(grpc::ServerContext*, const ps::PullRequest* request,
                    ps::PullResponse* response) override {
    ServerTable* table = Find(request->table());
    if (table == nullptr) return ToGrpcStatus(UnknownTable(request->table()));
    return ToGrpcStatus(PullInto(
        *table, absl::MakeConstSpan(request->keys().data(), request->keys_size()), response));
  }

  grpc::Status Push(grpc::ServerContext*, const ps::PushRequest* request,
                    ps::PushResponse*) override {
    ServerTable* table = Find(request->table());
    if (table == nullptr) return ToGrpcStatus(UnknownTable(request->table()));
    return ToGrpcStatus(
        table->Push(absl::MakeConstSpan(request->keys().data(), request->keys_size()),
                    absl::MakeConstSpan(request->grads().data(), request->grads_size())));
  }

  grpc::Status PushPull(grpc::ServerContext*, const ps::PushRequest* request,
                        ps::PullResponse* response) override {
    ServerTable* table = Find(request->table());
    if (table == nullptr) return ToGrpcStatus(UnknownTable(request->table()));
    const auto keys = absl::MakeConstSpan(request->keys().data(), request->keys_size());
    const absl::Status pushed =
        table->Push(keys, absl::MakeConstSpan(request->grads().data(), request->grads_size()));
    if (!pushed.ok()) return ToGrpcStatus(pushed);
    return ToGrpcStatus(PullInto(*table, keys, response));
  }

  grpc::Status DensePull(grpc::ServerContext*, const ps::DensePullRequest* request,
                         ps::DensePullResponse* response) override {
    DenseTable* table = FindDense(request->table());
    if (table == nullptr) return ToGrpcStatus(UnknownTable(request->table()));
    // Checked against the range first: `length` comes off the wire and sizes the reply.
    const absl::Status in_range = table->CheckRange(request->offset(), request->length(), "pull");
    if (!in_range.ok()) return ToGrpcStatus(in_range);
    if (request->length() * sizeof(float) > static_cast<uint64_t>(kPsMaxMessageBytes)) {
      return ToGrpcStatus(absl::ResourceExhaustedError(
          absl::StrCat("dense pull of ", request->length(), " floats exceeds the reply limit of ",
                       kPsMaxMessageBytes, " bytes; split the request")));
    }
    response->mutable_values()->Resize(static_cast<int>(request->length()), 0.0f);
    return ToGrpcStatus(
        table->Pull(request->offset(), absl::MakeSpan(response->mutable_values()->mutable_data(),
                                                      static_cast<size_t>(request->length()))));
  }

  grpc::Status DensePush(grpc::ServerContext*, const ps::DensePushRequest* request,
                         ps::DensePushResponse*) override {
    DenseTable* table = FindDense(request->table());
    if (table == nullptr) return ToGrpcStatus(UnknownTable(request->table()));
    return ToGrpcStatus(table->Push(
        request->offset(), absl::MakeConstSpan(request->grads().data(), request->grads_size())));
  }

  grpc::Status Export(grpc::ServerContext* context, const ps::ExportRequest* request,
                      grpc::ServerWriter<ps::ExportChunk>* writer) override {
    ServerTable* table = Find(request->table());
    const DenseTable* dense = table == nullptr ? FindDense(request->table()) : nullptr;
    if (table == nullptr && dense == nullptr) {
      return ToGrpcStatus(UnknownTable(request->table()));
    }
    const uint32_t per_chunk = request->rows_per_chunk() == 0 ? 65536 : request->rows_per_chunk();
    const int dim = table != nullptr ? table->dim() : 1;
    const int row_floats = table != nullptr ? table->row_floats() : 1 + dense->state_per_weight();
    ps::ExportChunk chunk;
    bool ok = true;
    auto flush = [&] {
      chunk.set_dim(dim);
      chunk.set_row_floats(row_floats);
      ok = ok && !context->IsCancelled() && writer->Write(chunk);
      chunk.Clear();
    };
    auto add = [&](uint64_t key, const float* row) {
      if (!ok) return;
      chunk.add_keys(key);
      chunk.mutable_rows()->Add(row, row + row_floats);
      if (static_cast<uint32_t>(chunk.keys_size()) >= per_chunk) flush();
    };
    if (table != nullptr) {
      table->ForEachRow(add);
    } else {
      ForEachDenseRow(*dense,
                      [&](uint64_t index, absl::Span<const float> row) { add(index, row.data()); });
    }
    if (chunk.keys_size() > 0) flush();
    return ok ? grpc::Status::OK : grpc::Status(grpc::StatusCode::CANCELLED, "export cancelled");
  }

  grpc::Status Clock(grpc::ServerContext*, const ps::ClockRequest* request,
                     ps::ClockResponse* response) override {
    ClockCall call;
    call.worker = request->worker();
    call.num_workers = request->num_workers();
    call.clock = request->clock();
    call.staleness = request->staleness();
    call.finished = request->finished();
    call.timeout = std::chrono::milliseconds(
        std::min<uint32_t>(request->timeout_ms() == 0 ? 600000 : request->timeout_ms(), 3600000));
    if (request->epoch_op() < 0 || request->epoch_op() > 3) {
      return ToGrpcStatus(absl::InvalidArgumentError(
          absl::StrCat("clock: unknown epoch_op ", request->epoch_op())));
    }
    call.epoch_op = static_cast<ClockCall::EpochOp>(request->epoch_op());
    call.epoch = request->epoch();
    call.stop = request->stop();
    auto reply = node_->Clock(call);
    if (!reply.ok()) return ToGrpcStatus(reply.status());
    response->set_stop(reply->stop);
    return grpc::Status::OK;
  }

  grpc::Status Checkpoint(grpc::ServerContext*, const ps::CheckpointRequest* request,
                          ps::CheckpointResponse* response) override {
    ShardCheckpointRequest call;
    call.table = request->table();
    call.name = request->name();
    call.previous = request->previous();
    call.shard = request->shard();
    call.num_shards = request->num_shards();
    auto written = node_->Checkpoint(call);
    if (!written.ok()) return ToGrpcStatus(written.status());
    response->set_file(written->file.file);
    response->set_rows(written->file.rows);
    response->set_checksum(written->file.checksum);
    response->set_delta(written->file.delta);
    response->set_features(written->features);
    for (int64_t c : written->worker_clocks) response->add_worker_clocks(c);
    return grpc::Status::OK;
  }

  grpc::Status Stats(grpc::ServerContext*, const ps::StatsRequest*,
                     ps::StatsResponse* response) override {
    const PsStats stats = node_->Stats();
    for (int64_t c : stats.worker_clocks) response->add_worker_clocks(c);
    for (const ServerTableStats& s : stats.tables) {
      ps::TableStats* out = response->add_tables();
      out->set_name(s.name);
      out->set_dim(s.dim);
      out->set_rows(s.rows);
      out->set_bytes(s.bytes);
      out->set_pulls(s.pulled_keys);
      out->set_pushes(s.pushed_keys);
      out->set_evicted(s.evicted_rows);
      out->set_unadmitted(s.unadmitted_keys);
    }
    for (const DenseTableStats& s : stats.dense) {
      ps::TableStats* out = response->add_tables();
      out->set_name(s.name);
      out->set_dense(true);
      out->set_dim(1);
      out->set_size(s.size);
      out->set_begin(s.range.begin);
      out->set_rows(s.range.size());
      out->set_bytes(s.bytes);
      out->set_pulls(s.pulled);
      out->set_pushes(s.pushed);
      out->set_state_dim(s.state_per_weight);
    }
    return grpc::Status::OK;
  }

 private:
  // The rows of `keys` into `response`, within the reply size limit.
  static absl::Status PullInto(ServerTable& table, absl::Span<const uint64_t> keys,
                               ps::PullResponse* response) {
    const size_t floats = keys.size() * table.dim();
    if (floats * sizeof(float) > static_cast<size_t>(kPsMaxMessageBytes)) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "pull of ", keys.size(), " keys × dim ", table.dim(), " exceeds the reply limit of ",
          kPsMaxMessageBytes, " bytes; split the request"));
    }
    response->set_dim(table.dim());
    response->mutable_values()->Resize(static_cast<int>(floats), 0.0f);
    table.Pull(keys, absl::MakeSpan(response->mutable_values()->mutable_data(), floats));
    return absl::OkStatus();
  }

  PsNode* const node_;
};

}  // namespace

struct PsGrpcServer::Impl {
  std::unique_ptr<PsNode> owned;  // when the server owns its node
  std::unique_ptr<PsService> service;
  std::unique_ptr<grpc::Server> server;
};

absl::StatusOr<std::unique_ptr<PsGrpcServer>> PsGrpcServer::Start(const std::string& address,
                                                                  PsNode* node) {
  auto impl = std::make_unique<Impl>();
  impl->service = std::make_unique<PsService>(node);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &port);
  builder.SetMaxReceiveMessageSize(kPsMaxMessageBytes);
  builder.SetMaxSendMessageSize(kPsMaxMessageBytes);
  builder.RegisterService(impl->service.get());
  impl->server = builder.BuildAndStart();
  if (impl->server == nullptr || port == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", address, " (address in use or not local?)"));
  }
  const std::string host = address.substr(0, address.rfind(':'));
  return std::unique_ptr<PsGrpcServer>(
      new PsGrpcServer(std::move(impl), node, absl::StrCat(host, ":", port)));
}

absl::StatusOr<std::unique_ptr<PsGrpcServer>> PsGrpcServer::Start(
    const std::string& address, std::vector<std::unique_ptr<ServerTable>> tables,
    const std::string& checkpoint_root, std::vector<std::unique_ptr<DenseTable>> dense) {
  auto node = std::make_unique<PsNode>(std::move(tables), std::move(dense), checkpoint_root);
  auto server = Start(address, node.get());
  if (server.ok()) (*server)->impl_->owned = std::move(node);
  return server;
}

PsGrpcServer::PsGrpcServer(std::unique_ptr<Impl> impl, PsNode* node, std::string address)
    : impl_(std::move(impl)), node_(node), address_(std::move(address)) {}

PsGrpcServer::~PsGrpcServer() { Shutdown(); }

ServerTable* PsGrpcServer::table(const std::string& name) const { return node_->table(name); }

DenseTable* PsGrpcServer::dense_table(const std::string& name) const {
  return node_->dense_table(name);
}

void PsGrpcServer::RestoreClocks(const std::vector<int64_t>& clocks) {
  node_->RestoreClocks(clocks);
}

void PsGrpcServer::Shutdown() { impl_->server->Shutdown(); }

void PsGrpcServer::Wait() { impl_->server->Wait(); }

}  // namespace parasol
