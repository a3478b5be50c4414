// Throughput of the data component's hot paths: libsvm line parsing, the chunked reader and the
// synthetic data generator. Run: build/src/data/data_benchmark
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "data/example.h"
#include "data/gen.h"
#include "data/reader.h"

namespace parasol {
namespace {

// Lines of 40 "idx:1" tokens with indices spread over 10^6, like GenerateLibsvm's output.
std::vector<std::string> FortyFeatureLines(int n) {
  std::vector<std::string> lines;
  uint64_t x = 12345;
  for (int i = 0; i < n; ++i) {
    std::string line = i % 4 ? "0" : "1";
    for (int f = 0; f < 40; ++f) {
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;
      // StrAppend, not "literal" + std::string: GCC 12 at -O3 reports a false -Wrestrict there.
      absl::StrAppend(&line, " ", f * 25000 + (x >> 40) % 25000 + 1, ":1");
    }
    lines.push_back(line);
  }
  return lines;
}

void BM_ParseLibsvmLine(benchmark::State& state) {
  const std::vector<std::string> lines = FortyFeatureLines(1024);
  ExampleBlock block;
  size_t i = 0;
  for (auto _ : state) {
    if (i % 1024 == 0) block.Clear();
    absl::Status s =
        ParseLibsvmLine(lines[i % 1024], true, static_cast<int>(state.range(0)), &block);
    benchmark::DoNotOptimize(s);
    ++i;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));  // lines
}
BENCHMARK(BM_ParseLibsvmLine)->Arg(0)->Arg(24);

// A generated libsvm file, removed at exit.
struct GeneratedFile {
  explicit GeneratedFile(uint64_t rows)
      : path("/tmp/parasol_data_benchmark_" + std::to_string(::getpid()) + ".svm") {
    GenOptions options;
    options.rows = rows;
    if (!GenerateLibsvm(options, path).ok()) std::abort();
  }
  ~GeneratedFile() { std::remove(path.c_str()); }
  const std::string path;
};

void BM_ReadLibsvmFile(benchmark::State& state) {
  static const GeneratedFile file(200000);
  const std::string& path = file.path;
  ReaderOptions options;
  options.parse_threads = static_cast<int>(state.range(0));
  int64_t lines = 0;
  for (auto _ : state) {
    auto reader = OpenDataReader(path, options);
    if (!reader.ok()) std::abort();
    ExampleBlock block;
    while (true) {
      auto more = (*reader)->Next(&block);
      if (!more.ok()) std::abort();
      if (!*more) break;
      lines += static_cast<int64_t>(block.size());
    }
  }
  state.SetItemsProcessed(lines);
}
BENCHMARK(BM_ReadLibsvmFile)->Arg(0)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_GenerateLibsvm(benchmark::State& state) {
  GenOptions options;
  options.rows = 200000;
  for (auto _ : state) {
    if (!GenerateLibsvm(options, "/dev/null").ok()) std::abort();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * options.rows));  // rows
}
BENCHMARK(BM_GenerateLibsvm)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace parasol

BENCHMARK_MAIN();
