// Throughput of FeaturePipeline encoders on Criteo-shaped rows (13 numeric, 26 categorical
// columns), plain and with transforms. One thread; multiply by parse threads for a reader.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "transform/feature_pipeline.h"

namespace parasol {
namespace {

constexpr int kRows = 4096;

struct Data {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  Schema schema;
};

Data MakeData() {
  Data d;
  d.schema.label = "label";
  d.header.push_back("label");
  for (int i = 1; i <= 13; ++i) {
    d.schema.numeric.push_back("I" + std::to_string(i));
    d.header.push_back(d.schema.numeric.back());
  }
  for (int i = 1; i <= 26; ++i) {
    d.schema.categorical.push_back("C" + std::to_string(i));
    d.header.push_back(d.schema.categorical.back());
  }
  std::mt19937 rng(1);
  char hex[16];
  for (int r = 0; r < kRows; ++r) {
    std::vector<std::string> row = {rng() % 4 == 0 ? "1" : "0"};
    for (int i = 0; i < 13; ++i) row.push_back(rng() % 8 == 0 ? "" : std::to_string(rng() % 500));
    for (int i = 0; i < 26; ++i) {
      std::snprintf(hex, sizeof(hex), "%08x", static_cast<unsigned>(rng() % 100000));
      row.push_back(rng() % 10 == 0 ? "" : hex);
    }
    d.rows.push_back(std::move(row));
  }
  return d;
}

void Run(benchmark::State& state, const std::string& yaml) {
  static const Data data = MakeData();
  auto pipeline = FeaturePipeline::Create(data.schema, yaml, "bench", 24);
  if (!pipeline.ok()) {
    state.SkipWithError(std::string(pipeline.status().message()).c_str());
    return;
  }
  auto encoder = (*pipeline)->EncoderFactory()(data.header);
  if (!encoder.ok()) {
    state.SkipWithError(std::string(encoder.status().message()).c_str());
    return;
  }
  std::vector<std::vector<std::string_view>> views;
  for (const auto& row : data.rows) views.emplace_back(row.begin(), row.end());
  ExampleBlock block;
  size_t i = 0;
  for (auto _ : state) {
    if (i == views.size()) {
      i = 0;
      block.Clear();
    }
    if (!(*encoder)->Encode(views[i++], &block).ok()) {
      state.SkipWithError("encode failed");
      return;
    }
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_EncodePlain(benchmark::State& state) { Run(state, ""); }
BENCHMARK(BM_EncodePlain);

void BM_EncodeWithTransforms(benchmark::State& state) {
  Run(state,
      "transforms:\n"
      "  - {type: piecewise, field: I1, boundaries: [1, 2, 4, 8, 16, 32, 64, 128, 256]}\n"
      "  - {type: pickcat, field: C1, keep: [00000001, 00000002, 00000003]}\n"
      "  - {type: descartes, fields: [C2, C3], name: c2_c3}\n"
      "  - {type: combinehash, fields: [C4, C5, I1], name: c4_c5_i1}\n");
}
BENCHMARK(BM_EncodeWithTransforms);

}  // namespace
}  // namespace parasol

BENCHMARK_MAIN();
