// A real gRPC server on a loopback port, a real client.
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <numeric>
#include <thread>

#include "gtest/gtest.h"
#include "proto/ps.grpc.pb.h"
#include "ps/grpc_server.h"
#include "ps/grpc_transport.h"
#include "ps/kv_worker.h"

namespace parasol {
namespace {

std::unique_ptr<PsGrpcServer> StartServer() {
  ServerTableConfig config;
  config.model.type = ModelType::kFm;
  config.model.k = 3;
  config.optimizer.name = "adagrad";
  std::vector<std::unique_ptr<ServerTable>> tables;
  tables.push_back(*ServerTable::Create(config));
  auto server = PsGrpcServer::Start("127.0.0.1:0", std::move(tables));
  EXPECT_TRUE(server.ok()) << server.status();
  return *std::move(server);
}

TEST(PsGrpcTest, WorkerOverGrpcMatchesInProcess) {
  auto s0 = StartServer();
  auto s1 = StartServer();
  GrpcTransport transport({s0->address(), s1->address()});
  KvWorker worker(&transport, "weights", 4);

  // The same calls against in-process tables.
  std::vector<std::unique_ptr<PsNode>> local;
  std::vector<PsNode*> raw;
  for (int i = 0; i < 2; ++i) {
    ServerTableConfig config;
    config.model.type = ModelType::kFm;
    config.model.k = 3;
    config.optimizer.name = "adagrad";
    std::vector<std::unique_ptr<ServerTable>> tables;
    tables.push_back(*ServerTable::Create(config));
    local.push_back(
        std::make_unique<PsNode>(std::move(tables), std::vector<std::unique_ptr<DenseTable>>{}));
    raw.push_back(local.back().get());
  }
  InProcessTransport in_process(raw);
  KvWorker reference(&in_process, "weights", 4);

  std::vector<uint64_t> keys(1000);
  std::iota(keys.begin(), keys.end(), 77);
  std::vector<float> grads(keys.size() * 4);
  for (size_t i = 0; i < grads.size(); ++i) grads[i] = 0.001f * static_cast<float>(i % 97);
  ASSERT_TRUE(worker.Wait(worker.Push(keys, grads)).ok());
  ASSERT_TRUE(reference.Wait(reference.Push(keys, grads)).ok());
  std::vector<float> got, want;
  ASSERT_TRUE(worker.Wait(worker.Pull(keys, &got)).ok());
  ASSERT_TRUE(reference.Wait(reference.Pull(keys, &want)).ok());
  EXPECT_EQ(got, want);
  // PushPull: the rows after a second push, in one round trip per server.
  ASSERT_TRUE(worker.Wait(worker.PushPull(keys, grads, &got)).ok());
  ASSERT_TRUE(reference.Wait(reference.PushPull(keys, grads, &want)).ok());
  EXPECT_EQ(got, want);
  std::vector<float> after;
  ASSERT_TRUE(worker.Wait(worker.Pull(keys, &after)).ok());
  EXPECT_EQ(after, got);
  EXPECT_EQ(s0->table("weights")->Stats().rows + s1->table("weights")->Stats().rows, 1000u);
}

TEST(PsGrpcTest, MalformedRequestsGetErrorsAndTheServerKeepsServing) {
  auto server = StartServer();
  auto stub = ps::ParameterServer::NewStub(
      grpc::CreateChannel(server->address(), grpc::InsecureChannelCredentials()));
  {
    grpc::ClientContext ctx;
    ps::PushRequest req;
    ps::PushResponse resp;
    req.set_table("weights");
    req.add_keys(1);
    req.add_keys(2);
    req.add_grads(0.5f);  // needs 8
    const grpc::Status st = stub->Push(&ctx, req, &resp);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(st.error_message().find("2 keys need 8 gradients"), std::string::npos)
        << st.error_message();
  }
  {
    grpc::ClientContext ctx;
    ps::PushRequest req;
    ps::PullResponse resp;
    req.set_table("weights");
    req.add_keys(3);
    req.add_grads(0.5f);  // needs 4
    const grpc::Status st = stub->PushPull(&ctx, req, &resp);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(resp.values_size(), 0);
  }
  {
    grpc::ClientContext ctx;
    ps::PullRequest req;
    ps::PullResponse resp;
    req.set_table("nope");
    req.add_keys(1);
    const grpc::Status st = stub->Pull(&ctx, req, &resp);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_NE(st.error_message().find("weights"), std::string::npos);
  }
  {
    grpc::ClientContext ctx;
    ps::PullRequest req;
    ps::PullResponse resp;
    req.set_table("weights");
    req.add_keys(1);
    ASSERT_TRUE(stub->Pull(&ctx, req, &resp).ok());
    EXPECT_EQ(resp.dim(), 4u);
    EXPECT_EQ(resp.values_size(), 4);
  }
  {
    grpc::ClientContext ctx;
    ps::StatsResponse resp;
    ASSERT_TRUE(stub->Stats(&ctx, ps::StatsRequest(), &resp).ok());
    ASSERT_EQ(resp.tables_size(), 1);
    EXPECT_EQ(resp.tables(0).rows(), 0u);    // pulls create no rows
    EXPECT_EQ(resp.tables(0).pushes(), 0u);  // the malformed push changed nothing
  }
  {
    grpc::ClientContext ctx;
    ps::CheckpointRequest req;
    ps::CheckpointResponse resp;
    req.set_table("weights");
    req.set_name("c1");
    req.set_num_shards(1);
    const grpc::Status st = stub->Checkpoint(&ctx, req, &resp);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
    EXPECT_NE(st.error_message().find("--checkpoint-dir"), std::string::npos);
  }
}

TEST(PsGrpcTest, CheckpointNamesAreConfinedToTheCheckpointDirectory) {
  const std::string root = ::testing::TempDir() + "/grpc_test_ckpt_" + std::to_string(getpid());
  ServerTableConfig config;
  config.optimizer.name = "sgd";
  std::vector<std::unique_ptr<ServerTable>> tables;
  tables.push_back(*ServerTable::Create(config));
  auto server = PsGrpcServer::Start("127.0.0.1:0", std::move(tables), root);
  ASSERT_TRUE(server.ok()) << server.status();
  auto stub = ps::ParameterServer::NewStub(
      grpc::CreateChannel((*server)->address(), grpc::InsecureChannelCredentials()));
  for (const char* name : {"../escape", "a/b", "..", ""}) {
    grpc::ClientContext ctx;
    ps::CheckpointRequest req;
    ps::CheckpointResponse resp;
    req.set_table("weights");
    req.set_name(name);
    req.set_num_shards(1);
    EXPECT_EQ(stub->Checkpoint(&ctx, req, &resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << name;
  }
  grpc::ClientContext ctx;
  ps::CheckpointRequest req;
  ps::CheckpointResponse resp;
  req.set_table("weights");
  req.set_name("ckpt-1");
  req.set_shard(2);
  req.set_num_shards(3);
  ASSERT_TRUE(stub->Checkpoint(&ctx, req, &resp).ok());
  EXPECT_EQ(resp.file(), "weights-2-of-3.bin");
  EXPECT_TRUE(std::filesystem::exists(root + "/ckpt-1/weights-2-of-3.bin"));
  EXPECT_FALSE(std::filesystem::exists(::testing::TempDir() + "/escape"));
  std::filesystem::remove_all(root);
}

TEST(PsGrpcTest, DeadServerIsAnErrorNotAHang) {
  auto server = StartServer();
  const std::string address = server->address();
  server.reset();  // gone, and nobody restarts it within the retry window
  GrpcTransport transport({address}, /*retry_seconds=*/0.5);
  KvWorker worker(&transport, "weights", 4);
  std::vector<float> values;
  const std::vector<uint64_t> keys = {1};
  const absl::Status st = worker.Wait(worker.Pull(keys, &values));
  EXPECT_EQ(st.code(), absl::StatusCode::kUnavailable) << st;
  EXPECT_NE(st.message().find("server 0"), std::string::npos);
}

TEST(PsGrpcTest, CallsWaitForAServerRestartedOnTheSameAddress) {
  auto server = StartServer();
  const std::string address = server->address();
  GrpcTransport transport({address}, /*retry_seconds=*/30);
  KvWorker worker(&transport, "weights", 4);
  std::vector<float> values;
  const std::vector<uint64_t> keys = {1, 2};
  ASSERT_TRUE(worker.Wait(worker.Pull(keys, &values)).ok());
  server.reset();  // killed...
  const auto pull = worker.Pull(keys, &values);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ServerTableConfig config;  // ...and back on its address, as the launcher restarts it
  config.model.type = ModelType::kFm;
  config.model.k = 3;
  config.optimizer.name = "adagrad";
  std::vector<std::unique_ptr<ServerTable>> tables;
  tables.push_back(*ServerTable::Create(config));
  auto restarted = PsGrpcServer::Start(address, std::move(tables));
  ASSERT_TRUE(restarted.ok()) << restarted.status();
  EXPECT_TRUE(worker.Wait(pull).ok());
  EXPECT_EQ(values.size(), 8u);
}

}  // namespace
}  // namespace parasol
