#include "distributed/worker.h"

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/hash.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "metrics/metrics.h"
#include "predict/input_spec.h"
#include "predict/predictor.h"
#include "ps/kv_worker.h"
#include "storage/model_dir.h"
#include "train/deep_learner.h"
#include "train/minibatch.h"
#include "train/progress.h"

namespace parasol {

absl::StatusOr<WorkerSummary> RunWorker(const WorkerOptions& options, const InputSpec& input,
                                        const ModelSpec& spec, PsTransport& transport) {
  const TrainConfig& config = options.train;
  if (transport.num_servers() < 1) return absl::InvalidArgumentError("no servers given");
  if (options.num_workers < 1 || options.worker_index < 0 ||
      options.worker_index >= options.num_workers) {
    return absl::InvalidArgumentError(absl::StrCat("worker index ", options.worker_index,
                                                   " is not in [0, ", options.num_workers, ")"));
  }
  if (config.model.type == ModelType::kPerceptron) {
    return absl::UnimplementedError("the averaged perceptron trains on one machine only");
  }
  ASSIGN_OR_RETURN(auto model, Model::Create(spec));
  const int dim = model->dim();
  KvWorker kv(&transport, "weights", dim);
  MiniBatchAccumulator batch(*model);
  // Deep models: the dense layers live in the servers' dense table kDenseTableName, pulled whole
  // with each batch's rows and pushed as one summed gradient per batch.
  const uint64_t dense_size = static_cast<uint64_t>(model->dense_size());
  const bool deep = dense_size > 0;
  std::vector<float> dense_values[2];
  KvWorker::Timestamp dense_pull[2] = {0, 0};
  DeepSlice slice;

  WorkerSummary summary;
  int64_t clock = 0;  // batches finished
  if (options.resume) {
    ASSIGN_OR_RETURN(const std::vector<int64_t> clocks, WorkerClocks(transport));
    if (static_cast<size_t>(options.worker_index) < clocks.size()) {
      summary.resumed_after = clocks[options.worker_index];
    }
    if (summary.resumed_after < 0) return summary;  // it had finished
  }
  // Worker 0 validates: the validation set, its labels and the keys whose rows it needs.
  std::vector<ExampleBlock> valid;
  std::vector<float> valid_labels;
  std::vector<uint64_t> valid_keys;
  if (options.worker_index == 0 && !config.valid_path.empty()) {
    ASSIGN_OR_RETURN(auto reader, OpenDataReader(config.valid_path,
                                                 input.MakeReaderOptions(1, config.max_bad_lines)));
    for (ExampleBlock block;;) {
      ASSIGN_OR_RETURN(bool more, reader->Next(&block));
      if (!more) break;
      valid_labels.insert(valid_labels.end(), block.labels().begin(), block.labels().end());
      valid_keys.insert(valid_keys.end(), block.keys().begin(), block.keys().end());
      valid.push_back(std::move(block));
      block = ExampleBlock();
    }
    valid_keys.push_back(kBiasKey);
    std::sort(valid_keys.begin(), valid_keys.end());
    valid_keys.erase(std::unique(valid_keys.begin(), valid_keys.end()), valid_keys.end());
  }
  // AUC and log loss of the servers' current weights on the validation set.
  auto validate = [&](EpochMetrics& m) -> absl::Status {
    std::vector<float> pulled, dense;
    if (deep) RETURN_IF_ERROR(kv.Wait(kv.PullDense(kDenseTableName, dense_size, &dense)));
    RETURN_IF_ERROR(kv.Wait(kv.Pull(valid_keys, &pulled)));
    SparseTable table(dim, [](uint64_t, float*) {});
    for (size_t i = 0; i < valid_keys.size(); ++i) {
      std::copy_n(pulled.data() + i * dim, dim, table.FindOrInsert(valid_keys[i]));
    }
    const std::vector<float> probs =
        PredictBlocks(*model, table, deep ? dense.data() : nullptr, valid, 1);
    m.valid_auc = RocAuc(probs, valid_labels);
    m.valid_logloss = LogLoss(probs, valid_labels);
    return absl::OkStatus();
  };
  uint64_t step = 0;        // examples of this worker's share so far, skipped ones included
  double best_logloss = 0;  // worker 0: of summary.best_epoch
  int since_best = 0;
  std::vector<uint64_t> keys[2], push_keys;  // keys and values: double-buffered by batch parity
  std::vector<float> values[2], push_grads;
  std::vector<const float*> rows;
  KvWorker::Timestamp pending_push = 0, pending_dense = 0;  // 0: none in flight
  auto wait_pushes = [&]() -> absl::Status {
    for (KvWorker::Timestamp* ts : {&pending_push, &pending_dense}) {
      if (*ts != 0) RETURN_IF_ERROR(kv.Wait(*ts));
      *ts = 0;
    }
    return absl::OkStatus();
  };
  // Auto epochs (0): one pass, or with validation as many as early stopping allows.
  const int epochs =
      config.epochs > 0 ? config.epochs : (config.valid_path.empty() ? 1 : kMaxAutoEpochs);
  for (int epoch = 1; epoch <= epochs; ++epoch) {
    ReaderOptions read = input.MakeReaderOptions(1, config.max_bad_lines);
    read.chunk_bytes = config.training_chunk_bytes();  // as the local trainer reads it
    ASSIGN_OR_RETURN(auto reader, OpenDataReader(config.train_path, read));
    uint64_t index = 0, epoch_examples = 0;
    double epoch_loss = 0;
    const auto epoch_start = std::chrono::steady_clock::now();
    ExampleBlock block, share;
    while (true) {
      ASSIGN_OR_RETURN(bool more, reader->Next(&block));
      if (!more) break;
      // This worker's share, in file order (all of it, uncopied, for a single worker).
      share.Clear();
      for (size_t e = 0; options.num_workers > 1 && e < block.size(); ++e, ++index) {
        if (index % options.num_workers != static_cast<uint64_t>(options.worker_index)) continue;
        const ExampleView ex = block.example(e);
        for (uint32_t i = 0; i < ex.size; ++i)
          share.AddFeature(ex.keys[i], ex.fields[i], ex.values[i]);
        share.FinishExample(ex.label);
      }
      const ExampleBlock& mine = options.num_workers > 1 ? share : block;
      const uint32_t* offsets = mine.offsets().data();
      const size_t batches =
          (mine.size() + config.resolved_batch_size() - 1) / config.resolved_batch_size();
      auto batch_begin = [&](size_t b) {
        return b * static_cast<size_t>(config.resolved_batch_size());
      };
      auto batch_end = [&](size_t b) {
        return std::min(mine.size(), (b + 1) * static_cast<size_t>(config.resolved_batch_size()));
      };
      // Pulls batch b's rows (its features' keys, then the bias) into slot b % 2.
      auto start_pull = [&](size_t b) {
        std::vector<uint64_t>& k = keys[b % 2];
        k.assign(mine.keys().begin() + offsets[batch_begin(b)],
                 mine.keys().begin() + offsets[batch_end(b)]);
        k.push_back(kBiasKey);
        if (deep)
          dense_pull[b % 2] = kv.PullDense(kDenseTableName, dense_size, &dense_values[b % 2]);
        return kv.Pull(k, &values[b % 2]);
      };
      // With staleness >= 1 (SSP, ASP) the next batch's pull overlaps this batch's compute; BSP
      // pulls only after this batch's push landed, which keeps one worker exactly equal to the
      // local trainer.
      const bool pipelined = config.staleness != 0;
      size_t first = 0;  // batches an earlier run of this worker finished are skipped
      while (first < batches && clock < summary.resumed_after) {
        step += batch_end(first) - batch_begin(first);
        ++first;
        ++clock;
      }
      KvWorker::Timestamp next_pull = first < batches ? start_pull(first) : 0;
      for (size_t b = first; b < batches; ++b) {
        RETURN_IF_ERROR(kv.Wait(next_pull));
        if (deep) RETURN_IF_ERROR(kv.Wait(dense_pull[b % 2]));
        if (pipelined && b + 1 < batches) next_pull = start_pull(b + 1);
        const std::vector<float>& v = values[b % 2];
        rows.resize(keys[b % 2].size());
        for (size_t i = 0; i < rows.size(); ++i) rows[i] = v.data() + i * dim;
        batch.Clear();
        if (deep) {
          // As DeepLearner with one thread: the batch's batch number numbers dropout masks.
          const size_t begin = batch_begin(b), end = batch_end(b);
          const uint64_t number = static_cast<uint64_t>(clock) * options.num_workers +
                                  static_cast<uint64_t>(options.worker_index);
          slice.Compute(*model,
                        {&mine, begin, end, rows.data(), rows.back()[0], dense_values[b % 2].data(),
                         DropoutSeed(config.model.seed, number, 0)});
          slice.AddTo(&batch);
        } else {
          batch.Add(mine, batch_begin(b), batch_end(b), rows.data(), rows.back()[0]);
        }
        push_keys = batch.keys();
        push_grads = batch.grads();
        push_keys.push_back(kBiasKey);
        push_grads.push_back(batch.bias_grad());
        push_grads.resize(push_grads.size() + dim - 1, 0.0f);
        // Pipelined, the push completes while the next batch computes (it is waited for before
        // the next push, so at most one is in flight); BSP waits for it here.
        RETURN_IF_ERROR(wait_pushes());
        pending_push = kv.Push(push_keys, push_grads);
        if (deep) pending_dense = kv.PushDense(kDenseTableName, slice.dense_grads);
        if (!pipelined) {
          RETURN_IF_ERROR(wait_pushes());
          if (b + 1 < batches) next_pull = start_pull(b + 1);
        }
        ++clock;
        if (config.staleness != kAsp || clock % kAspClockEvery == 0) {
          // A recorded clock means the batch's push landed (SSP's bound; where a restarted
          // worker resumes).
          RETURN_IF_ERROR(wait_pushes());
          RETURN_IF_ERROR(AdvanceClock(transport, options.worker_index, options.num_workers, clock,
                                       config.staleness));
          if (options.after_clock) RETURN_IF_ERROR(options.after_clock(clock));
        }
        epoch_loss += batch.loss_sum();
        epoch_examples += batch_end(b) - batch_begin(b);
      }
    }
    step += epoch_examples;
    summary.examples += epoch_examples;
    summary.loss = epoch_examples ? epoch_loss / epoch_examples : 0;
    EpochMetrics m;
    m.epoch = epoch;
    m.step = step;
    m.examples = epoch_examples;
    m.loss = summary.loss;
    m.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start).count();
    bool stop = false;
    if (!config.valid_path.empty()) {
      // A validating job moves from epoch to epoch together: every worker's updates of the
      // epoch land, worker 0 validates (writing the model when it improved) and decides whether
      // all stop (early stopping), the others wait for that decision.
      RETURN_IF_ERROR(wait_pushes());
      RETURN_IF_ERROR(ReachEpoch(transport, options.worker_index, options.num_workers, epoch));
      if (options.worker_index == 0) {
        RETURN_IF_ERROR(validate(m));
        summary.valid_auc = m.valid_auc;
        summary.valid_logloss = m.valid_logloss;
        if (summary.best_epoch == 0 || *m.valid_logloss < best_logloss) {
          best_logloss = *m.valid_logloss;
          summary.best_epoch = epoch;
          since_best = 0;
          if (options.on_best) RETURN_IF_ERROR(options.on_best(epoch));
        } else if (config.early_stopping > 0 && ++since_best >= config.early_stopping) {
          stop = true;
        }
        RETURN_IF_ERROR(DecideEpoch(transport, epoch, stop));
      } else {
        ASSIGN_OR_RETURN(stop, AwaitEpochDecision(transport, epoch));
      }
    }
    if (stop) {
      summary.stopped_after = epoch;
      if (options.worker_index == 0) {
        log::Info(
            "worker 0: early stopping: validation logloss has not improved for {} epochs; "
            "keeping epoch {}",
            since_best, summary.best_epoch);
      }
    }
    if (epoch_examples == 0) {  // all skipped: a resumed worker reports no new epoch
      if (stop) break;
      continue;
    }
    if (!options.metrics_path.empty() &&
        !AppendMetricsLine(options.metrics_path, EpochMetricsLine(m))) {
      log::Warn("worker {}: cannot append to the metrics log {}", options.worker_index,
                options.metrics_path);
    }
    if (stop) break;
  }
  RETURN_IF_ERROR(wait_pushes());
  RETURN_IF_ERROR(FinishClock(transport, options.worker_index, options.num_workers));
  return summary;
}

absl::StatusOr<WorkerSummary> RunWorkerJob(WorkerOptions options, const InputSpec& input,
                                           const ModelSpec& spec, PsTransport& transport,
                                           const std::function<void()>& checkpoint_now,
                                           const std::function<void(int epoch)>& on_written) {
  const auto start = std::chrono::steady_clock::now();
  auto seconds = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  const bool chief = options.worker_index == 0 && !options.train.out_dir.empty();
  const bool write_best = chief && !options.train.valid_path.empty();
  if (write_best) {
    options.on_best = [&](int epoch) -> absl::Status {
      RETURN_IF_ERROR(
          WriteModelFromServers(options.train, input, spec, transport, seconds(), epoch));
      if (on_written) on_written(epoch);
      return absl::OkStatus();
    };
  }
  ASSIGN_OR_RETURN(WorkerSummary summary, RunWorker(options, input, spec, transport));
  if (options.worker_index != 0) return summary;
  if (!chief) {
    if (checkpoint_now) checkpoint_now();
    return summary;
  }
  RETURN_IF_ERROR(WaitForWorkers(transport, options.num_workers, 24 * 3600));
  if (checkpoint_now) checkpoint_now();
  if (write_best && summary.best_epoch > 0) return summary;
  RETURN_IF_ERROR(WriteModelFromServers(options.train, input, spec, transport, seconds()));
  if (on_written) on_written(0);
  return summary;
}

absl::Status WaitForWorkers(PsTransport& transport, int num_workers, double timeout_seconds) {
  const auto give_up = std::chrono::steady_clock::now() +
                       std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                           std::chrono::duration<double>(timeout_seconds));
  while (true) {
    ASSIGN_OR_RETURN(const std::vector<int64_t> clocks, WorkerClocks(transport));
    int done = 0;
    for (int64_t c : clocks) done += c < 0;
    if (static_cast<int>(clocks.size()) == num_workers && done == num_workers) {
      return absl::OkStatus();
    }
    if (std::chrono::steady_clock::now() >= give_up) {
      return absl::DeadlineExceededError(absl::StrCat("waited ", timeout_seconds,
                                                      " s for the other workers; ", done, " of ",
                                                      num_workers, " finished"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

absl::Status WriteModelFromServers(const TrainConfig& config, const InputSpec& input,
                                   const ModelSpec& spec, PsTransport& transport, double seconds,
                                   int best_epoch) {
  ASSIGN_OR_RETURN(auto model, Model::Create(spec));
  ASSIGN_OR_RETURN(auto optimizer, CreateOptimizer(config.resolved_optimizer()));
  const int dim = model->dim();
  SparseTable table(dim * (1 + optimizer->state_per_weight()), [](uint64_t, float*) {});
  RETURN_IF_ERROR(ExportTable(transport, "weights", &table));
  const bool has_bias = table.Find(kBiasKey) != nullptr;
  const int epochs = config.epochs > 0 ? config.epochs : 1;
  const nlohmann::json training = {{"epochs", epochs},
                                   {"best_epoch", best_epoch > 0 ? best_epoch : epochs},
                                   {"seconds", seconds},
                                   {"servers", transport.num_servers()},
                                   {"batch_size", config.resolved_batch_size()},
                                   {"staleness", config.staleness},
                                   {"train_path", config.train_path},
                                   {"seed", config.model.seed}};
  ModelManifest manifest =
      BuildManifest(spec, optimizer->config(), input,
                    static_cast<int64_t>(table.size()) - (has_bias ? 1 : 0), training.dump());
  if (model->dense_size() == 0) {
    return SaveModelDir(config.out_dir, manifest, table, *optimizer, /*steps=*/0);
  }  // steps matter only to the perceptron
  ASSIGN_OR_RETURN(auto dense_optimizer, CreateOptimizer(config.resolved_dense_optimizer()));
  std::vector<float> weights, state;
  RETURN_IF_ERROR(ExportDenseTable(transport, kDenseTableName, model->dense_size(),
                                   dense_optimizer->state_per_weight(), &weights, &state));
  manifest.dense_optimizer = dense_optimizer->config();
  const DenseWeights dense{weights.data(), state.data(), static_cast<int64_t>(weights.size()),
                           dense_optimizer.get(), 0};
  return SaveModelDir(config.out_dir, manifest, table, *optimizer, /*steps=*/0, &dense);
}

}  // namespace parasol
