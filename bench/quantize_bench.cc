// Quantized serving tables (bench/quantize_bench.sh): what `parasol serve --quantize` costs in
// accuracy and saves in memory, measured on the model server's own Servable.
//   quantize_bench score MODEL_DIR DATA   one JSON line per precision (fp32, fp16, int8): test
//                                         AUC, logloss, largest probability change against
//                                         fp32, table rows and bytes, bytes per stored row
//   quantize_bench rss MODEL_DIR PRECISION  one JSON line: the process's resident memory before
//                                         and after loading the version in that precision
#include <malloc.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "metrics/metrics.h"
#include "predict/predictor.h"
#include "serve/servable.h"

namespace parasol {
namespace {

long RssKiB() {
  std::ifstream status("/proc/self/status");
  std::string key;
  long value = 0;
  while (status >> key) {
    if (key == "VmRSS:") {
      status >> value;
      return value;
    }
  }
  return -1;
}

int Score(const std::string& dir, const std::string& data) {
  auto reader = Predictor::Load(dir);  // reads the data in the model's format; fp32 reference
  if (!reader.ok()) {
    std::fprintf(stderr, "%s\n", std::string(reader.status().message()).c_str());
    return 1;
  }
  for (RowPrecision precision : {RowPrecision::kFp32, RowPrecision::kFp16, RowPrecision::kInt8}) {
    auto servable = Servable::Load(dir, 1, {precision});
    if (!servable.ok()) {
      std::fprintf(stderr, "%s\n", std::string(servable.status().message()).c_str());
      return 1;
    }
    std::vector<float> labels, fp32, probs;
    auto st = (*reader)->PredictFile(
        data, 1, [&](const ExampleBlock& block, const std::vector<float>& reference) {
          labels.insert(labels.end(), block.labels().begin(), block.labels().end());
          fp32.insert(fp32.end(), reference.begin(), reference.end());
          (*servable)->Score(block, &probs);
        });
    if (!st.ok()) {
      std::fprintf(stderr, "%s\n", std::string(st.message()).c_str());
      return 1;
    }
    double max_change = 0;
    for (size_t i = 0; i < probs.size(); ++i) {
      max_change = std::max(max_change, std::fabs(double(probs[i]) - fp32[i]));
    }
    const Servable& s = **servable;
    std::printf(
        "{\"precision\": \"%s\", \"model\": \"%s\", \"dim\": %d, \"examples\": %zu, "
        "\"auc\": %.6f, \"fp32_auc\": %.6f, \"logloss\": %.6f, \"max_prob_change\": %.6g, "
        "\"table_rows\": %zu, \"table_bytes\": %zu, \"row_payload_bytes\": %d}\n",
        RowPrecisionName(precision), s.model_type(), s.dim(), probs.size(), RocAuc(probs, labels),
        RocAuc(fp32, labels), LogLoss(probs, labels), max_change, s.table_rows(), s.table_bytes(),
        s.row_payload_bytes());
  }
  return 0;
}

int Rss(const std::string& dir, const std::string& name) {
  auto precision = ParseRowPrecision(name);
  if (!precision.ok()) {
    std::fprintf(stderr, "%s\n", std::string(precision.status().message()).c_str());
    return 2;
  }
  malloc_trim(0);
  const long before = RssKiB();
  auto servable = Servable::Load(dir, 1, {*precision});
  if (!servable.ok()) {
    std::fprintf(stderr, "%s\n", std::string(servable.status().message()).c_str());
    return 1;
  }
  malloc_trim(0);
  const long after = RssKiB();
  const Servable& s = **servable;
  std::printf(
      "{\"precision\": \"%s\", \"table_rows\": %zu, \"table_bytes\": %zu, "
      "\"row_payload_bytes\": %d, \"rss_before_kib\": %ld, \"rss_after_kib\": %ld, "
      "\"rss_bytes_per_row\": %.1f}\n",
      name.c_str(), s.table_rows(), s.table_bytes(), s.row_payload_bytes(), before, after,
      (after - before) * 1024.0 / static_cast<double>(s.table_rows()));
  return 0;
}

}  // namespace
}  // namespace parasol

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "score" && argc == 4) return parasol::Score(argv[2], argv[3]);
  if (mode == "rss" && argc == 4) return parasol::Rss(argv[2], argv[3]);
  std::fprintf(stderr,
               "usage: quantize_bench score MODEL_DIR DATA | quantize_bench rss MODEL_DIR "
               "fp32|fp16|int8\n");
  return 2;
}
