#include "ps/grpc_server.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/hash.h"
#include "proto/ps.grpc.pb.h"
#include "ps/clock_table.h"
#include "wire/grpc_status.h"

namespace parasol {
namespace {

class PsService final : public ps::ParameterServer::Service {
 public:
  PsService(std::vector<std::unique_ptr<ServerTable>> tables,
            std::vector<std::unique_ptr<DenseTable>> dense, std::string checkpoint_root)
      : tables_(std::move(tables)),
        dense_(std::move(dense)),
        checkpoint_root_(std::move(checkpoint_root)) {}

  ClockTable& clocks() { return clocks_; }

  ServerTable* Find(const std::string& name) const {
    for (const auto& t : tables_) {
      if (t->name() == name) return t.get();
    }
    return nullptr;
  }

  DenseTable* FindDense(const std::string& name) const {
    for (const auto& t : dense_) {
      if (t->name() == name) return t.get();
    }
    return nullptr;
  }

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
    if (table == nullptr) return ToGrpcStatus(UnknownTable(request->table()));
    const uint32_t per_chunk = request->rows_per_chunk() == 0 ? 65536 : request->rows_per_chunk();
    const int row_floats = table->row_floats();
    ps::ExportChunk chunk;
    bool ok = true;
    auto flush = [&] {
      chunk.set_dim(table->dim());
      chunk.set_row_floats(row_floats);
      ok = ok && !context->IsCancelled() && writer->Write(chunk);
      chunk.Clear();
    };
    table->ForEachRow([&](uint64_t key, const float* row) {
      if (!ok) return;
      chunk.add_keys(key);
      chunk.mutable_rows()->Add(row, row + row_floats);
      if (static_cast<uint32_t>(chunk.keys_size()) >= per_chunk) flush();
    });
    if (chunk.keys_size() > 0) flush();
    return ok ? grpc::Status::OK : grpc::Status(grpc::StatusCode::CANCELLED, "export cancelled");
  }

  grpc::Status Clock(grpc::ServerContext*, const ps::ClockRequest* request,
                     ps::ClockResponse*) override {
    if (request->finished()) {
      return ToGrpcStatus(clocks_.Finish(request->worker(), request->num_workers()));
    }
    const uint32_t timeout_ms =
        std::min<uint32_t>(request->timeout_ms() == 0 ? 600000 : request->timeout_ms(), 3600000);
    return ToGrpcStatus(clocks_.Advance(request->worker(), request->num_workers(), request->clock(),
                                        request->staleness(),
                                        std::chrono::milliseconds(timeout_ms)));
  }

  grpc::Status Checkpoint(grpc::ServerContext*, const ps::CheckpointRequest* request,
                          ps::CheckpointResponse* response) override {
    return ToGrpcStatus(WriteCheckpoint(*request, response));
  }

  grpc::Status Stats(grpc::ServerContext*, const ps::StatsRequest*,
                     ps::StatsResponse* response) override {
    for (int64_t c : clocks_.Snapshot()) response->add_worker_clocks(c);
    for (const auto& t : tables_) {
      const ServerTableStats s = t->Stats();
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
    for (const auto& t : dense_) {
      const DenseTableStats s = t->Stats();
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
      out->set_state_dim(t->state_per_weight());
    }
    return grpc::Status::OK;
  }

 private:
  absl::Status WriteCheckpoint(const ps::CheckpointRequest& request,
                               ps::CheckpointResponse* response) {
    if (checkpoint_root_.empty()) {
      return absl::FailedPreconditionError(
          "this server has no checkpoint directory (start it with --checkpoint-dir)");
    }
    if (!IsPlainName(request.name()) ||
        (!request.previous().empty() && !IsPlainName(request.previous()))) {
      return absl::InvalidArgumentError(
          absl::StrCat("checkpoint names must be plain directory names ([A-Za-z0-9._-], not "
                       "'.' or '..'), got '",
                       request.name(), "' and previous '", request.previous(), "'"));
    }
    if (request.num_shards() < 1 || request.shard() < 0 ||
        request.shard() >= request.num_shards()) {
      return absl::InvalidArgumentError(
          absl::StrCat("shard ", request.shard(), " is not in [0, ", request.num_shards(), ")"));
    }
    ServerTable* table = Find(request.table());
    DenseTable* dense = table == nullptr ? FindDense(request.table()) : nullptr;
    if (table == nullptr && dense == nullptr) return UnknownTable(request.table());
    namespace fs = std::filesystem;
    const fs::path dir = fs::path(checkpoint_root_) / request.name();
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) {
      return absl::UnavailableError(
          absl::StrCat("cannot create ", dir.string(), ": ", ec.message()));
    }
    const std::string file =
        absl::StrCat(request.table(), "-", request.shard(), "-of-", request.num_shards(), ".bin");
    auto written = table != nullptr ? table->WriteCheckpoint((dir / file).string(), request.name(),
                                                             request.previous())
                                    : dense->WriteCheckpoint((dir / file).string());
    if (!written.ok()) return written.status();
    response->set_file(written->file);
    response->set_rows(written->rows);
    response->set_checksum(written->checksum);
    response->set_delta(written->delta);
    if (table != nullptr) {
      response->set_features(table->Stats().rows - (table->Contains(kBiasKey) ? 1 : 0));
    }
    for (int64_t c : clocks_.Snapshot()) response->add_worker_clocks(c);
    return absl::OkStatus();
  }

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

  static bool IsPlainName(const std::string& name) {
    if (name.empty() || name == "." || name == ".." || name.size() > 200) return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
    });
  }

  absl::Status UnknownTable(const std::string& name) const {
    std::string known;
    for (const auto& t : tables_) absl::StrAppend(&known, known.empty() ? "" : ", ", t->name());
    for (const auto& t : dense_) {
      absl::StrAppend(&known, known.empty() ? "" : ", ", t->name(), " (dense)");
    }
    return absl::NotFoundError(
        absl::StrCat("no table '", name, "' (this server has: ", known, ")"));
  }

  std::vector<std::unique_ptr<ServerTable>> tables_;
  std::vector<std::unique_ptr<DenseTable>> dense_;
  const std::string checkpoint_root_;
  ClockTable clocks_;
};

}  // namespace

struct PsGrpcServer::Impl {
  std::unique_ptr<PsService> service;
  std::unique_ptr<grpc::Server> server;
};

absl::StatusOr<std::unique_ptr<PsGrpcServer>> PsGrpcServer::Start(
    const std::string& address, std::vector<std::unique_ptr<ServerTable>> tables,
    const std::string& checkpoint_root, std::vector<std::unique_ptr<DenseTable>> dense) {
  auto impl = std::make_unique<Impl>();
  impl->service = std::make_unique<PsService>(std::move(tables), std::move(dense), checkpoint_root);
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
      new PsGrpcServer(std::move(impl), absl::StrCat(host, ":", port)));
}

PsGrpcServer::PsGrpcServer(std::unique_ptr<Impl> impl, std::string address)
    : impl_(std::move(impl)), address_(std::move(address)) {}

PsGrpcServer::~PsGrpcServer() { Shutdown(); }

ServerTable* PsGrpcServer::table(const std::string& name) const {
  return impl_->service->Find(name);
}

DenseTable* PsGrpcServer::dense_table(const std::string& name) const {
  return impl_->service->FindDense(name);
}

void PsGrpcServer::RestoreClocks(const std::vector<int64_t>& clocks) {
  impl_->service->clocks().Restore(clocks);
}

void PsGrpcServer::Shutdown() { impl_->server->Shutdown(); }

void PsGrpcServer::Wait() { impl_->server->Wait(); }

}  // namespace parasol
