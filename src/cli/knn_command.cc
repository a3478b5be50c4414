#include "cli/knn_command.h"

#include <chrono>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "cli/exit_codes.h"
#include "common/status_macros.h"
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

namespace {

// What the flags ask for, checked before any data is read.
struct KnnPlan {
  knn::Metric metric{};
  knn::IndexKind kind{};
  knn::Task task{};
  knn::Weights weights{};
  knn::DenseReadOptions read;
  int threads = 1;
};

absl::StatusOr<KnnPlan> PlanFromFlags(const KnnFlags& f) {
  KnnPlan plan;
  ASSIGN_OR_RETURN(plan.metric, knn::ParseMetric(f.metric));
  ASSIGN_OR_RETURN(plan.kind, knn::ParseIndexKind(f.index));
  ASSIGN_OR_RETURN(plan.task, knn::ParseTask(f.task));
  ASSIGN_OR_RETURN(plan.weights, knn::ParseWeights(f.weights));
  ASSIGN_OR_RETURN(plan.read.format, ParseDataFormat(f.format));
  if (plan.read.format == DataFormat::kCriteo) {
    return absl::InvalidArgumentError("knn reads --format libsvm or csv");
  }
  if (plan.kind == knn::IndexKind::kKdTree && plan.metric == knn::Metric::kCosine) {
    return absl::InvalidArgumentError(
        "--index kdtree supports --metric l2 and l1; cosine needs --index brute (or auto)");
  }
  if (f.k == 0) return absl::InvalidArgumentError("-k must be at least 1");
  if (f.threads < 0) return absl::InvalidArgumentError("--threads must be >= 0");
  if (plan.read.format == DataFormat::kCsv) {
    if (f.schema.empty()) return absl::InvalidArgumentError("--format csv needs --schema");
    ASSIGN_OR_RETURN(plan.read.schema, Schema::FromYamlFile(f.schema));
  }
  plan.threads = f.threads > 0
                     ? f.threads
                     : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return plan;
}

absl::Status WritePredictions(const std::string& path, const std::vector<float>& predicted) {
  std::FILE* out = std::fopen(path.c_str(), "w");
  if (out == nullptr) return absl::UnavailableError("cannot create " + path);
  for (float p : predicted) std::fprintf(out, "%.9g\n", p);
  if (std::fclose(out) != 0) return absl::UnavailableError("cannot write " + path);
  return absl::OkStatus();
}

void PrintReport(const KnnFlags& f, const KnnPlan& plan, const nlohmann::json& j) {
  if (f.json) {
    std::printf("%s\n", j.dump().c_str());
    return;
  }
  std::printf("count        %zu (train %zu, %zu dimensions)\n", j["count"].get<size_t>(),
              j["train_count"].get<size_t>(), j["dimensions"].get<size_t>());
  std::printf("k %zu, metric %s, index %s, weights %s\n", f.k, knn::MetricName(plan.metric),
              j["index"].get<std::string>().c_str(), f.weights.c_str());
  if (plan.task == knn::Task::kClassify) {
    std::printf("accuracy     %.6f\n", j["accuracy"].get<double>());
  } else {
    std::printf("rmse         %.6f\nmae          %.6f\n", j["rmse"].get<double>(),
                j["mae"].get<double>());
  }
  std::printf("seconds      load %.3f, build %.3f, search %.3f\n", j["load_seconds"].get<double>(),
              j["build_seconds"].get<double>(), j["search_seconds"].get<double>());
}

}  // namespace

int RunKnn(const KnnFlags& f) {
  auto plan = PlanFromFlags(f);
  if (!plan.ok()) return Fail(kExitUsage, plan.status());
  auto start = std::chrono::steady_clock::now();
  knn::DenseData train, test;
  if (auto st = knn::ReadDensePair(f.train, f.test, plan->read, &train, &test); !st.ok()) {
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
  options.metric = plan->metric;
  options.kind = plan->kind;
  auto index = knn::BuildIndex(&train.features, options);
  if (!index.ok()) return Fail(kExitRuntime, index.status());
  const double build_seconds = SecondsSince(start);

  start = std::chrono::steady_clock::now();
  auto neighbors = knn::FindNeighbors(**index, train.features, test.features, f.k, plan->threads);
  if (!neighbors.ok()) return Fail(kExitRuntime, neighbors.status());
  const std::vector<float> predicted =
      knn::Predict(*neighbors, train.labels, plan->task, plan->weights);
  const double search_seconds = SecondsSince(start);
  if (!f.out.empty()) {
    if (auto st = WritePredictions(f.out, predicted); !st.ok()) return Fail(kExitRuntime, st);
  }

  nlohmann::json j = {
      {"count", predicted.size()},
      {"k", f.k},
      {"metric", knn::MetricName(plan->metric)},
      {"index", knn::IndexKindName((*index)->kind())},
      {"task", f.task},
      {"weights", f.weights},
      {"train_count", train.features.rows},
      {"dimensions", train.features.cols},
      {"threads", plan->threads},
      {"load_seconds", load_seconds},
      {"build_seconds", build_seconds},
      {"search_seconds", search_seconds},
      {"queries_per_second", search_seconds > 0 ? predicted.size() / search_seconds : 0.0}};
  if (plan->task == knn::Task::kClassify) {
    j["accuracy"] = knn::Accuracy(predicted, test.labels);
  } else {
    j["rmse"] = knn::Rmse(predicted, test.labels);
    j["mae"] = knn::Mae(predicted, test.labels);
  }
  PrintReport(f, *plan, j);
  return kExitOk;
}

}  // namespace parasol
