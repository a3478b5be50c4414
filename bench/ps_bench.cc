// Parameter-server throughput: pull and push of 8-float rows (FM, k = 7) against one server over
// loopback gRPC, and the same calls on an in-process ServerTable (the ceiling), in keys/s.
//   ps_bench ADDRESS   (a `parasol ps server --model fm --k 7 --optimizer sgd` listening there)
// Prints one JSON object.
#include <chrono>
#include <memory>
#include <cstdio>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "common/allocator.h"
#include "ps/grpc_transport.h"
#include "ps/kv_worker.h"
#include "ps/server_table.h"

namespace {

using Clock = std::chrono::steady_clock;

template <typename Fn>
double KeysPerSecond(size_t keys_per_call, double min_seconds, Fn&& call) {
  call();  // warm-up: creates the rows
  size_t calls = 0;
  const auto start = Clock::now();
  double elapsed = 0;
  do {
    call();
    ++calls;
    elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  } while (elapsed < min_seconds);
  return static_cast<double>(calls * keys_per_call) / elapsed;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: ps_bench HOST:PORT\n");
    return 2;
  }
  using namespace parasol;
  KeepLargeBuffersMapped();
  ServerTableConfig config;
  config.model.type = ModelType::kFm;
  config.model.k = 7;  // rows of 8 floats
  config.optimizer.name = "sgd";
  auto local = *ServerTable::Create(config);
  // Several clients, each its own connection and worker, to see what one server sustains.
  constexpr int kClients = 2;
  std::vector<std::unique_ptr<GrpcTransport>> transports;
  std::vector<std::unique_ptr<KvWorker>> workers;
  for (int c = 0; c < kClients; ++c) {
    transports.push_back(std::make_unique<GrpcTransport>(std::vector<std::string>{argv[1]}));
    workers.push_back(std::make_unique<KvWorker>(transports.back().get(), "weights", 8));
  }
  KvWorker& worker = *workers[0];

  std::printf("{\"dim\": 8, \"clients_for_sustained\": %d, \"results\": [", kClients);
  bool first = true;
  for (size_t batch : {10000, 100000, 1000000}) {
    std::vector<uint64_t> keys(batch);
    std::mt19937_64 rng(batch);
    for (auto& k : keys) k = rng();
    std::vector<float> values(batch * 8), grads(batch * 8, 0.001f);
    // Pushes first: they create the rows, so the pulls read stored rows (pulls never create).
    const double in_push = KeysPerSecond(batch, 1.0, [&] { (void)local->Push(keys, grads); });
    const double in_pull =
        KeysPerSecond(batch, 1.0, [&] { local->Pull(keys, absl::MakeSpan(values)); });
    const double rpc_push = KeysPerSecond(batch, 2.0, [&] {
      if (!worker.Wait(worker.Push(keys, grads)).ok()) std::abort();
    });
    std::vector<float> pulled[kClients];
    const double rpc_pull = KeysPerSecond(batch, 2.0, [&] {
      if (!worker.Wait(worker.Pull(keys, &pulled[0])).ok()) std::abort();
    });
    // Sustained: kClients pulls in flight at once, each on its own connection.
    const double sustained_pull = KeysPerSecond(batch * kClients, 2.0, [&] {
      KvWorker::Timestamp ts[kClients];
      for (int c = 0; c < kClients; ++c) ts[c] = workers[c]->Pull(keys, &pulled[c]);
      for (int c = 0; c < kClients; ++c) {
        if (!workers[c]->Wait(ts[c]).ok()) std::abort();
      }
    });
    std::printf(
        "%s\n  {\"keys_per_request\": %zu, \"grpc_pull_keys_per_s\": %.0f, "
        "\"grpc_push_keys_per_s\": %.0f, \"grpc_sustained_pull_keys_per_s\": %.0f, "
        "\"in_process_pull_keys_per_s\": %.0f, \"in_process_push_keys_per_s\": %.0f, "
        "\"pull_ratio\": %.3f, \"push_ratio\": %.3f}",
        first ? "" : ",", batch, rpc_pull, rpc_push, sustained_pull, in_pull, in_push,
        rpc_pull / in_pull, rpc_push / in_push);
    first = false;
  }
  std::printf("\n]}\n");
  return 0;
}
