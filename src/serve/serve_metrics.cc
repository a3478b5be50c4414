#include "serve/serve_metrics.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace parasol {

const char* ServeApiName(ServeApi api) {
  switch (api) {
    case ServeApi::kStatus:
      return "status";
    case ServeApi::kMetadata:
      return "metadata";
    case ServeApi::kPredict:
      return "predict";
    case ServeApi::kClassify:
      return "classify";
    case ServeApi::kRegress:
      return "regress";
    case ServeApi::kInfer:
      return "infer";
    case ServeApi::kReady:
      return "ready";
    case ServeApi::kLookup:
      return "lookup";
    case ServeApi::kOther:
      break;
  }
  return "other";
}

void RequestMetrics::Record(ServeApi api, bool error, double seconds) {
  PerApi& a = apis_[static_cast<int>(api)];
  a.requests.fetch_add(1, std::memory_order_relaxed);
  if (error) a.errors.fetch_add(1, std::memory_order_relaxed);
  a.nanos.fetch_add(static_cast<uint64_t>(seconds * 1e9), std::memory_order_relaxed);
  size_t b = 0;
  while (b < kBucketBounds.size() && seconds > kBucketBounds[b]) ++b;
  a.buckets[b].fetch_add(1, std::memory_order_relaxed);
}

RequestMetrics::Counts RequestMetrics::Get(ServeApi api) const {
  const PerApi& a = apis_[static_cast<int>(api)];
  Counts c;
  c.requests = a.requests.load(std::memory_order_relaxed);
  c.errors = a.errors.load(std::memory_order_relaxed);
  c.seconds_sum = a.nanos.load(std::memory_order_relaxed) / 1e9;
  for (size_t b = 0; b < c.buckets.size(); ++b) {
    c.buckets[b] = a.buckets[b].load(std::memory_order_relaxed);
  }
  return c;
}

namespace {

// Label values are model names ([A-Za-z0-9_.-]+) and API names: nothing to escape.
std::string Labels(const std::string& model, ServeApi api) {
  return absl::StrCat("model=\"", model, "\",api=\"", ServeApiName(api), "\"");
}

void Family(std::string* out, const char* name, const char* type, const char* help) {
  absl::StrAppend(out, "# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n");
}

}  // namespace

std::string RenderPrometheus(
    const std::vector<std::pair<std::string, const RequestMetrics*>>& requests,
    const std::vector<ModelGauges>& gauges) {
  std::string out;
  // Only (model, api) pairs that saw a request are listed, so the output stays short.
  struct Series {
    std::string labels;
    RequestMetrics::Counts counts;
  };
  std::vector<Series> series;
  for (const auto& [model, metrics] : requests) {
    for (int a = 0; a < kNumServeApis; ++a) {
      auto counts = metrics->Get(static_cast<ServeApi>(a));
      if (counts.requests > 0) series.push_back({Labels(model, static_cast<ServeApi>(a)), counts});
    }
  }
  Family(&out, "parasol_serve_requests_total", "counter", "Requests answered, by model and API.");
  for (const auto& s : series) {
    absl::StrAppend(&out, "parasol_serve_requests_total{", s.labels, "} ", s.counts.requests, "\n");
  }
  Family(&out, "parasol_serve_request_errors_total", "counter",
         "Requests answered with an error status, by model and API.");
  for (const auto& s : series) {
    absl::StrAppend(&out, "parasol_serve_request_errors_total{", s.labels, "} ", s.counts.errors,
                    "\n");
  }
  Family(&out, "parasol_serve_request_latency_seconds", "histogram",
         "Time from a parsed request to its answer, by model and API.");
  for (const auto& s : series) {
    uint64_t cumulative = 0;
    for (size_t b = 0; b < s.counts.buckets.size(); ++b) {
      cumulative += s.counts.buckets[b];
      const std::string le = b < RequestMetrics::kBucketBounds.size()
                                 ? absl::StrFormat("%g", RequestMetrics::kBucketBounds[b])
                                 : std::string("+Inf");
      absl::StrAppend(&out, "parasol_serve_request_latency_seconds_bucket{", s.labels, ",le=\"", le,
                      "\"} ", cumulative, "\n");
    }
    absl::StrAppend(&out, "parasol_serve_request_latency_seconds_sum{", s.labels, "} ",
                    absl::StrFormat("%.9f", s.counts.seconds_sum), "\n");
    absl::StrAppend(&out, "parasol_serve_request_latency_seconds_count{", s.labels, "} ",
                    s.counts.requests, "\n");
  }
  Family(&out, "parasol_serve_loaded_versions", "gauge", "Versions available, by model.");
  for (const auto& g : gauges) {
    absl::StrAppend(&out, "parasol_serve_loaded_versions{model=\"", g.model, "\"} ",
                    g.loaded_versions, "\n");
  }
  // Per version; the delta counters restart when a version is loaded again.
  struct PerVersion {
    const char* name;
    const char* type;
    const char* help;
    uint64_t (*value)(const ModelGauges::Version&);
  };
  const PerVersion families[] = {
      {"parasol_serve_table_rows", "gauge", "Rows of each loaded version's table.",
       [](const ModelGauges::Version& v) { return v.table_rows; }},
      {"parasol_serve_table_bytes", "gauge", "Memory of each loaded version's table.",
       [](const ModelGauges::Version& v) { return v.table_bytes; }},
      {"parasol_serve_deltas_applied_total", "counter",
       "Deltas applied in place to each loaded version.",
       [](const ModelGauges::Version& v) { return static_cast<uint64_t>(v.deltas_applied); }},
      {"parasol_serve_delta_rows_total", "counter", "Rows replaced or added by those deltas.",
       [](const ModelGauges::Version& v) { return v.delta_rows; }},
      {"parasol_serve_deltas_refused", "gauge",
       "Refused deltas on disk (the reasons are in the version status).",
       [](const ModelGauges::Version& v) { return static_cast<uint64_t>(v.deltas_refused); }},
  };
  for (const PerVersion& f : families) {
    Family(&out, f.name, f.type, f.help);
    for (const auto& g : gauges) {
      for (const auto& v : g.versions) {
        absl::StrAppend(&out, f.name, "{model=\"", g.model, "\",version=\"", v.version, "\"} ",
                        f.value(v), "\n");
      }
    }
  }
  return out;
}

}  // namespace parasol
