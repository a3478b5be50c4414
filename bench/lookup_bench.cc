// Embedding lookups of many keys per request: `parasol serve`'s gRPC Lookup against Redis MGET
// of the same keys (the aim: p99 under 10 ms and 3x Redis for 150,000 keys of 8 floats).
// Driven by bench/lookup_bench.sh, which starts both servers. Row i of the table has key
// FeatureKey(0, i) and floats Value(i, 0..7); every answer is checked against them.
//   lookup_bench make-model DIR ROWS                       writes a model directory (FM, dim 8)
//   lookup_bench redis-load PORT ROWS                       SETs the same rows into Redis
//   lookup_bench parasol|redis TARGET ROWS KEYS REQUESTS CLIENTS
//                                                          prints one JSON line of figures
#include <grpcpp/grpcpp.h>
#include <hiredis.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common/hash.h"
#include "proto/serving.grpc.pb.h"
#include "storage/model_dir.h"

namespace parasol {
namespace {

constexpr int kDim = 8;

float Value(uint64_t i, int j) { return static_cast<float>(i % 100003) * 0.001f + j; }
// How far a parasol answer may be from Value(): 0 (exact) unless the server runs --quantize.
double g_tolerance = 0;

int MakeModel(const std::string& dir, uint64_t rows) {
  ModelManifest manifest;
  manifest.spec.type = ModelType::kFm;
  manifest.spec.k = kDim - 1;
  manifest.optimizer.name = "sgd";
  manifest.feature_count = static_cast<int64_t>(rows);
  SparseTable table(kDim, [](uint64_t, float* row) { std::fill(row, row + kDim, 0.0f); });
  for (uint64_t i = 0; i < rows; ++i) {
    float* row = table.FindOrInsert(FeatureKey(0, i));
    for (int j = 0; j < kDim; ++j) row[j] = Value(i, j);
  }
  auto optimizer = CreateOptimizer(manifest.optimizer);
  auto st = SaveModelDir(dir, manifest, table, **optimizer, 1);
  if (!st.ok()) {
    std::fprintf(stderr, "%s\n", std::string(st.message()).c_str());
    return 1;
  }
  return 0;
}

redisContext* Connect(int port) {
  redisContext* c = redisConnect("127.0.0.1", port);
  if (c == nullptr || c->err) {
    std::fprintf(stderr, "cannot connect to redis on %d\n", port);
    std::exit(1);
  }
  return c;
}

// Keys are the 8 little-endian bytes of FeatureKey(0, i); values 32 bytes of floats.
int RedisLoad(int port, uint64_t rows) {
  redisContext* c = Connect(port);
  constexpr uint64_t kBatch = 1000;
  std::vector<std::string> args;
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  int pending = 0;
  auto drain = [&](int keep) {
    while (pending > keep) {
      void* reply = nullptr;
      if (redisGetReply(c, &reply) != REDIS_OK) std::exit(1);
      freeReplyObject(reply);
      --pending;
    }
  };
  for (uint64_t start = 0; start < rows; start += kBatch) {
    args.assign(1, "MSET");
    for (uint64_t i = start; i < std::min(rows, start + kBatch); ++i) {
      const uint64_t key = FeatureKey(0, i);
      args.emplace_back(reinterpret_cast<const char*>(&key), sizeof(key));
      float v[kDim];
      for (int j = 0; j < kDim; ++j) v[j] = Value(i, j);
      args.emplace_back(reinterpret_cast<const char*>(v), sizeof(v));
    }
    argv.clear();
    lens.clear();
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    redisAppendCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data());
    ++pending;
    drain(16);
  }
  drain(0);
  redisFree(c);
  return 0;
}

struct Result {
  std::vector<double> latencies_ms;
  bool wrong = false;
};

// One client's requests; `check` verifies an answer's rows against Value().
void ParasolClient(const std::string& address, uint64_t rows, int keys, int requests, uint64_t seed,
                   Result* result) {
  auto stub = serving::ModelService::NewStub(
      grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), [] {
        grpc::ChannelArguments args;
        args.SetMaxReceiveMessageSize(-1);
        return args;
      }()));
  std::mt19937_64 rng(seed);
  serving::LookupRequest request;
  request.mutable_model_spec()->set_name("emb");
  std::vector<uint64_t> ids(keys);
  for (int r = 0; r < requests; ++r) {
    request.clear_keys();
    for (int k = 0; k < keys; ++k) {
      ids[k] = rng() % rows;
      request.add_keys(FeatureKey(0, ids[k]));
    }
    serving::LookupResponse response;
    grpc::ClientContext context;
    const auto start = std::chrono::steady_clock::now();
    grpc::Status st = stub->Lookup(&context, request, &response);
    result->latencies_ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
            .count());
    if (!st.ok() || response.values_size() != keys * kDim) {
      std::fprintf(stderr, "lookup failed: %s\n", st.error_message().c_str());
      result->wrong = true;
      return;
    }
    for (int k = 0; k < keys; k += 997) {
      if (std::fabs(response.values(k * kDim + 3) - Value(ids[k], 3)) > g_tolerance) {
        result->wrong = true;
      }
    }
  }
}

void RedisClient(int port, uint64_t rows, int keys, int requests, uint64_t seed, Result* result) {
  redisContext* c = Connect(port);
  std::mt19937_64 rng(seed);
  std::vector<uint64_t> ids(keys), hashed(keys);
  std::vector<const char*> argv(keys + 1);
  std::vector<size_t> lens(keys + 1, sizeof(uint64_t));
  argv[0] = "MGET";
  lens[0] = 4;
  for (int r = 0; r < requests; ++r) {
    for (int k = 0; k < keys; ++k) {
      ids[k] = rng() % rows;
      hashed[k] = FeatureKey(0, ids[k]);
      argv[k + 1] = reinterpret_cast<const char*>(&hashed[k]);
    }
    const auto start = std::chrono::steady_clock::now();
    auto* reply = static_cast<redisReply*>(
        redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data()));
    result->latencies_ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
            .count());
    if (reply == nullptr || reply->type != REDIS_REPLY_ARRAY ||
        reply->elements != static_cast<size_t>(keys)) {
      result->wrong = true;
      if (reply != nullptr) freeReplyObject(reply);
      break;
    }
    for (int k = 0; k < keys; k += 997) {
      const redisReply* e = reply->element[k];
      float v[kDim];
      if (e->type != REDIS_REPLY_STRING || e->len != sizeof(v)) {
        result->wrong = true;
        continue;
      }
      std::memcpy(v, e->str, sizeof(v));
      if (v[3] != Value(ids[k], 3)) result->wrong = true;
    }
    freeReplyObject(reply);
  }
  redisFree(c);
}

int Measure(const std::string& system, const std::string& target, uint64_t rows, int keys,
            int requests, int clients) {
  std::vector<Result> results(clients);
  std::vector<std::thread> threads;
  const auto start = std::chrono::steady_clock::now();
  for (int t = 0; t < clients; ++t) {
    threads.emplace_back([&, t] {
      if (system == "parasol") {
        ParasolClient(target, rows, keys, requests, 1000 + t, &results[t]);
      } else {
        RedisClient(std::atoi(target.c_str()), rows, keys, requests, 1000 + t, &results[t]);
      }
    });
  }
  for (auto& th : threads) th.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::vector<double> all;
  bool wrong = false;
  for (const auto& r : results) {
    all.insert(all.end(), r.latencies_ms.begin(), r.latencies_ms.end());
    wrong |= r.wrong;
  }
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) { return all[std::min(all.size() - 1, size_t(p * all.size()))]; };
  std::printf(
      "{\"system\": \"%s\", \"rows\": %llu, \"keys\": %d, \"clients\": %d, \"requests\": %zu, "
      "\"p50_ms\": %.3f, \"p99_ms\": %.3f, \"requests_per_s\": %.2f, \"answers_checked\": %s}\n",
      system.c_str(), static_cast<unsigned long long>(rows), keys, clients, all.size(), pct(0.5),
      pct(0.99), all.size() / seconds, wrong ? "false" : "true");
  return wrong ? 1 : 0;
}

}  // namespace
}  // namespace parasol

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "make-model" && argc == 4) {
    return parasol::MakeModel(argv[2], std::strtoull(argv[3], nullptr, 10));
  }
  if (mode == "redis-load" && argc == 4) {
    return parasol::RedisLoad(std::atoi(argv[2]), std::strtoull(argv[3], nullptr, 10));
  }
  if ((mode == "parasol" || mode == "redis") && (argc == 7 || argc == 8)) {
    if (argc == 8) parasol::g_tolerance = std::atof(argv[7]);
    return parasol::Measure(mode, argv[2], std::strtoull(argv[3], nullptr, 10), std::atoi(argv[4]),
                            std::atoi(argv[5]), std::atoi(argv[6]));
  }
  std::fprintf(stderr,
               "usage: lookup_bench make-model DIR ROWS | redis-load PORT ROWS |\n"
               "       lookup_bench parasol|redis TARGET ROWS KEYS REQUESTS CLIENTS [TOLERANCE]\n");
  return 2;
}
