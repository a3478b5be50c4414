#include "stream/streamer.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "data/schema.h"
#include "metrics/metrics.h"
#include "predict/input_spec.h"
#include "storage/manifest.h"
#include "stream/event_parser.h"
#include "stream/joiner.h"
#include "stream/online_learner.h"
#include "stream/source.h"
#include "train/progress.h"
#include "train/training_input.h"

namespace parasol::stream {
namespace fs = std::filesystem;
namespace {

constexpr char kCheckpointDir[] = "checkpoint";
constexpr char kStateFile[] = "stream.json";
constexpr char kProgressFile[] = "progress";

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// "1", "+1", "true" → 1; "0", "-1", "false" → 0; else false.
bool ParseLabel(std::string text, float* label) {
  text = absl::AsciiStrToLower(absl::StripAsciiWhitespace(text));
  if (text == "true") text = "1";
  if (text == "false") text = "0";
  double v;
  if (!absl::SimpleAtod(text, &v) || (v != 0 && v != 1 && v != -1)) return false;
  *label = v == 1 ? 1.0f : 0.0f;
  return true;
}

// The last `capacity` (probability, label) pairs.
class Window {
 public:
  explicit Window(size_t capacity) : capacity_(std::max<size_t>(1, capacity)) {}
  void Add(float prob, float label) {
    if (probs_.size() < capacity_) {
      probs_.push_back(prob);
      labels_.push_back(label);
    } else {
      probs_[next_] = prob;
      labels_[next_] = label;
    }
    next_ = (next_ + 1) % capacity_;
  }
  double auc() const { return RocAuc(probs_, labels_); }
  double logloss() const { return LogLoss(probs_, labels_); }

 private:
  const size_t capacity_;
  size_t next_ = 0;
  std::vector<float> probs_, labels_;
};

class Streamer {
 public:
  Streamer(const StreamOptions& options, const std::atomic<bool>& stop)
      : o_(options),
        stop_(stop),
        out_(options.train.out_dir),
        bad_(options.train.max_bad_lines),
        window_(options.window),
        joiner_(static_cast<int64_t>(options.join_window_s * 1000),
                static_cast<size_t>(options.train.memory_limit_mb) << 20) {}

  ~Streamer() {
    if (progress_fd_ >= 0) close(progress_fd_);
  }
  absl::StatusOr<StreamCounts> Run();

 private:
  absl::Status Prepare();
  absl::Status Step();
  // Parses `line` (label used with a join) into block_, counting a malformed one.
  absl::Status AddExample(const std::string& line, const std::string& where, float label,
                          const Source& from);
  absl::Status Learn();
  absl::Status Checkpoint();
  void WriteMetrics();
  std::string TrainingJson() const;
  StreamCounts Counts() const;

  const StreamOptions& o_;
  const std::atomic<bool>& stop_;
  const fs::path out_;
  BadEvents bad_;
  Window window_;
  Joiner joiner_;
  std::unique_ptr<EventParser> parser_;
  std::unique_ptr<OnlineLearner> learner_;
  std::unique_ptr<Source> source_, labels_;
  ExampleBlock block_;
  std::vector<float> probs_;
  std::vector<Event> events_;
  std::vector<Joiner::Example> ready_;
  uint64_t events_read_ = 0, examples_ = 0, checkpoints_ = 0;
  uint64_t logged_examples_ = 0;
  uint64_t after_checkpoint_ = 0;
  int progress_fd_ = -1;
  std::chrono::steady_clock::time_point last_checkpoint_, last_metrics_;
};

absl::Status Streamer::Prepare() {
  std::error_code ec;
  fs::create_directories(out_, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot create output directory ", out_.string(), ": ", ec.message()));
  }
  // A checkpoint left by an earlier run (a crash between the two renames leaves only .old).
  const fs::path checkpoint = out_ / kCheckpointDir;
  const fs::path old = out_ / (std::string(kCheckpointDir) + ".old");
  if (!fs::exists(checkpoint) && fs::exists(old)) fs::rename(old, checkpoint, ec);
  std::string source_position, labels_position;
  uint64_t steps = 0;
  std::string resume;
  if (fs::exists(checkpoint / kStateFile)) {
    std::ifstream in(checkpoint / kStateFile);
    const auto state = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (!state.is_object()) {
      return absl::DataLossError(
          absl::StrCat((checkpoint / kStateFile).string(), ": not a stream checkpoint"));
    }
    try {
      steps = state.at("steps").get<uint64_t>();
      examples_ = state.at("examples").get<uint64_t>();
      events_read_ = state.at("events").get<uint64_t>();
      checkpoints_ = state.at("checkpoints").get<uint64_t>();
      if (state.at("source").get<std::string>() == o_.source) {
        source_position = state.at("source_position").get<std::string>();
      } else {
        log::Warn(
            "stream: the checkpoint read {}, this run reads {}: the model resumes, the "
            "new source starts at its beginning",
            state.at("source").get<std::string>(), o_.source);
      }
      if (state.contains("labels_position")) {
        labels_position = state.at("labels_position").get<std::string>();
      }
      bad_.Restore(state.at("bad_events").get<int64_t>(),
                   state.at("bad_by_kind").get<std::map<std::string, int64_t>>());
      if (state.contains("join")) RETURN_IF_ERROR(joiner_.FromJson(state.at("join")));
    } catch (const nlohmann::json::exception& e) {
      return absl::DataLossError(absl::StrCat((checkpoint / kStateFile).string(), ": ", e.what()));
    }
    resume = checkpoint.string();
  }
  const std::string reader = fs::absolute(out_, ec).string();
  // The input and the model: those of the model resumed (a checkpoint, or a model directory
  // that `parasol train` wrote into OUT: a warm start), whose manifest holds the transforms with
  // their statistics; else from the config.
  InputSpec input;
  ModelSpec spec;
  if (resume.empty() && fs::exists(out_ / "manifest.json")) {
    resume = out_.string();
    log::Info("stream: starting from the model in {} (no stream checkpoint there yet)", resume);
  }
  if (!resume.empty()) {
    ASSIGN_OR_RETURN(const ModelManifest manifest, ReadModelManifest(resume));
    if (manifest.spec.type != o_.train.model.type) {
      return absl::FailedPreconditionError(
          absl::StrCat(resume, " holds a ", ModelTypeName(manifest.spec.type),
                       " model and this run "
                       "configures ",
                       ModelTypeName(o_.train.model.type),
                       ": give the same --model/--config, or another --out"));
    }
    ASSIGN_OR_RETURN(input, InputSpecFromManifest(manifest));
    spec = manifest.spec;
  } else {
    ASSIGN_OR_RETURN(input, InputSpecFromConfig(o_.train));
    if (input.pipeline != nullptr && input.pipeline->NeedsStatistics()) {
      return absl::InvalidArgumentError(
          "the transforms need statistics from a pass over the data (normalize), which a stream "
          "does not give: train a model with `parasol train` first, or drop normalize");
    }
    const ModelSpec configured = o_.train.model;
    if (input.pipeline == nullptr &&
        (configured.type == ModelType::kFfm || IsDeep(configured.type)) &&
        configured.num_fields <= 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "model ", ModelTypeName(configured.type),
          " on libsvm/libffm input needs the field count up front: set `fields: N` in --config (a "
          "stream cannot be scanned for it)"));
    }
    ASSIGN_OR_RETURN(spec, ResolveModelSpec(o_.train, input));
  }
  // A stream's CSV columns: the stream's own schema (--schema) when it lists them, so a model
  // trained on files with a header line can go on learning from header-less events.
  std::vector<std::string> columns;
  if (o_.train.format == DataFormat::kCsv && !o_.train.schema_path.empty()) {
    ASSIGN_OR_RETURN(const Schema schema, Schema::FromYamlFile(o_.train.schema_path));
    columns = schema.columns;
  }
  ASSIGN_OR_RETURN(parser_,
                   EventParser::Create(input, /*features_only=*/!o_.labels.empty(), columns));
  // How far the previous run got past its checkpoint.
  const std::string progress_path = (out_ / kProgressFile).string();
  {
    std::ifstream progress(progress_path);
    uint64_t learned = 0;
    if (progress >> learned && learned > examples_) after_checkpoint_ = learned - examples_;
  }
  progress_fd_ = open(progress_path.c_str(), O_WRONLY | O_CREAT, 0644);
  ASSIGN_OR_RETURN(learner_, OnlineLearner::Create(o_.train, input, spec, resume, steps));
  ASSIGN_OR_RETURN(source_, OpenSource(o_.source, source_position, reader));
  if (!o_.labels.empty()) {
    if (o_.labels.rfind("redis://", 0) != 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--labels must be a Redis stream (redis://HOST:PORT/STREAM), got '", o_.labels, "'"));
    }
    ASSIGN_OR_RETURN(labels_, OpenSource(o_.labels, labels_position, reader));
  }
  if (after_checkpoint_ > 0) {
    log::Warn("stream: the previous run learned {} examples after its last checkpoint; {}",
              after_checkpoint_,
              o_.source == "-" ? "standard input cannot give them again: the model lost them"
                               : "the source gives them again and they are learned twice");
  }
  if (resume.empty()) {
    log::Info("stream: {} from {} into {}", ModelTypeName(spec.type), o_.source, out_.string());
  } else {
    log::Info("stream: resuming {} from {} at {} examples learned, reading {}",
              ModelTypeName(spec.type), resume, examples_, o_.source);
  }
  return absl::OkStatus();
}

absl::Status Streamer::AddExample(const std::string& line, const std::string& where, float label,
                                  const Source& from) {
  LineError error;
  if (line.empty()) {
    return bad_.Report(from.Where(where), {"no line", "the event has no field 'line'"});
  }
  if (parser_->Parse(line, label, &block_, &error)) return absl::OkStatus();
  return bad_.Report(from.Where(where), error);
}

absl::Status Streamer::Step() {
  events_.clear();
  const int wait_ms = labels_ != nullptr ? 50 : 200;
  RETURN_IF_ERROR(source_->Read(o_.read_batch, wait_ms, &events_));
  events_read_ += events_.size();
  block_.Clear();
  if (labels_ == nullptr) {
    for (const Event& e : events_) RETURN_IF_ERROR(AddExample(e.line, e.where, 0, *source_));
    return Learn();
  }
  const int64_t now = NowMs();
  for (Event& e : events_) {
    if (e.id.empty()) {
      RETURN_IF_ERROR(
          bad_.Report(source_->Where(e.where), {"no id", "the impression has no field 'id'"}));
    } else if (e.line.empty()) {
      RETURN_IF_ERROR(
          bad_.Report(source_->Where(e.where), {"no line", "the impression has no field 'line'"}));
    } else if (!joiner_.AddImpression(e.id, std::move(e.line), e.where, now)) {
      RETURN_IF_ERROR(bad_.Report(
          source_->Where(e.where),
          {"duplicate id", absl::StrCat("impression id '", e.id, "' is waiting already")}));
    }
  }
  events_.clear();
  RETURN_IF_ERROR(labels_->Read(o_.read_batch, 50, &events_));
  events_read_ += events_.size();
  ready_.clear();
  for (const Event& e : events_) {
    float label;
    if (e.id.empty()) {
      RETURN_IF_ERROR(
          bad_.Report(labels_->Where(e.where), {"no id", "the label has no field 'id'"}));
    } else if (!ParseLabel(e.label, &label)) {
      RETURN_IF_ERROR(
          bad_.Report(labels_->Where(e.where), {"bad label", absl::StrCat("label '", e.label,
                                                                          "' is not 0/1, -1/+1 or "
                                                                          "true/false")}));
    } else {
      joiner_.AddLabel(e.id, label, now, &ready_);
    }
  }
  joiner_.Expire(NowMs(), &ready_);
  for (const Joiner::Example& x : ready_) {
    RETURN_IF_ERROR(AddExample(x.line, x.where, x.label, *source_));
  }
  return Learn();
}

absl::Status Streamer::Learn() {
  if (block_.empty()) return absl::OkStatus();
  probs_.clear();
  learner_->Learn(block_, &probs_);
  for (size_t i = 0; i < probs_.size(); ++i) window_.Add(probs_[i], block_.labels()[i]);
  examples_ += block_.size();
  if (progress_fd_ >= 0) {
    // A fixed-width record overwritten in place: one small write, no rename per batch.
    char text[24];
    const int n =
        std::snprintf(text, sizeof(text), "%20llu\n", static_cast<unsigned long long>(examples_));
    if (pwrite(progress_fd_, text, static_cast<size_t>(n), 0) != n) {
      log::Warn("stream: cannot update {}", (out_ / kProgressFile).string());
    }
  }
  return absl::OkStatus();
}

StreamCounts Streamer::Counts() const {
  StreamCounts c;
  c.events = events_read_;
  c.examples = examples_;
  c.replayed = source_->replayed() + (labels_ != nullptr ? labels_->replayed() : 0);
  c.checkpoints = checkpoints_;
  c.after_checkpoint = after_checkpoint_;
  c.bad_events = bad_.total();
  c.bad_by_kind = bad_.by_kind();
  const Joiner::Counts& j = joiner_.counts();
  c.joined = j.joined;
  c.negatives = j.negatives;
  c.late = j.late;
  c.orphan_labels = j.orphan_labels;
  c.evicted = j.evicted;
  c.auc = window_.auc();
  c.logloss = window_.logloss();
  return c;
}

std::string Streamer::TrainingJson() const {
  const std::time_t now = std::time(nullptr);
  char created[32];
  std::strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  return nlohmann::json{{"stream", o_.source},
                        {"examples", examples_},
                        {"created", created},
                        {"seed", o_.train.model.seed}}
      .dump();
}

absl::Status Streamer::Checkpoint() {
  const fs::path tmp = out_ / (std::string(kCheckpointDir) + ".tmp");
  const fs::path checkpoint = out_ / kCheckpointDir;
  const fs::path old = out_ / (std::string(kCheckpointDir) + ".old");
  std::error_code ec;
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp, ec);
  RETURN_IF_ERROR(learner_->Save(tmp.string(), TrainingJson()));
  nlohmann::json state = {{"steps", learner_->steps()}, {"examples", examples_},
                          {"events", events_read_},     {"checkpoints", checkpoints_ + 1},
                          {"source", o_.source},        {"source_position", source_->Position()},
                          {"bad_events", bad_.total()}, {"bad_by_kind", bad_.by_kind()}};
  if (labels_ != nullptr) {
    state["labels"] = o_.labels;
    state["labels_position"] = labels_->Position();
    state["join"] = joiner_.ToJson();
  }
  {
    std::ofstream f(tmp / kStateFile);
    f << state.dump() << "\n";
    if (!f.flush()) {
      return absl::UnavailableError(absl::StrCat("cannot write ", (tmp / kStateFile).string()));
    }
  }
  // Swap by renames: at every moment checkpoint/ or checkpoint.old/ is a whole checkpoint.
  fs::remove_all(old, ec);
  if (fs::exists(checkpoint)) fs::rename(checkpoint, old, ec);
  if (ec)
    return absl::UnavailableError(
        absl::StrCat("cannot replace ", checkpoint.string(), ": ", ec.message()));
  fs::rename(tmp, checkpoint, ec);
  if (ec)
    return absl::UnavailableError(
        absl::StrCat("cannot move the checkpoint into place: ", ec.message()));
  fs::remove_all(old, ec);
  ++checkpoints_;
  // Only now is what was read safe: the sources may let go of it (Redis: XACK).
  RETURN_IF_ERROR(source_->Commit());
  if (labels_ != nullptr) RETURN_IF_ERROR(labels_->Commit());
  last_checkpoint_ = std::chrono::steady_clock::now();
  return absl::OkStatus();
}

void Streamer::WriteMetrics() {
  const auto now = std::chrono::steady_clock::now();
  const double seconds = std::chrono::duration<double>(now - last_metrics_).count();
  const double rate = seconds > 0 ? (examples_ - logged_examples_) / seconds : 0;
  const std::string line = StreamMetricsLine(Counts(), rate);
  AppendMetricsLine((out_ / "metrics.jsonl").string(), line);
  if (!o_.report_path.empty() && !AppendMetricsLine(o_.report_path, line)) {
    log::Warn("cannot append to the metrics log {}", o_.report_path);
  }
  logged_examples_ = examples_;
  last_metrics_ = now;
}

absl::StatusOr<StreamCounts> Streamer::Run() {
  RETURN_IF_ERROR(Prepare());
  last_checkpoint_ = last_metrics_ = std::chrono::steady_clock::now();
  logged_examples_ = examples_;
  auto since = [](std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
  };
  while (!stop_.load() && !source_->finished()) {
    RETURN_IF_ERROR(Step());
    if (since(last_checkpoint_) >= o_.checkpoint_every_s) RETURN_IF_ERROR(Checkpoint());
    if (since(last_metrics_) >= o_.metrics_every_s && examples_ > logged_examples_) {
      WriteMetrics();
    }
  }
  RETURN_IF_ERROR(Checkpoint());
  WriteMetrics();
  RETURN_IF_ERROR(learner_->Save(out_.string(), TrainingJson()));
  return Counts();
}

}  // namespace

std::string StreamMetricsLine(const StreamCounts& c, double examples_per_sec) {
  nlohmann::json j = {{"event", "stream"},
                      {"step", c.examples},
                      {"examples_per_sec", examples_per_sec},
                      {"bad_events", c.bad_events},
                      {"replayed", c.replayed}};
  if (std::isfinite(c.auc)) j["progressive_auc"] = c.auc;
  if (std::isfinite(c.logloss)) j["progressive_logloss"] = c.logloss;
  if (c.joined + c.negatives + c.late + c.orphan_labels + c.evicted > 0) {
    j["joined"] = c.joined;
    j["negatives"] = c.negatives;
    j["late"] = c.late;
    j["orphan_labels"] = c.orphan_labels;
    j["evicted"] = c.evicted;
  }
  j["time"] = static_cast<double>(NowMs()) / 1000.0;
  return j.dump();
}

absl::StatusOr<StreamCounts> RunStream(const StreamOptions& options,
                                       const std::atomic<bool>& stop) {
  Streamer streamer(options, stop);
  return streamer.Run();
}

}  // namespace parasol::stream
