// Request counters and latency histograms for the model server, and their Prometheus text
// rendering (GET /metrics). Recording is lock-free (relaxed atomics), so it adds no lock to the
// request path; rendering may run concurrently with recording. Thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace parasol {

enum class ServeApi {
  kStatus,
  kMetadata,
  kPredict,
  kClassify,
  kRegress,
  kInfer,
  kReady,
  kLookup,
  kOther
};
inline constexpr int kNumServeApis = 9;
const char* ServeApiName(ServeApi api);

class RequestMetrics {
 public:
  // Upper bounds (seconds) of the latency histogram's buckets; +Inf is implied.
  static constexpr std::array<double, 12> kBucketBounds = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0};

  void Record(ServeApi api, bool error, double seconds);

  struct Counts {
    uint64_t requests = 0, errors = 0;
    std::array<uint64_t, kBucketBounds.size() + 1> buckets{};  // per bucket, not cumulative
    double seconds_sum = 0;
  };
  Counts Get(ServeApi api) const;

 private:
  struct PerApi {
    std::atomic<uint64_t> requests{0}, errors{0}, nanos{0};
    std::array<std::atomic<uint64_t>, kBucketBounds.size() + 1> buckets{};
  };
  std::array<PerApi, kNumServeApis> apis_;
};

// What /metrics shows besides request metrics: one gauge set per model and version.
struct ModelGauges {
  std::string model;
  int64_t loaded_versions = 0;
  struct Version {
    int64_t version;
    uint64_t table_rows, table_bytes;
    int64_t deltas_applied = 0;  // in-place incremental updates since the version loaded
    uint64_t delta_rows = 0;
    int64_t deltas_refused = 0;  // refused deltas still on disk
  };
  std::vector<Version> versions;
};

// Prometheus text exposition format 0.0.4. `requests` pairs a model name ("" for requests that
// named no known model) with its metrics.
std::string RenderPrometheus(
    const std::vector<std::pair<std::string, const RequestMetrics*>>& requests,
    const std::vector<ModelGauges>& gauges);

}  // namespace parasol
