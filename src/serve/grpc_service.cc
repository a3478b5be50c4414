#include "serve/grpc_service.h"

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "proto/serving.grpc.pb.h"
#include "serve/grpc_call.h"
#include "serve/serving_core.h"
#include "serve/tf_grpc_service.h"

namespace parasol {
namespace {

using ServablePtr = ServingCore::ServablePtr;

VersionSelector Selector(const serving::ModelSpec& spec) {
  return SelectorOf(spec, spec.version());
}

// The shared call path for a request of Parasol's schema; the status converted in wire/.
template <typename Fn>
grpc::Status Serve(const ServingCore& core, ServeApi api, const serving::ModelSpec& spec,
                   bool needs_servable, Fn fn) {
  return ToGrpcStatus(core.Call(api, spec.name(), Selector(spec), needs_servable, fn));
}

void Answered(const serving::ModelSpec& request, const Servable& servable,
              serving::ModelSpec* out) {
  out->set_name(request.name());
  out->set_version(servable.version());
}

class ModelService final : public serving::ModelService::Service {
 public:
  explicit ModelService(const ServingCore* core) : core_(*core) {}

  grpc::Status Predict(grpc::ServerContext*, const serving::PredictRequest* request,
                       serving::PredictResponse* response) override {
    return Serve(core_, ServeApi::kPredict, request->model_spec(), true,
                 [&](const ServedModel&, const ServablePtr& servable) -> absl::Status {
                   if (request->rows().empty()) {
                     return absl::InvalidArgumentError("rows: empty, nothing to score");
                   }
                   std::vector<RawInstance> rows(request->rows_size());
                   for (int i = 0; i < request->rows_size(); ++i) {
                     const serving::Row& row = request->rows(i);
                     rows[i].where = absl::StrCat("rows[", i, "]");
                     if (!row.libsvm().empty()) {
                       if (!row.fields().empty()) {
                         return absl::InvalidArgumentError(
                             absl::StrCat(rows[i].where, ": give fields or libsvm, not both"));
                       }
                       rows[i].is_text = true;
                       rows[i].text = row.libsvm();
                     }
                     for (const auto& [name, value] : row.fields()) {
                       rows[i].fields.emplace_back(name, value);
                     }
                   }
                   auto probs = core_.Predict(servable, rows);
                   if (!probs.ok()) return probs.status();
                   response->mutable_probabilities()->Assign(probs->begin(), probs->end());
                   Answered(request->model_spec(), *servable, response->mutable_model_spec());
                   return absl::OkStatus();
                 });
  }

  grpc::Status GetModelStatus(grpc::ServerContext*, const serving::GetModelStatusRequest* request,
                              serving::GetModelStatusResponse* response) override {
    return Serve(core_, ServeApi::kStatus, request->model_spec(), false,
                 [&](const ServedModel& model, const ServablePtr&) -> absl::Status {
                   auto statuses = model.StatusesFor(Selector(request->model_spec()));
                   if (!statuses.ok()) return statuses.status();
                   for (const VersionStatus& s : *statuses) {
                     auto* out = response->add_model_version_status();
                     out->set_version(s.version);
                     out->set_state(VersionStateName(s.state));
                     out->set_error_code(static_cast<int>(s.status.code()));
                     out->set_error_message(std::string(s.status.message()));
                     out->set_deltas_applied(s.deltas.applied);
                     out->set_delta_rows(s.deltas.rows);
                     out->set_checkpoint_id(s.deltas.checkpoint_id);
                     for (const auto& [seq, why] : s.deltas.refused) {
                       auto* r = out->add_refused_deltas();
                       r->set_seq(seq);
                       r->set_error_code(static_cast<int>(why.code()));
                       r->set_error_message(std::string(why.message()));
                     }
                   }
                   return absl::OkStatus();
                 });
  }

  grpc::Status GetModelMetadata(grpc::ServerContext*,
                                const serving::GetModelMetadataRequest* request,
                                serving::GetModelMetadataResponse* response) override {
    return Serve(core_, ServeApi::kMetadata, request->model_spec(), true,
                 [&](const ServedModel&, const ServablePtr& servable) -> absl::Status {
                   Answered(request->model_spec(), *servable, response->mutable_model_spec());
                   response->set_model_type(servable->model_type());
                   response->set_input_format(servable->data_format());
                   for (const ServableInput& in : servable->inputs()) {
                     auto* field = response->add_inputs();
                     field->set_name(in.name);
                     field->set_numeric(in.numeric);
                   }
                   response->set_dim(servable->dim());
                   response->set_table_rows(servable->table_rows());
                   return absl::OkStatus();
                 });
  }

  grpc::Status Lookup(grpc::ServerContext*, const serving::LookupRequest* request,
                      serving::LookupResponse* response) override {
    return Serve(core_, ServeApi::kLookup, request->model_spec(), true,
                 [&](const ServedModel&, const ServablePtr& servable) -> absl::Status {
                   const auto& keys = request->keys();
                   const int dim = servable->dim();
                   response->set_dim(dim);
                   // Lookup writes every element: reserve without zero-filling 4.8 MB first.
                   auto* values = response->mutable_values();
                   values->Reserve(keys.size() * dim);
                   auto* found = response->mutable_found();
                   found->Reserve(keys.size());
                   servable->Lookup(absl::MakeConstSpan(keys.data(), keys.size()),
                                    values->AddNAlreadyReserved(keys.size() * dim),
                                    found->AddNAlreadyReserved(keys.size()));
                   Answered(request->model_spec(), *servable, response->mutable_model_spec());
                   return absl::OkStatus();
                 });
  }

 private:
  const ServingCore& core_;
};

}  // namespace

struct ServeGrpcServer::Impl {
  std::unique_ptr<ServingCore> core;  // shared by Parasol's and TF Serving's services
  std::unique_ptr<ModelService> service;
  std::vector<std::unique_ptr<grpc::Service>> tf_services;  // TF Serving's API, same port
  std::unique_ptr<grpc::Server> server;
};

absl::StatusOr<std::unique_ptr<ServeGrpcServer>> ServeGrpcServer::Start(
    const std::string& address, const ModelRepository* repository, int max_message_bytes,
    Batcher* batcher) {
  auto impl = std::make_unique<Impl>();
  impl->core = std::make_unique<ServingCore>(repository, batcher);
  impl->service = std::make_unique<ModelService>(impl->core.get());
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &port);
  // No SO_REUSEPORT: a port in use is an error, not a port silently shared with another server.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.SetMaxReceiveMessageSize(max_message_bytes);
  builder.SetMaxSendMessageSize(INT32_MAX);  // Lookup answers may be large; requests are bounded
  builder.RegisterService(impl->service.get());
  impl->tf_services = MakeTfServingServices(impl->core.get());
  for (auto& service : impl->tf_services) builder.RegisterService(service.get());
  impl->server = builder.BuildAndStart();
  if (impl->server == nullptr || port == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", address, " for gRPC (in use, or a bad address)"));
  }
  const std::string host = address.substr(0, address.rfind(':'));
  return std::unique_ptr<ServeGrpcServer>(
      new ServeGrpcServer(std::move(impl), absl::StrCat(host, ":", port)));
}

ServeGrpcServer::ServeGrpcServer(std::unique_ptr<Impl> impl, std::string address)
    : impl_(std::move(impl)), address_(std::move(address)) {}

ServeGrpcServer::~ServeGrpcServer() { Shutdown(); }

void ServeGrpcServer::Shutdown() { impl_->server->Shutdown(); }

}  // namespace parasol
