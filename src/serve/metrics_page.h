// The model server's GET /metrics page: request metrics of every served model (and of requests
// that named none), per-version table and delta gauges, and the batcher's counters, as Prometheus
// text 0.0.4 (rendering in serve_metrics.h). Reads one snapshot; thread-safe.
#pragma once

#include <string>

#include "serve/batcher.h"
#include "serve/serve_metrics.h"
#include "serve/served_model.h"

namespace parasol {

// `batcher` may be null (batching off: its counters are left out).
std::string RenderMetricsPage(const RepositorySnapshot& snapshot, const RequestMetrics& unrouted,
                              const Batcher* batcher);

}  // namespace parasol
