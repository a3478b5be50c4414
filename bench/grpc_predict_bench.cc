// gRPC predict load generator for `parasol serve` (bench/predict_bench.sh): CONCURRENCY client
// threads, each on its own HTTP/2 connection, send one-row Predict requests back to back for
// SECONDS; prints "requests/s p50_ms p99_ms errors" on one line. (ghz, the usual tool, is not
// packaged in Debian.) The row is given as field=value pairs (the same row the REST bench sends).
//
// Usage: grpc_predict_bench ADDRESS MODEL CONCURRENCY SECONDS field=value [field=value ...]
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "proto/serving.grpc.pb.h"

namespace {

using Clock = std::chrono::steady_clock;

int Run(int argc, char** argv) {
  if (argc < 6) {
    std::fprintf(stderr,
                 "usage: grpc_predict_bench ADDRESS MODEL CONCURRENCY SECONDS field=value ...\n");
    return 2;
  }
  const std::string address = argv[1];
  const int concurrency = std::atoi(argv[3]);
  const double seconds = std::atof(argv[4]);
  if (concurrency < 1 || seconds <= 0) {
    std::fprintf(stderr, "grpc_predict_bench: CONCURRENCY and SECONDS must be positive\n");
    return 2;
  }
  parasol::serving::PredictRequest request;
  request.mutable_model_spec()->set_name(argv[2]);
  auto* row = request.add_rows();
  for (int i = 5; i < argc; ++i) {
    const std::string pair = argv[i];
    const auto eq = pair.find('=');
    if (eq == std::string::npos) {
      std::fprintf(stderr, "grpc_predict_bench: '%s' is not field=value\n", argv[i]);
      return 2;
    }
    (*row->mutable_fields())[pair.substr(0, eq)] = pair.substr(eq + 1);
  }

  std::vector<std::vector<double>> latencies(concurrency);  // ms, per thread
  std::vector<uint64_t> errors(concurrency, 0);
  std::atomic<bool> stop{false}, measuring{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < concurrency; ++t) {
    threads.emplace_back([&, t] {
      grpc::ChannelArguments args;
      args.SetInt("parasol.bench.connection", t);  // distinct args: a connection per thread
      auto stub = parasol::serving::ModelService::NewStub(
          grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args));
      latencies[t].reserve(1 << 16);
      while (!stop.load(std::memory_order_relaxed)) {
        grpc::ClientContext context;
        parasol::serving::PredictResponse response;
        const bool counted = measuring.load(std::memory_order_relaxed);
        const auto start = Clock::now();
        const grpc::Status status = stub->Predict(&context, request, &response);
        const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
        if (!status.ok() || response.probabilities_size() != 1) {
          if (errors[t]++ == 0) {
            std::fprintf(stderr, "grpc_predict_bench: %s\n", status.error_message().c_str());
          }
          continue;
        }
        if (counted) latencies[t].push_back(ms);
      }
    });
  }
  // A warm-up of 10% of the time (connections, first requests) is not counted.
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds * 0.1));
  measuring = true;
  const auto measured_from = Clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  measuring = false;
  const double elapsed = std::chrono::duration<double>(Clock::now() - measured_from).count();
  stop = true;
  for (auto& th : threads) th.join();
  std::vector<double> all;
  uint64_t error_count = 0;
  for (int t = 0; t < concurrency; ++t) {
    all.insert(all.end(), latencies[t].begin(), latencies[t].end());
    error_count += errors[t];
  }
  if (all.empty()) {
    std::printf("0 nan nan %llu\n", static_cast<unsigned long long>(error_count));
    return 1;
  }
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) { return all[std::min(all.size() - 1, size_t(p * all.size()))]; };
  std::printf("%.0f %.3f %.3f %llu\n", all.size() / elapsed, pct(0.50), pct(0.99),
              static_cast<unsigned long long>(error_count));
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return Run(argc, argv); }
