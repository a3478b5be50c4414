#include "train/distributed.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/hash.h"
#include "common/status_macros.h"
#include "model/model_dir.h"
#include "ps/grpc_transport.h"
#include "ps/kv_worker.h"
#include "train/input_spec.h"
#include "train/minibatch.h"

namespace parasol {

absl::StatusOr<WorkerSummary> RunWorker(const WorkerOptions& options) {
  const TrainConfig& config = options.train;
  if (options.servers.empty()) return absl::InvalidArgumentError("no servers given");
  if (options.num_workers < 1 || options.worker_index < 0 ||
      options.worker_index >= options.num_workers) {
    return absl::InvalidArgumentError(absl::StrCat("worker index ", options.worker_index,
                                                   " is not in [0, ", options.num_workers, ")"));
  }
  if (config.model.type == ModelType::kPerceptron) {
    return absl::UnimplementedError("the averaged perceptron trains on one machine only");
  }
  ASSIGN_OR_RETURN(const InputSpec input, PrepareTrainingInput(config));
  ASSIGN_OR_RETURN(const ModelSpec spec, ResolveModelSpec(config, input));
  ASSIGN_OR_RETURN(auto model, Model::Create(spec));
  const int dim = model->dim();
  GrpcTransport transport(options.servers);
  KvWorker kv(&transport, "weights", dim);
  MiniBatchAccumulator batch(*model);

  WorkerSummary summary;
  int64_t clock = 0;  // batches finished
  std::vector<uint64_t> keys, push_keys;
  std::vector<float> values, push_grads;
  std::vector<const float*> rows;
  for (int epoch = 1; epoch <= config.epochs; ++epoch) {
    ASSIGN_OR_RETURN(auto reader, OpenDataReader(config.train_path,
                                                 input.MakeReaderOptions(1, config.max_bad_lines)));
    uint64_t index = 0, epoch_examples = 0;
    double epoch_loss = 0;
    ExampleBlock block, mine;
    while (true) {
      ASSIGN_OR_RETURN(bool more, reader->Next(&block));
      if (!more) break;
      // This worker's share, in file order.
      mine.Clear();
      for (size_t e = 0; e < block.size(); ++e, ++index) {
        if (index % options.num_workers != static_cast<uint64_t>(options.worker_index)) continue;
        const ExampleView ex = block.example(e);
        for (uint32_t i = 0; i < ex.size; ++i)
          mine.AddFeature(ex.keys[i], ex.fields[i], ex.values[i]);
        mine.FinishExample(ex.label);
      }
      const uint32_t* offsets = mine.offsets().data();
      for (size_t begin = 0; begin < mine.size(); begin += config.batch_size) {
        const size_t end = std::min(mine.size(), begin + static_cast<size_t>(config.batch_size));
        keys.assign(mine.keys().begin() + offsets[begin], mine.keys().begin() + offsets[end]);
        keys.push_back(kBiasKey);
        RETURN_IF_ERROR(kv.Wait(kv.Pull(keys, &values)));
        rows.resize(keys.size());
        for (size_t i = 0; i < keys.size(); ++i) rows[i] = values.data() + i * dim;
        batch.Clear();
        batch.Add(mine, begin, end, rows.data(), rows.back()[0]);
        push_keys = batch.keys();
        push_grads = batch.grads();
        push_keys.push_back(kBiasKey);
        push_grads.push_back(batch.bias_grad());
        push_grads.resize(push_grads.size() + dim - 1, 0.0f);
        RETURN_IF_ERROR(kv.Wait(kv.Push(push_keys, push_grads)));
        ++clock;
        if (config.staleness != kAsp) {
          RETURN_IF_ERROR(transport.AdvanceClock(options.worker_index, options.num_workers, clock,
                                                 config.staleness));
        }
        epoch_loss += batch.loss_sum();
        epoch_examples += end - begin;
      }
    }
    summary.examples += epoch_examples;
    summary.loss = epoch_examples ? epoch_loss / epoch_examples : 0;
  }
  if (config.staleness != kAsp) {
    RETURN_IF_ERROR(transport.FinishClock(options.worker_index, options.num_workers));
  }
  return summary;
}

absl::Status WriteModelFromServers(const TrainConfig& config,
                                   const std::vector<std::string>& servers, uint64_t examples,
                                   double seconds) {
  ASSIGN_OR_RETURN(const InputSpec input, PrepareTrainingInput(config));
  ASSIGN_OR_RETURN(const ModelSpec spec, ResolveModelSpec(config, input));
  ASSIGN_OR_RETURN(auto model, Model::Create(spec));
  ASSIGN_OR_RETURN(auto optimizer, CreateOptimizer(config.resolved_optimizer()));
  const int dim = model->dim();
  SparseTable table(dim * (1 + optimizer->state_per_weight()), [](uint64_t, float*) {});
  for (const std::string& server : servers) {
    RETURN_IF_ERROR(ExportFromServer(server, "weights", &table));
  }
  const bool has_bias = table.Find(kBiasKey) != nullptr;
  nlohmann::json training = {{"epochs", config.epochs},
                             {"best_epoch", config.epochs},
                             {"seconds", seconds},
                             {"servers", servers.size()},
                             {"batch_size", config.batch_size},
                             {"train_path", config.train_path},
                             {"seed", config.model.seed}};
  if (examples > 0) training["examples"] = examples;  // unknown to a launcher
  return SaveModelDir(
      config.out_dir,
      BuildManifest(spec, optimizer->config(), input,
                    static_cast<int64_t>(table.size()) - (has_bias ? 1 : 0), training.dump()),
      table, *optimizer, examples);
}

}  // namespace parasol
