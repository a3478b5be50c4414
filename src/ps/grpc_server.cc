#include "ps/grpc_server.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>

#include "absl/strings/str_cat.h"
#include "proto/ps.grpc.pb.h"
#include "ps/clock_table.h"
#include "wire/grpc_status.h"

namespace parasol {
namespace {

class PsService final : public ps::ParameterServer::Service {
 public:
  explicit PsService(std::vector<std::unique_ptr<ServerTable>> tables)
      : tables_(std::move(tables)) {}

  ServerTable* Find(const std::string& name) const {
    for (const auto& t : tables_) {
      if (t->name() == name) return t.get();
    }
    return nullptr;
  }

  grpc::Status Pull(grpc::ServerContext*, const ps::PullRequest* request,
                    ps::PullResponse* response) override {
    ServerTable* table = Find(request->table());
    if (table == nullptr) return ToGrpcStatus(UnknownTable(request->table()));
    const size_t n = static_cast<size_t>(request->keys_size());
    const size_t floats = n * table->dim();
    if (floats * sizeof(float) > static_cast<size_t>(kPsMaxMessageBytes)) {
      return ToGrpcStatus(absl::ResourceExhaustedError(
          absl::StrCat("pull of ", n, " keys × dim ", table->dim(), " exceeds the reply limit of ",
                       kPsMaxMessageBytes, " bytes; split the request")));
    }
    response->set_dim(table->dim());
    response->mutable_values()->Resize(static_cast<int>(floats), 0.0f);
    table->Pull(absl::MakeConstSpan(request->keys().data(), n),
                absl::MakeSpan(response->mutable_values()->mutable_data(), floats));
    return grpc::Status::OK;
  }

  grpc::Status Push(grpc::ServerContext*, const ps::PushRequest* request,
                    ps::PushResponse*) override {
    ServerTable* table = Find(request->table());
    if (table == nullptr) return ToGrpcStatus(UnknownTable(request->table()));
    return ToGrpcStatus(
        table->Push(absl::MakeConstSpan(request->keys().data(), request->keys_size()),
                    absl::MakeConstSpan(request->grads().data(), request->grads_size())));
  }

  grpc::Status Export(grpc::ServerContext* context, const ps::ExportRequest* request,
                      grpc::ServerWriter<ps::ExportChunk>* writer) override {
    ServerTable* table = Find(request->table());
    if (table == nullptr) return ToGrpcStatus(UnknownTable(request->table()));
    const uint32_t per_chunk = request->rows_per_chunk() == 0 ? 65536 : request->rows_per_chunk();
    const int row_floats = table->table().row_floats();
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

  grpc::Status Stats(grpc::ServerContext*, const ps::StatsRequest*,
                     ps::StatsResponse* response) override {
    for (const auto& t : tables_) {
      const ServerTableStats s = t->Stats();
      ps::TableStats* out = response->add_tables();
      out->set_name(s.name);
      out->set_dim(s.dim);
      out->set_rows(s.rows);
      out->set_bytes(s.bytes);
      out->set_pulls(s.pulled_keys);
      out->set_pushes(s.pushed_keys);
    }
    return grpc::Status::OK;
  }

 private:
  absl::Status UnknownTable(const std::string& name) const {
    std::string known;
    for (const auto& t : tables_) absl::StrAppend(&known, known.empty() ? "" : ", ", t->name());
    return absl::NotFoundError(
        absl::StrCat("no table '", name, "' (this server has: ", known, ")"));
  }

  std::vector<std::unique_ptr<ServerTable>> tables_;
  ClockTable clocks_;
};

}  // namespace

struct PsGrpcServer::Impl {
  std::unique_ptr<PsService> service;
  std::unique_ptr<grpc::Server> server;
};

absl::StatusOr<std::unique_ptr<PsGrpcServer>> PsGrpcServer::Start(
    const std::string& address, std::vector<std::unique_ptr<ServerTable>> tables) {
  auto impl = std::make_unique<Impl>();
  impl->service = std::make_unique<PsService>(std::move(tables));
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

void PsGrpcServer::Shutdown() { impl_->server->Shutdown(); }

void PsGrpcServer::Wait() { impl_->server->Wait(); }

}  // namespace parasol
