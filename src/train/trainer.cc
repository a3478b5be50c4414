#include "train/trainer.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/hash.h"
#include "common/status_macros.h"
#include "data/cache.h"
#include "metrics/metrics.h"
#include "model/dense_kernels.h"
#include "predict/input_spec.h"
#include "predict/predictor.h"
#include "storage/model_dir.h"
#include "train/deep_learner.h"
#include "train/minibatch.h"
#include "train/progress.h"
#include "train/training_input.h"

namespace parasol {
namespace {

// A parsed block on its way to a learner. When the block is kept in memory for later epochs the
// learner also records each feature's row pointer (rows never move), so later epochs skip the
// hash lookups altogether.
struct WorkBlock {
  explicit WorkBlock(ExampleBlock b) : block(std::move(b)) {}
  ExampleBlock block;
  bool keep_rows = false;
  std::vector<float*> rows;  // parallel to block.keys() once resolved
  bool resolved = false;
};
using Block = std::shared_ptr<WorkBlock>;

size_t BlockBytes(const ExampleBlock& b) {
  return b.size() * 8 + b.num_features() * (16 + sizeof(float*));
}

// Bounded multi-producer multi-consumer queue of parsed blocks.
class BlockQueue {
 public:
  explicit BlockQueue(size_t capacity) : capacity_(capacity) {}
  void Push(Block block) {
    std::unique_lock<std::mutex> lock(mu_);
    not_full_.wait(lock, [&] { return queue_.size() < capacity_ || closed_; });
    if (closed_) return;
    queue_.push_back(std::move(block));
    not_empty_.notify_one();
  }
  // nullptr once closed and drained.
  Block Pop() {
    std::unique_lock<std::mutex> lock(mu_);
    not_empty_.wait(lock, [&] { return !queue_.empty() || closed_; });
    if (queue_.empty()) return nullptr;
    Block block = std::move(queue_.front());
    queue_.pop_front();
    not_full_.notify_one();
    return block;
  }
  void Close() {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    not_empty_.notify_all();
    not_full_.notify_all();
  }

 private:
  const size_t capacity_;
  std::mutex mu_;
  std::condition_variable not_full_, not_empty_;
  std::deque<Block> queue_;
  bool closed_ = false;
};

// One learner thread's state: reusable buffers and the update loop.
class Learner {
 public:
  // `bias_batch`: examples whose bias gradients are summed into one update of the shared bias
  // row. 1 (per-example updates) with one learner; more with several, because every example
  // touches the bias and per-example writes from several cores make its cache line bounce.
  Learner(const Model& model, const Optimizer& optimizer, SparseTable& table, float* bias_row,
          std::atomic<uint64_t>& steps, Progress& progress, int bias_batch, int batch_size)
      : model_(model),
        optimizer_(optimizer),
        table_(table),
        bias_row_(bias_row),
        steps_(steps),
        progress_(progress),
        dim_(model.dim()),
        bias_batch_(bias_batch),
        batch_size_(batch_size),
        batch_(model) {}

  void Train(WorkBlock& work) {
    if (batch_size_ > 1) return TrainMiniBatches(work.block);
    const ExampleBlock& block = work.block;
    const size_t n = block.size();
    const bool resolved = work.resolved;
    if (work.keep_rows && !resolved) work.rows.resize(block.num_features());
    const uint64_t* keys = block.keys().data();
    const uint32_t* offsets = block.offsets().data();
    // Random memory accesses dominate, so lookups run one example ahead of the maths: while
    // example e computes, e + 1's rows are being fetched and e + 2's hash slots prefetched.
    auto prefetch_slots = [&](size_t e) {
      for (uint32_t i = offsets[e]; i < offsets[e + 1]; ++i) table_.Prefetch(keys[i]);
    };
    auto resolve = [&](size_t e) {
      float** out;
      if (work.keep_rows) {
        out = work.rows.data() + offsets[e];  // kept blocks record their rows in place
      } else {
        std::vector<float*>& buf = row_buffers_[e & 1];
        buf.resize(offsets[e + 1] - offsets[e]);
        out = buf.data();
      }
      for (uint32_t i = offsets[e]; i < offsets[e + 1]; ++i) {
        float* row = table_.FindOrInsert(keys[i]);
        __builtin_prefetch(row);
        out[i - offsets[e]] = row;
      }
      return out;
    };
    float** next = nullptr;
    if (!resolved && n > 0) {
      if (n > 1) prefetch_slots(1);
      next = resolve(0);
    }
    uint64_t step = steps_.fetch_add(n, std::memory_order_relaxed);
    double loss_sum = 0;
    for (size_t e = 0; e < n; ++e) {
      const ExampleView ex = block.example(e);
      float* const* rows;
      if (resolved) {
        rows = work.rows.data() + offsets[e];
        if (e + 1 < n) {
          for (uint32_t i = offsets[e + 1]; i < offsets[e + 2]; ++i) {
            __builtin_prefetch(work.rows[i]);
          }
        }
      } else {
        rows = next;
        if (e + 2 < n) prefetch_slots(e + 2);
        if (e + 1 < n) next = resolve(e + 1);
      }
      const float* const* weights = const_cast<const float* const*>(rows);
      const float score = model_.Score(ex, weights, bias_row_[0], &scratch_);
      loss_sum += LogisticLoss(Sigmoid(score), ex.label);
      ++step;
      const float dloss = model_.LossGradient(score, ex.label);
      if (dloss == 0) continue;
      grads_.resize(static_cast<size_t>(ex.size) * dim_);
      model_.Gradient(ex, weights, dloss, &scratch_, grads_.data());
      optimizer_.UpdateRows(rows, dim_, grads_.data(), ex.size, step);
      bias_grad_ += dloss;
      if (++bias_pending_ >= bias_batch_) FlushBias(step);
    }
    FlushBias(step);
    if (work.keep_rows) work.resolved = true;
    progress_.Add(block.size(), loss_sum);
  }

 private:
  // batch_size > 1: one optimizer step per distinct key per batch, with the summed gradient
  // (the distributed trainer's semantics; see minibatch.h). The bias row is updated over its
  // full width like any pushed row, so local and distributed rows match bit for bit.
  void TrainMiniBatches(const ExampleBlock& block) {
    const size_t n = block.size();
    const uint32_t* offsets = block.offsets().data();
    uint64_t step = steps_.fetch_add(n, std::memory_order_relaxed);
    double loss_sum = 0;
    std::vector<float> bias_grads(dim_, 0.0f);
    for (size_t begin = 0; begin < n; begin += batch_size_) {
      const size_t end = std::min(n, begin + static_cast<size_t>(batch_size_));
      row_buffers_[0].resize(offsets[end] - offsets[begin]);
      for (uint32_t i = offsets[begin]; i < offsets[end]; ++i) {
        row_buffers_[0][i - offsets[begin]] = table_.FindOrInsert(block.keys()[i]);
      }
      batch_.Clear();
      batch_.Add(block, begin, end, row_buffers_[0].data(), bias_row_[0]);
      step += end - begin;
      for (size_t u = 0; u < batch_.keys().size(); ++u) {
        float* row = table_.FindOrInsert(batch_.keys()[u]);
        optimizer_.Update(row, row + dim_, batch_.grads().data() + u * dim_, dim_, step);
      }
      bias_grads[0] = batch_.bias_grad();
      optimizer_.Update(bias_row_, bias_row_ + dim_, bias_grads.data(), dim_, step);
      loss_sum += batch_.loss_sum();
    }
    progress_.Add(n, loss_sum);
  }

  void FlushBias(uint64_t step) {
    if (bias_pending_ == 0) return;
    optimizer_.Update(bias_row_, bias_row_ + dim_, &bias_grad_, 1, step);
    bias_grad_ = 0;
    bias_pending_ = 0;
  }

  const Model& model_;
  const Optimizer& optimizer_;
  SparseTable& table_;
  float* const bias_row_;
  std::atomic<uint64_t>& steps_;
  Progress& progress_;
  const int dim_;
  const int bias_batch_;
  const int batch_size_;
  MiniBatchAccumulator batch_;
  float bias_grad_ = 0;
  int bias_pending_ = 0;
  std::vector<float*> row_buffers_[2];
  std::vector<float> grads_;
  ModelScratch scratch_;
};

class Trainer {
 public:
  Trainer(const TrainConfig& config, bool interactive, std::string report_path)
      : config_(config),
        threads_(config.resolved_threads()),
        interactive_(interactive),
        report_path_(std::move(report_path)) {}

  absl::StatusOr<TrainSummary> Run();

 private:
  absl::Status Prepare();
  absl::StatusOr<std::vector<ExampleBlock>> ReadAll(const std::string& path);
  absl::Status TrainEpoch(int epoch);
  absl::Status TrainFromReader(DataReader& reader, CacheWriter* cache_writer, bool keep);
  void TrainFromMemory();
  std::unique_ptr<DeepLearner> MakeDeepLearner();
  int bias_batch() const { return threads_ == 1 ? 1 : 32; }
  // Auto epochs without validation: whether to stop after `epoch`, whose training loss is `loss`
  // (the previous one's `previous`); says why in the log when it stops.
  bool AutoEpochsDone(int epoch, double previous, double loss) const;
  absl::Status Save();
  std::string SummaryJson() const;

  const TrainConfig& config_;
  const int threads_;
  const bool interactive_;
  const std::string report_path_;
  InputSpec input_;
  std::unique_ptr<Model> model_;
  std::unique_ptr<Optimizer> optimizer_;
  std::unique_ptr<Optimizer> dense_optimizer_;  // deep models only
  DenseState dense_;                            // deep models only
  std::unique_ptr<SparseTable> table_;
  float* bias_row_ = nullptr;
  std::unique_ptr<Progress> progress_;
  std::vector<ExampleBlock> valid_;
  std::atomic<uint64_t> steps_{0};

  // Parsed training data kept after the first epoch while it fits in memory_limit_mb.
  std::vector<Block> memory_;
  bool in_memory_ = false;
  std::string cache_ready_;  // a valid cache file for later epochs, or ""
  std::string bad_lines_;

  TrainSummary summary_;
  double best_logloss_ = 0;
};

absl::StatusOr<std::vector<ExampleBlock>> Trainer::ReadAll(const std::string& path) {
  ASSIGN_OR_RETURN(auto reader,
                   OpenDataReader(path, input_.MakeReaderOptions(threads_, config_.max_bad_lines)));
  std::vector<ExampleBlock> blocks;
  while (true) {
    ExampleBlock block;
    ASSIGN_OR_RETURN(bool more, reader->Next(&block));
    if (!more) break;
    blocks.push_back(std::move(block));
  }
  if (!reader->bad_lines().Summary().empty()) {
    progress_->Log(absl::StrCat(path, ": ", reader->bad_lines().Summary()));
  }
  return blocks;
}

absl::Status Trainer::Prepare() {
  RETURN_IF_ERROR(ValidateTrainConfig(config_));
  std::error_code ec;
  std::filesystem::create_directories(config_.out_dir, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot create output directory ", config_.out_dir, ": ", ec.message()));
  }
  progress_ = std::make_unique<Progress>(
      (std::filesystem::path(config_.out_dir) / "metrics.jsonl").string(), interactive_,
      report_path_);
  ASSIGN_OR_RETURN(input_, PrepareTrainingInput(config_));
  ASSIGN_OR_RETURN(const ModelSpec spec, ResolveModelSpec(config_, input_));
  ASSIGN_OR_RETURN(model_, Model::Create(spec));
  ASSIGN_OR_RETURN(optimizer_, CreateOptimizer(config_.resolved_optimizer()));
  const int dim = model_->dim();
  const Model* model = model_.get();
  const Optimizer* optimizer = optimizer_.get();
  table_ = std::make_unique<SparseTable>(dim * (1 + optimizer_->state_per_weight()),
                                         [model, optimizer, dim](uint64_t key, float* row) {
                                           model->InitRow(key, row);
                                           optimizer->InitState(row, row + dim, dim);
                                         });
  bias_row_ = table_->FindOrInsert(kBiasKey);  // InitRow starts its weight at 0
  if (model_->dense_size() > 0) {
    ASSIGN_OR_RETURN(dense_optimizer_, CreateOptimizer(config_.resolved_dense_optimizer()));
    const size_t size = model_->dense_size();
    dense_.weights.resize(size);
    dense_.state.resize(size * dense_optimizer_->state_per_weight());
    model_->InitDense(dense_.weights.data());
    dense_optimizer_->InitState(dense_.weights.data(), dense_.state.data(), static_cast<int>(size));
    progress_->Log(absl::StrCat(ModelTypeName(spec.type), ": ", spec.num_fields, " fields x ",
                                spec.embedding_dim, " dims, ", size, " dense weights (",
                                dense::KernelIsa(), " kernels), batches of ",
                                config_.resolved_batch_size(), " on ", threads_, " threads"));
  }
  if (!config_.valid_path.empty()) {
    ASSIGN_OR_RETURN(valid_, ReadAll(config_.valid_path));
  }
  return absl::OkStatus();
}

std::unique_ptr<DeepLearner> Trainer::MakeDeepLearner() {
  return std::make_unique<DeepLearner>(*model_, *optimizer_, *dense_optimizer_, *table_, bias_row_,
                                       dense_, threads_, config_.resolved_batch_size(),
                                       config_.model.seed);
}

absl::Status Trainer::TrainFromReader(DataReader& reader, CacheWriter* cache_writer, bool keep) {
  BlockQueue queue(2 * threads_);
  std::vector<std::thread> learners;
  if (dense_optimizer_ != nullptr) {
    // A deep model: one learner takes the blocks in order and splits each batch over its team.
    learners.emplace_back([&] {
      auto learner = MakeDeepLearner();
      while (Block work = queue.Pop()) {
        const double loss =
            learner->Train(work->block, work->keep_rows ? &work->rows : nullptr, &work->resolved);
        steps_.fetch_add(work->block.size());
        progress_->Add(work->block.size(), loss);
      }
    });
  }
  for (int t = 0; t < threads_ && dense_optimizer_ == nullptr; ++t) {
    learners.emplace_back([&] {
      Learner learner(*model_, *optimizer_, *table_, bias_row_, steps_, *progress_, bias_batch(),
                      config_.resolved_batch_size());
      while (Block work = queue.Pop()) learner.Train(*work);
    });
  }
  progress_->SetInputFraction([&reader] { return reader.fraction_read(); });
  absl::Status status;
  size_t kept_bytes = 0;
  const size_t limit = static_cast<size_t>(config_.memory_limit_mb) << 20;
  while (true) {
    ExampleBlock parsed;
    auto more = reader.Next(&parsed);
    if (!more.ok()) {
      status = more.status();
      break;
    }
    if (!*more) break;
    if (cache_writer != nullptr) {
      status = cache_writer->Write(parsed);
      if (!status.ok()) break;
    }
    auto block = std::make_shared<WorkBlock>(std::move(parsed));
    if (keep) {
      kept_bytes += BlockBytes(block->block);
      if (kept_bytes <= limit) {
        block->keep_rows = true;
        memory_.push_back(block);
      } else {
        keep = false;
        memory_.clear();
        memory_.shrink_to_fit();
      }
    }
    queue.Push(std::move(block));
  }
  queue.Close();
  for (auto& th : learners) th.join();
  progress_->SetInputFraction(nullptr);
  if (!reader.bad_lines().Summary().empty()) bad_lines_ = reader.bad_lines().Summary();
  in_memory_ = keep && status.ok();
  return status;
}

void Trainer::TrainFromMemory() {
  if (dense_optimizer_ != nullptr) {
    auto learner = MakeDeepLearner();
    for (const Block& work : memory_) {
      const double loss = learner->Train(work->block, &work->rows, &work->resolved);
      steps_.fetch_add(work->block.size());
      progress_->Add(work->block.size(), loss);
    }
    return;
  }
  std::atomic<size_t> next{0};
  auto work = [&] {
    Learner learner(*model_, *optimizer_, *table_, bias_row_, steps_, *progress_, bias_batch(),
                    config_.resolved_batch_size());
    for (size_t b; (b = next.fetch_add(1)) < memory_.size();) learner.Train(*memory_[b]);
  };
  std::vector<std::thread> learners;
  for (int t = 1; t < threads_; ++t) learners.emplace_back(work);
  work();
  for (auto& th : learners) th.join();
}

absl::Status Trainer::TrainEpoch(int epoch) {
  if (in_memory_) {
    TrainFromMemory();
    return absl::OkStatus();
  }
  // One parser per two learners keeps up (parsing is ~3x faster than learning) and leaves the
  // cores to the learners.
  const int parse_threads = std::max(1, threads_ / 2);
  if (!cache_ready_.empty()) {
    ASSIGN_OR_RETURN(auto reader,
                     OpenDataReader(cache_ready_, input_.MakeReaderOptions(parse_threads, 0)));
    return TrainFromReader(*reader, nullptr, /*keep=*/false);
  }
  // First pass over the data: from a matching cache when there is one, else from text (writing
  // the cache on the way when asked).
  const bool keep = config_.epochs != 1;  // auto (0) may take more passes
  std::unique_ptr<CacheWriter> writer;
  std::string source = config_.train_path;
  if (!config_.cache_path.empty()) {
    const uint64_t fingerprint = SourceFingerprint(config_.train_path, input_.Fingerprint());
    auto existing = CacheReader::Open(config_.cache_path);
    if (existing.ok() && (*existing)->fingerprint() == fingerprint) {
      source = config_.cache_path;
      progress_->Log(absl::StrCat("reading parsed data from cache ", config_.cache_path));
    } else {
      ASSIGN_OR_RETURN(writer, CacheWriter::Create(config_.cache_path, fingerprint));
      progress_->Log(absl::StrCat("writing cache ", config_.cache_path));
    }
  }
  ReaderOptions options = input_.MakeReaderOptions(parse_threads, config_.max_bad_lines);
  options.chunk_bytes = config_.training_chunk_bytes();
  ASSIGN_OR_RETURN(auto reader, OpenDataReader(source, options));
  RETURN_IF_ERROR(TrainFromReader(*reader, writer.get(), keep));
  if (writer != nullptr) RETURN_IF_ERROR(writer->Finish());
  if (!config_.cache_path.empty()) cache_ready_ = config_.cache_path;
  return absl::OkStatus();
}

bool Trainer::AutoEpochsDone(int epoch, double previous, double loss) const {
  if (!in_memory_ && cache_ready_.empty()) {
    progress_->Log(
        absl::StrCat("epochs: auto, one pass: the data is not kept in memory (over "
                     "memory_limit_mb) and there is no --cache; set --epochs to "
                     "read it again"));
    return true;
  }
  if (epoch == kMaxAutoEpochs) return true;
  if (epoch == 1 || previous - loss >= kAutoEpochsMinGain * previous) return false;
  progress_->Log(absl::StrFormat(
      "epochs: auto, stopping after %d: the training loss improved by %.2f%% in the last pass "
      "(less than %.0f%%); --epochs N sets the count",
      epoch, previous > 0 ? 100 * (previous - loss) / previous : 0.0, 100 * kAutoEpochsMinGain));
  return true;
}

std::string Trainer::SummaryJson() const {
  nlohmann::json j = {
      {"examples", summary_.examples},     {"epochs", summary_.epochs_run},
      {"best_epoch", summary_.best_epoch}, {"train_loss", summary_.train_loss},
      {"seconds", summary_.seconds},       {"threads", threads_},
      {"train_path", config_.train_path},  {"valid_path", config_.valid_path},
      {"seed", config_.model.seed},
  };
  if (summary_.valid_auc) j["valid_auc"] = *summary_.valid_auc;
  if (summary_.valid_logloss) j["valid_logloss"] = *summary_.valid_logloss;
  const std::time_t now = std::time(nullptr);
  char created[32];
  std::strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  j["created"] = created;
  return j.dump();
}

absl::Status Trainer::Save() {
  summary_.features = table_->size() - 1;
  ModelManifest manifest = BuildManifest(model_->spec(), optimizer_->config(), input_,
                                         static_cast<int64_t>(summary_.features), SummaryJson());
  if (dense_optimizer_ == nullptr) {
    return SaveModelDir(config_.out_dir, manifest, *table_, *optimizer_, steps_.load());
  }
  manifest.dense_optimizer = dense_optimizer_->config();
  const DenseWeights dense{dense_.weights.data(), dense_.state.data(),
                           static_cast<int64_t>(dense_.weights.size()), dense_optimizer_.get(),
                           dense_.steps};
  return SaveModelDir(config_.out_dir, manifest, *table_, *optimizer_, steps_.load(), &dense);
}

absl::StatusOr<TrainSummary> Trainer::Run() {
  const auto start = std::chrono::steady_clock::now();
  RETURN_IF_ERROR(Prepare());
  int since_best = 0;
  const bool auto_epochs = config_.epochs == 0;
  const int max_epochs = auto_epochs ? kMaxAutoEpochs : config_.epochs;
  double previous_loss = 0;
  for (int epoch = 1; epoch <= max_epochs; ++epoch) {
    progress_->BeginEpoch(epoch, max_epochs, 0);
    RETURN_IF_ERROR(TrainEpoch(epoch));
    if (steps_.load() == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(config_.train_path, ": no examples to train on",
                       bad_lines_.empty() ? "" : " (", bad_lines_, bad_lines_.empty() ? "" : ")"));
    }
    summary_.epochs_run = epoch;
    summary_.examples = steps_.load();
    summary_.train_loss = progress_->epoch_loss();
    summary_.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (valid_.empty()) {
      progress_->EndEpoch(std::nullopt, std::nullopt);
      if (auto_epochs && AutoEpochsDone(epoch, previous_loss, summary_.train_loss)) break;
      previous_loss = summary_.train_loss;
      continue;
    }
    const std::vector<float> probs =
        PredictBlocks(*model_, *table_, dense_.weights.data(), valid_, threads_);
    std::vector<float> labels;
    labels.reserve(probs.size());
    for (const auto& b : valid_) labels.insert(labels.end(), b.labels().begin(), b.labels().end());
    const double auc = RocAuc(probs, labels);
    const double logloss = LogLoss(probs, labels);
    progress_->EndEpoch(auc, logloss);
    if (summary_.best_epoch == 0 || logloss < best_logloss_) {
      best_logloss_ = logloss;
      summary_.best_epoch = epoch;
      summary_.valid_auc = auc;
      summary_.valid_logloss = logloss;
      since_best = 0;
      RETURN_IF_ERROR(Save());
    } else if (config_.early_stopping > 0 && ++since_best >= config_.early_stopping) {
      progress_->Log(absl::StrCat("early stopping: validation logloss has not improved for ",
                                  since_best, " epochs; keeping epoch ", summary_.best_epoch));
      break;
    }
  }
  if (valid_.empty()) {
    summary_.best_epoch = summary_.epochs_run;
    RETURN_IF_ERROR(Save());
  }
  summary_.bad_lines = bad_lines_;
  summary_.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  summary_.features = table_->size() - 1;
  return summary_;
}

}  // namespace

absl::StatusOr<TrainSummary> Train(const TrainConfig& config, bool interactive,
                                   const std::string& report_path) {
  Trainer trainer(config, interactive, report_path);
  return trainer.Run();
}

}  // namespace parasol
