#include "ps/grpc_transport.h"

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "model/sparse_table.h"
#include "proto/ps.grpc.pb.h"
#include "ps/grpc_server.h"
#include "ps/grpc_status.h"

namespace parasol {

absl::Status ExportFromServer(const std::string& address, const std::string& table,
                              SparseTable* into) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kPsMaxMessageBytes);
  auto stub = ps::ParameterServer::NewStub(
      grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args));
  grpc::ClientContext context;
  ps::ExportRequest request;
  request.set_table(table);
  auto reader = stub->Export(&context, request);
  ps::ExportChunk chunk;
  while (reader->Read(&chunk)) {
    if (static_cast<int>(chunk.row_floats()) != into->row_floats() ||
        chunk.rows_size() != chunk.keys_size() * static_cast<int>(chunk.row_floats())) {
      context.TryCancel();
      reader->Finish();
      return absl::DataLossError(absl::StrCat(address, ": export chunk with ", chunk.row_floats(),
                                              " floats per row, expected ", into->row_floats()));
    }
    for (int i = 0; i < chunk.keys_size(); ++i) {
      into->Put(chunk.keys(i), chunk.rows().data() + static_cast<size_t>(i) * chunk.row_floats());
    }
  }
  const grpc::Status status = reader->Finish();
  if (!status.ok()) {
    return absl::Status(FromGrpcStatus(status).code(),
                        absl::StrCat(address, ": export failed: ", status.error_message()));
  }
  return absl::OkStatus();
}

struct GrpcTransport::Impl {
  std::vector<std::unique_ptr<ps::ParameterServer::Stub>> stubs;
};

GrpcTransport::GrpcTransport(const std::vector<std::string>& addresses)
    : impl_(std::make_unique<Impl>()) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kPsMaxMessageBytes);
  args.SetMaxSendMessageSize(kPsMaxMessageBytes);
  for (const std::string& address : addresses) {
    impl_->stubs.push_back(ps::ParameterServer::NewStub(
        grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args)));
  }
}

GrpcTransport::~GrpcTransport() = default;

int GrpcTransport::num_servers() const { return static_cast<int>(impl_->stubs.size()); }

namespace {

absl::Status CallClock(ps::ParameterServer::Stub& stub, const ps::ClockRequest& request) {
  grpc::ClientContext context;
  ps::ClockResponse response;
  const grpc::Status status = stub.Clock(&context, request, &response);
  if (status.ok()) return absl::OkStatus();
  return absl::Status(FromGrpcStatus(status).code(),
                      absl::StrCat("clock (server 0): ", status.error_message()));
}

}  // namespace

absl::Status GrpcTransport::AdvanceClock(int worker, int num_workers, int64_t clock,
                                         int64_t staleness) {
  ps::ClockRequest request;
  request.set_worker(worker);
  request.set_num_workers(num_workers);
  request.set_clock(clock);
  request.set_staleness(staleness);
  return CallClock(*impl_->stubs[0], request);
}

absl::Status GrpcTransport::FinishClock(int worker, int num_workers) {
  ps::ClockRequest request;
  request.set_worker(worker);
  request.set_num_workers(num_workers);
  request.set_finished(true);
  return CallClock(*impl_->stubs[0], request);
}

void GrpcTransport::Pull(int server, const std::string& table, std::vector<uint64_t> keys,
                         std::vector<float>* values, Done done) {
  struct State {
    grpc::ClientContext context;
    ps::PullRequest request;
    ps::PullResponse response;
  };
  auto state = std::make_shared<State>();
  state->request.set_table(table);
  state->request.mutable_keys()->Add(keys.begin(), keys.end());
  const size_t expected = keys.size();
  impl_->stubs[server]->async()->Pull(
      &state->context, &state->request, &state->response,
      [state, values, expected, server, done = std::move(done)](grpc::Status status) {
        if (!status.ok()) {
          return done(absl::Status(FromGrpcStatus(status).code(),
                                   absl::StrCat("server ", server, ": ", status.error_message())));
        }
        const auto& v = state->response.values();
        if (static_cast<size_t>(v.size()) != expected * state->response.dim()) {
          return done(absl::DataLossError(absl::StrCat("server ", server, " answered ", v.size(),
                                                       " values for ", expected, " keys")));
        }
        values->assign(v.begin(), v.end());
        done(absl::OkStatus());
      });
}

void GrpcTransport::Push(int server, const std::string& table, std::vector<uint64_t> keys,
                         std::vector<float> grads, Done done) {
  struct State {
    grpc::ClientContext context;
    ps::PushRequest request;
    ps::PushResponse response;
  };
  auto state = std::make_shared<State>();
  state->request.set_table(table);
  state->request.mutable_keys()->Add(keys.begin(), keys.end());
  state->request.mutable_grads()->Add(grads.begin(), grads.end());
  impl_->stubs[server]->async()->Push(
      &state->context, &state->request, &state->response,
      [state, server, done = std::move(done)](grpc::Status status) {
        if (!status.ok()) {
          return done(absl::Status(FromGrpcStatus(status).code(),
                                   absl::StrCat("server ", server, ": ", status.error_message())));
        }
        done(absl::OkStatus());
      });
}

}  // namespace parasol
