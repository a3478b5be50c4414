// Test-only helpers for the serve component's tests: tiny model directories whose
// probabilities are known in closed form, and per-process temporary folders (ctest runs each
// test case as its own process, in parallel). Not part of the library.
#pragma once

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/hash.h"
#include "gtest/gtest.h"
#include "predict/input_spec.h"
#include "serve/grpc_service.h"
#include "serve/model_repository.h"
#include "storage/checkpoint_dir.h"
#include "storage/model_dir.h"
#include "storage/table_file.h"

namespace parasol::testing {

// A fresh folder unique to this process and test case; removed by the destructor.
class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = std::filesystem::path(::testing::TempDir()) /
            ("serve_" + std::string(info->test_suite_name()) + "_" + info->name() + "_" +
             std::to_string(getpid()));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline void WriteLrModel(const std::filesystem::path& dir, const InputSpec& input,
                         const std::map<uint64_t, float>& weights, float bias) {
  ModelSpec spec;
  spec.type = ModelType::kLr;
  OptimizerConfig optimizer;
  optimizer.name = "sgd";
  SparseTable table(1, [](uint64_t, float* row) { row[0] = 0; });
  for (const auto& [key, w] : weights) *table.FindOrInsert(key) = w;
  *table.FindOrInsert(kBiasKey) = bias;
  const ModelManifest manifest =
      BuildManifest(spec, optimizer, input, static_cast<int64_t>(weights.size()), "{}");
  auto opt = CreateOptimizer(optimizer);
  ASSERT_TRUE(opt.ok());
  ASSERT_TRUE(SaveModelDir(dir.string(), manifest, table, **opt, 1).ok());
}

// libsvm LR: p = sigmoid(bias + sum over "idx:val" of w[idx] * val).
inline void WriteLibsvmModel(const std::filesystem::path& dir,
                             const std::map<uint64_t, float>& weights_by_index, float bias) {
  std::map<uint64_t, float> keyed;
  for (const auto& [idx, w] : weights_by_index) keyed[FeatureKey(0, idx)] = w;
  WriteLrModel(dir, InputSpec{}, keyed, bias);
}

// CSV LR over schema {label: y, numeric: [x], categorical: [c]}:
// p = sigmoid(bias + wx * x + (c == "red" ? wred : 0)).
inline void WriteCsvModel(const std::filesystem::path& dir, float wx, float wred, float bias) {
  auto schema = Schema::FromYamlString("label: y\nnumeric: [x]\ncategorical: [c]\n", "test");
  ASSERT_TRUE(schema.ok()) << schema.status();
  auto pipeline = FeaturePipeline::Create(*schema, "", "test", 0);
  ASSERT_TRUE(pipeline.ok()) << pipeline.status();
  InputSpec input;
  input.format = DataFormat::kCsv;
  input.pipeline = *pipeline;
  WriteLrModel(dir, input, {{FeatureKey(0, std::string_view()), wx}, {FeatureKey(1, "red"), wred}},
               bias);
}

// A libsvm LR model as parameter-server checkpoint `id` with one shard: a whole checkpoint when
// `previous` is empty, else a delta over the checkpoint named `previous` holding just these
// rows (bias row included only when `bias` is given).
inline void WriteLibsvmCheckpoint(const std::filesystem::path& dir, int64_t id,
                                  const std::string& previous,
                                  const std::map<uint64_t, float>& weights_by_index,
                                  const float* bias) {
  std::filesystem::create_directories(dir);
  std::map<uint64_t, float> keyed;
  for (const auto& [idx, w] : weights_by_index) keyed[FeatureKey(0, idx)] = w;
  if (bias != nullptr) keyed[kBiasKey] = *bias;
  std::vector<std::pair<uint64_t, const float*>> rows;
  for (const auto& [key, w] : keyed) rows.emplace_back(key, &w);
  auto file = WriteTableFile((dir / "weights-0-of-1.bin").string(), rows, 1, 0, nullptr, 0);
  ASSERT_TRUE(file.ok()) << file.status();
  file->delta = !previous.empty();
  OptimizerConfig optimizer;
  optimizer.name = "sgd";
  const ModelManifest manifest = BuildManifest(ModelSpec{}, optimizer, InputSpec{}, 0, "{}");
  CheckpointInfo info;
  info.id = id;
  info.previous = previous;
  info.shards = {*file};
  info.worker_clocks = {-1};
  ASSERT_TRUE(WriteCheckpointManifest(dir.string(), manifest, info).ok());
}

// A repository over the model config `config_yaml` (written to DIR/models.yaml, paths relative
// to DIR), polled once, and a gRPC server on a free loopback port over it.
struct GrpcTestServer {
  std::unique_ptr<ModelRepository> repo;
  std::unique_ptr<ServeGrpcServer> server;
};
inline void StartGrpcTestServer(const std::filesystem::path& dir, const std::string& config_yaml,
                                GrpcTestServer* out) {
  std::ofstream(dir / "models.yaml") << config_yaml;
  RepositoryOptions options;
  options.config_path = (dir / "models.yaml").string();
  out->repo = std::make_unique<ModelRepository>(options);
  ASSERT_TRUE(out->repo->PollOnce().ok());
  auto server = ServeGrpcServer::Start("127.0.0.1:0", out->repo.get(), 1 << 20);
  ASSERT_TRUE(server.ok()) << server.status();
  out->server = std::move(*server);
}

inline float Logistic(double z) { return static_cast<float>(1 / (1 + std::exp(-z))); }

}  // namespace parasol::testing
