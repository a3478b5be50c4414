#include "cli/knn_command.h"

#include <chrono>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "cli/exit_codes.h"
#include "knn/dense_data.h"
#include "knn/knn.h"
#include "knn/predict.h"

namespace parasol {
namespace {

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

CLI::App* AddKnnCommand(CLI::App& app, KnnFlags& f) {
  auto* cmd = app.add_subcommand(
      "knn", "k-nearest-neighbour classification or regression of --test against --train");
  cmd->add_option("--train", f.train, "Training data (libsvm or CSV; plain, gzip or zstd)")
      ->required();
  cmd->add_option("--test", f.test, "Data to predict and score")->required();
  cmd->add_option("-k", f.k, "Neighbours per prediction")->required();
  cmd->add_option("--metric", f.metric, "l2 | l1 | cosine (default l2)");
  cmd->add_option("--index", f.index,
                  "brute | kdtree | auto (default auto: kdtree up to 8 dimensions for l2/l1)");
  cmd->add_option("--task", f.task, "classify | regress (default classify)");
  cmd->add_option("--weights", f.weights, "uniform | distance (default uniform)");
  cmd->add_option("--format", f.format, "libsvm | csv (default libsvm)");
  cmd->add_option("--schema", f.schema,
                  "CSV schema YAML: its numeric columns are the dimensions, its label the target");
  cmd->add_option("--threads", f.threads, "Search threads (default: all cores)");
  cmd->add_option("--out", f.out, "Write one prediction per test row, in order");
  cmd->add_flag("--json", f.json, "Print one JSON object with the scores and timings");
  return cmd;
}

int RunKnn(const KnnFlags& f) {
  auto metric = knn::ParseMetric(f.metric);
  if (!metric.ok()) return Fail(kExitUsage, metric.status());
  auto kind = knn::ParseIndexKind(f.index);
  if (!kind.ok()) return Fail(kExitUsage, kind.status());
  auto task = knn::ParseTask(f.task);
  if (!task.ok()) return Fail(kExitUsage, task.status());
  auto weights = knn::ParseWeights(f.weights);
  if (!weights.ok()) return Fail(kExitUsage, weights.status());
  auto format = ParseDataFormat(f.format);
  if (!format.ok()) return Fail(kExitUsage, format.status());
  if (*format == DataFormat::kCriteo) {
    return Fail(kExitUsage, absl::InvalidArgumentError("knn reads --format libsvm or csv"));
  }
  if (*kind == knn::IndexKind::kKdTree && *metric == knn::Metric::kCosine) {
    return Fail(kExitUsage, absl::InvalidArgumentError(
                                "--index kdtree supports --metric l2 and l1; cosine needs "
                                "--index brute (or auto)"));
  }
  if (f.k == 0) return Fail(kExitUsage, absl::InvalidArgumentError("-k must be at least 1"));
  if (f.threads < 0) return Fail(kExitUsage, absl::InvalidArgumentError("--threads must be >= 0"));
  knn::DenseReadOptions read;
  read.format = *format;
  if (*format == DataFormat::kCsv) {
    if (f.schema.empty()) {
      return Fail(kExitUsage, absl::InvalidArgumentError("--format csv needs --schema"));
    }
    auto schema = Schema::FromYamlFile(f.schema);
    if (!schema.ok()) return Fail(kExitUsage, schema.status());
    read.schema = *schema;
  }
  const int threads = f.threads > 0
                          ? f.threads
                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));

  auto start = std::chrono::steady_clock::now();
  knn::DenseData train, test;
  if (auto st = knn::ReadDensePair(f.train, f.test, read, &train, &test); !st.ok()) {
    return Fail(kExitRuntime, st);
  }
  const double load_seconds = SecondsSince(start);
  if (f.k > train.features.rows) {
    return Fail(kExitUsage, absl::InvalidArgumentError(
                                absl::StrCat("-k ", f.k, " is more than the ", train.features.rows,
                                             " training examples in ", f.train)));
  }

  start = std::chrono::steady_clock::now();
  knn::IndexOptions options;
  options.metric = *metric;
  options.kind = *kind;
  auto index = knn::BuildIndex(&train.features, options);
  if (!index.ok()) return Fail(kExitRuntime, index.status());
  const double build_seconds = SecondsSince(start);

  start = std::chrono::steady_clock::now();
  auto neighbors = knn::FindNeighbors(**index, train.features, test.features, f.k, threads);
  if (!neighbors.ok()) return Fail(kExitRuntime, neighbors.status());
  const std::vector<float> predicted = knn::Predict(*neighbors, train.labels, *task, *weights);
  const double search_seconds = SecondsSince(start);

  if (!f.out.empty()) {
    std::FILE* out = std::fopen(f.out.c_str(), "w");
    if (out == nullptr) return Fail(kExitRuntime, absl::UnavailableError("cannot create " + f.out));
    for (float p : predicted) std::fprintf(out, "%.9g\n", p);
    if (std::fclose(out) != 0) {
      return Fail(kExitRuntime, absl::UnavailableError("cannot write " + f.out));
    }
  }

  const char* index_name = knn::IndexKindName((*index)->kind());
  nlohmann::json j = {
      {"count", predicted.size()},
      {"k", f.k},
      {"metric", knn::MetricName(*metric)},
      {"index", index_name},
      {"task", f.task},
      {"weights", f.weights},
      {"train_count", train.features.rows},
      {"dimensions", train.features.cols},
      {"threads", threads},
      {"load_seconds", load_seconds},
      {"build_seconds", build_seconds},
      {"search_seconds", search_seconds},
      {"queries_per_second", search_seconds > 0 ? predicted.size() / search_seconds : 0.0}};
  if (*task == knn::Task::kClassify) {
    j["accuracy"] = knn::Accuracy(predicted, test.labels);
  } else {
    j["rmse"] = knn::Rmse(predicted, test.labels);
    j["mae"] = knn::Mae(predicted, test.labels);
  }
  if (f.json) {
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf("count        %zu (train %zu, %zu dimensions)\n", predicted.size(),
                train.features.rows, train.features.cols);
    std::printf("k %zu, metric %s, index %s, weights %s\n", f.k, knn::MetricName(*metric),
                index_name, f.weights.c_str());
    if (*task == knn::Task::kClassify) {
      std::printf("accuracy     %.6f\n", j["accuracy"].get<double>());
    } else {
      std::printf("rmse         %.6f\nmae          %.6f\n", j["rmse"].get<double>(),
                  j["mae"].get<double>());
    }
    std::printf("seconds      load %.3f, build %.3f, search %.3f\n", load_seconds, build_seconds,
                search_seconds);
  }
  return kExitOk;
}

}  // namespace parasol
