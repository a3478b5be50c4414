#include "serve/metrics_page.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace parasol {

std::string RenderMetricsPage(const RepositorySnapshot& snapshot, const RequestMetrics& unrouted,
                              const Batcher* batcher) {
  std::vector<std::pair<std::string, const RequestMetrics*>> requests;
  std::vector<ModelGauges> gauges;
  for (const auto& [name, model] : snapshot.models) {
    requests.emplace_back(name, model->metrics.get());
    ModelGauges g{name, static_cast<int64_t>(model->available.size()), {}};
    for (const auto& [v, s] : model->available) {
      DeltaStatus d;
      if (auto it = model->deltas.find(v); it != model->deltas.end()) d = it->second;
      g.versions.push_back({v, s->table_rows(), s->table_bytes(), d.applied, d.rows,
                            static_cast<int64_t>(d.refused.size())});
    }
    gauges.push_back(std::move(g));
  }
  requests.emplace_back("", &unrouted);
  std::string out = RenderPrometheus(requests, gauges);
  if (batcher != nullptr) {
    absl::StrAppend(&out,
                    "# HELP parasol_serve_batches_total Scoring passes of the dynamic "
                    "batcher.\n# TYPE parasol_serve_batches_total counter\n"
                    "parasol_serve_batches_total ",
                    batcher->batches(),
                    "\n# HELP parasol_serve_batched_rows_total Rows those passes scored "
                    "(÷ batches = mean batch size).\n"
                    "# TYPE parasol_serve_batched_rows_total counter\n"
                    "parasol_serve_batched_rows_total ",
                    batcher->batched_rows(), "\n");
  }
  return out;
}

}  // namespace parasol
