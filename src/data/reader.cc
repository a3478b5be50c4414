// DataReader implementations: text input cut into chunks of whole lines, parsed on the caller's
// thread or on a pool of parser threads fed by one reading thread; and the binary cache reader.
#include "data/reader.h"

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "data/cache.h"
#include "data/input_file.h"
#include "data/line_parsers.h"

namespace parasol {

absl::StatusOr<DataFormat> ParseDataFormat(const std::string& name) {
  if (name == "libsvm") return DataFormat::kLibsvm;
  if (name == "csv") return DataFormat::kCsv;
  if (name == "criteo") return DataFormat::kCriteo;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown data format '", name, "' (expected libsvm, csv or criteo)"));
}

const char* DataFormatName(DataFormat format) {
  switch (format) {
    case DataFormat::kLibsvm:
      return "libsvm";
    case DataFormat::kCsv:
      return "csv";
    case DataFormat::kCriteo:
      return "criteo";
  }
  return "unknown";
}

namespace {

constexpr char kUtf8Bom[] = "\xEF\xBB\xBF";

// Whole lines of text and where they start in the file. A chunk with a non-OK status carries a
// read error instead of text, in its place in the sequence.
struct Chunk {
  uint64_t seq = 0;
  uint64_t first_line = 1;  // 1-based number of the chunk's first line
  uint64_t num_lines = 0;
  std::string text;
  absl::Status status;
};

// Cuts an input file into chunks of about `chunk_bytes`, each ending at a line boundary (a line
// longer than that makes a longer chunk). Strips a UTF-8 byte order mark at the start of the
// file. Not thread-safe.
class Chunker {
 public:
  Chunker(std::unique_ptr<InputFile> file, size_t chunk_bytes)
      : file_(std::move(file)), chunk_bytes_(std::max<size_t>(chunk_bytes, 1)) {}

  const std::string& path() const { return file_->path(); }
  double fraction_read() const { return file_->fraction_read(); }

  // Fills *chunk with the next lines (reusing chunk->text's memory). Returns false at the end.
  absl::StatusOr<bool> Next(Chunk* chunk) {
    std::string& text = chunk->text;
    text.clear();
    text.swap(pending_);
    size_t searched = 0;  // text[0, searched) holds no '\n' past the last cut point
    while (true) {
      if (text.size() >= chunk_bytes_ || eof_) {
        const size_t nl = LastNewline(text, searched);
        if (nl != std::string::npos) {
          pending_.assign(text, nl + 1);
          text.resize(nl + 1);
          break;
        }
        searched = text.size();
        if (eof_) break;  // the last line has no '\n'
      }
      RETURN_IF_ERROR(Fill(&text, std::max(chunk_bytes_ - std::min(chunk_bytes_, text.size()),
                                           std::min<size_t>(chunk_bytes_, 1 << 16))));
    }
    StripBom(&text);
    if (text.empty()) return false;
    chunk->first_line = next_line_;
    chunk->num_lines = CountNewlines(text) + (text.back() != '\n');
    next_line_ += chunk->num_lines;
    return true;
  }

  // Reads the first line (the CSV header), without its "\n"/"\r\n". False for an empty file.
  absl::StatusOr<bool> ReadLine(std::string* line) {
    size_t nl;
    while ((nl = pending_.find('\n')) == std::string::npos && !eof_) {
      RETURN_IF_ERROR(Fill(&pending_, 1 << 16));
    }
    StripBom(&pending_);
    if (pending_.empty()) return false;
    nl = pending_.find('\n');
    if (nl == std::string::npos) {
      line->swap(pending_);
      pending_.clear();
    } else {
      line->assign(pending_, 0, nl);
      pending_.erase(0, nl + 1);
    }
    if (!line->empty() && line->back() == '\r') line->pop_back();
    ++next_line_;
    return true;
  }

 private:
  // memchr skips whole lines at a time (vectorised), much faster than a byte loop.
  static uint64_t CountNewlines(const std::string& text) {
    uint64_t n = 0;
    const char* p = text.data();
    const char* const end = p + text.size();
    while (p < end) {
      const void* nl = std::memchr(p, '\n', static_cast<size_t>(end - p));
      if (nl == nullptr) break;
      ++n;
      p = static_cast<const char*>(nl) + 1;
    }
    return n;
  }

  static size_t LastNewline(const std::string& text, size_t from) {
    for (size_t i = text.size(); i > from; --i) {
      if (text[i - 1] == '\n') return i - 1;
    }
    return std::string::npos;
  }

  // Appends up to `n` bytes from the file to *text; sets eof_ at the end of input.
  absl::Status Fill(std::string* text, size_t n) {
    const size_t old = text->size();
    text->resize(old + n);
    absl::StatusOr<size_t> got = file_->Read(text->data() + old, n);
    if (!got.ok()) {
      text->resize(old);
      return got.status();
    }
    text->resize(old + *got);
    if (*got == 0) eof_ = true;
    return absl::OkStatus();
  }

  // Decides once, as soon as the start of the file is known, whether it begins with a BOM.
  void StripBom(std::string* text) {
    if (!at_start_) return;
    if (text->size() < 3 && !eof_ && text->find('\n') == std::string::npos) return;
    at_start_ = false;
    if (text->compare(0, 3, kUtf8Bom) == 0) text->erase(0, 3);
  }

  std::unique_ptr<InputFile> file_;
  const size_t chunk_bytes_;
  std::string pending_;  // bytes read past the last cut point
  bool eof_ = false;
  bool at_start_ = true;
  uint64_t next_line_ = 1;
};

// How lines are parsed; shared read-only by all parser threads.
struct ParseConfig {
  DataFormat format = DataFormat::kLibsvm;
  LibsvmOptions libsvm;
  int64_t max_bad_lines = 0;
  const RowEncoder* encoder = nullptr;     // CSV / Criteo
  const RowEncoder* unlabelled = nullptr;  // headerless CSV / Criteo lines without the label
  size_t num_columns = 0;
  char delimiter = ',';
};

struct BadLine {
  uint64_t line;
  LineError error;
};

struct ChunkResult {
  absl::Status status;  // a read error
  uint64_t num_lines = 0;
  ExampleBlock block;
  std::vector<BadLine> bad_lines;  // in line order
};

// Parses chunks into blocks. One per thread (it holds scratch memory).
class ChunkParser {
 public:
  explicit ChunkParser(const ParseConfig& config)
      : config_(config), splitter_(config.delimiter, config.format == DataFormat::kCsv) {}

  void Parse(const Chunk& chunk, ChunkResult* result) {
    result->status = chunk.status;
    result->num_lines = chunk.num_lines;
    result->bad_lines.clear();
    result->block.Clear();
    if (!chunk.status.ok()) return;
    // Consumers may keep blocks (and hand back fresh ones): size the block from the previous
    // chunk's density so that it is filled without reallocating.
    result->block.Reserve(chunk.num_lines,
                          static_cast<size_t>(features_per_byte_ * chunk.text.size() * 1.05) + 64);
    const char* p = chunk.text.data();
    const char* const end = p + chunk.text.size();
    uint64_t line_no = chunk.first_line;
    LineError error;
    for (; p < end; ++line_no) {
      const void* nl = std::memchr(p, '\n', static_cast<size_t>(end - p));
      const char* line_end = nl != nullptr ? static_cast<const char*>(nl) : end;
      const std::string_view line(p, static_cast<size_t>(line_end - p));
      p = line_end + 1;
      bool ok;
      if (config_.format == DataFormat::kLibsvm) {
        ok = ParseLibsvm(line, config_.libsvm, &result->block, &error);
        if (!ok && IsBlankLibsvmLine(line)) continue;
      } else {
        if (line.empty() || line == "\r") continue;
        ok = ParseDelimited(line, config_.num_columns, *config_.encoder, config_.unlabelled,
                            &splitter_, &result->block, &error);
      }
      if (ok) continue;
      result->bad_lines.push_back({line_no, std::move(error)});
      // More bad lines than the limit allows: the read will stop here at the latest.
      if (static_cast<int64_t>(result->bad_lines.size()) > config_.max_bad_lines) return;
    }
    if (!chunk.text.empty()) {
      features_per_byte_ = static_cast<double>(result->block.num_features()) /
                           static_cast<double>(chunk.text.size());
    }
  }

 private:
  const ParseConfig& config_;
  DelimitedSplitter splitter_;
  double features_per_byte_ = 1.0 / 8;  // a guess for the first chunk
};

// Reads text input in chunks; parses on the caller's thread (parse_threads = 0) or on a pool.
class TextReader : public DataReader {
 public:
  TextReader(std::unique_ptr<Chunker> chunker, ParseConfig config,
             std::unique_ptr<RowEncoder> encoder, std::unique_ptr<RowEncoder> unlabelled,
             int parse_threads, int64_t max_bad_lines, uint64_t header_lines)
      : path_(chunker->path()),
        chunker_(std::move(chunker)),
        encoder_(std::move(encoder)),
        unlabelled_(std::move(unlabelled)),
        config_(config),
        tracker_(max_bad_lines),
        lines_read_(header_lines) {
    config_.encoder = encoder_.get();
    config_.unlabelled = unlabelled_.get();
    if (parse_threads == 0) {
      parser_ = std::make_unique<ChunkParser>(config_);
      return;
    }
    max_in_flight_ = 2 * static_cast<size_t>(parse_threads);
    workers_.reserve(static_cast<size_t>(parse_threads));
    for (int i = 0; i < parse_threads; ++i) workers_.emplace_back([this] { WorkerLoop(); });
    reader_thread_ = std::thread([this] { ReaderLoop(); });
  }

  ~TextReader() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    space_cv_.notify_all();
    work_cv_.notify_all();
    result_cv_.notify_all();
    if (reader_thread_.joinable()) reader_thread_.join();
    for (std::thread& t : workers_) t.join();
  }

  absl::StatusOr<bool> Next(ExampleBlock* block) override {
    if (!error_.ok()) return error_;
    ChunkResult& result = result_;
    while (true) {
      absl::StatusOr<bool> got = workers_.empty() ? ParseNext(&result) : TakeNext(&result);
      if (!got.ok()) return Fail(got.status());
      if (!*got) return false;
      if (!result.status.ok()) return Fail(result.status);
      for (const BadLine& bad : result.bad_lines) {
        absl::Status s = tracker_.Report(path_, bad.line, bad.error.kind, bad.error.message);
        if (!s.ok()) return Fail(s);
      }
      lines_read_ += result.num_lines;
      if (result.block.empty()) {
        Recycle(std::move(result.block));
        continue;
      }
      std::swap(*block, result.block);
      Recycle(std::move(result.block));  // the caller's previous block, for reuse
      return true;
    }
  }

  uint64_t lines_read() const override { return lines_read_; }
  const BadLineTracker& bad_lines() const override { return tracker_; }
  double fraction_read() const override { return chunker_->fraction_read(); }

 private:
  absl::Status Fail(absl::Status status) {
    error_ = status;
    return status;
  }

  // parse_threads = 0: read and parse the next chunk here.
  absl::StatusOr<bool> ParseNext(ChunkResult* result) {
    ASSIGN_OR_RETURN(const bool more, chunker_->Next(&chunk_));
    if (!more) return false;
    parser_->Parse(chunk_, result);
    return true;
  }

  // parse_threads ≥ 1: wait for the next chunk in file order.
  absl::StatusOr<bool> TakeNext(ChunkResult* result) {
    std::unique_lock<std::mutex> lock(mu_);
    result_cv_.wait(lock, [&] {
      return results_.count(next_seq_) != 0 || (reader_done_ && next_seq_ >= total_chunks_);
    });
    auto it = results_.find(next_seq_);
    if (it == results_.end()) return false;
    *result = std::move(it->second);
    results_.erase(it);
    ++next_seq_;
    --in_flight_;
    lock.unlock();
    space_cv_.notify_one();
    return true;
  }

  // Keeps a consumed block's memory for the parser threads (with parse_threads = 0 it simply
  // stays in result_ and is cleared by the next Parse()).
  void Recycle(ExampleBlock&& block) {
    if (workers_.empty()) return;
    block.Clear();
    std::lock_guard<std::mutex> lock(mu_);
    if (free_blocks_.size() < max_in_flight_) free_blocks_.push_back(std::move(block));
  }

  void ReaderLoop() {
    uint64_t seq = 0;
    while (true) {
      Chunk chunk;
      {
        std::unique_lock<std::mutex> lock(mu_);
        space_cv_.wait(lock, [&] { return stop_ || in_flight_ < max_in_flight_; });
        if (stop_) return;
        ++in_flight_;
        if (!free_texts_.empty()) {
          chunk.text = std::move(free_texts_.back());
          free_texts_.pop_back();
        }
      }
      chunk.seq = seq;
      absl::StatusOr<bool> more = chunker_->Next(&chunk);
      std::lock_guard<std::mutex> lock(mu_);
      if (!more.ok() || !*more) {
        if (!more.ok()) {
          // The error takes the place of the next chunk, so it is delivered in order.
          chunk.status = more.status();
          chunk.text.clear();
          todo_.push_back(std::move(chunk));
          total_chunks_ = seq + 1;
        } else {
          --in_flight_;
          total_chunks_ = seq;
        }
        reader_done_ = true;
        work_cv_.notify_all();
        result_cv_.notify_all();
        return;
      }
      todo_.push_back(std::move(chunk));
      ++seq;
      work_cv_.notify_one();
    }
  }

  void WorkerLoop() {
    ChunkParser parser(config_);
    while (true) {
      Chunk chunk;
      ChunkResult result;
      {
        std::unique_lock<std::mutex> lock(mu_);
        work_cv_.wait(lock, [&] { return stop_ || !todo_.empty() || reader_done_; });
        if (stop_ || todo_.empty()) return;  // stopped, or all chunks taken
        chunk = std::move(todo_.front());
        todo_.pop_front();
        if (!free_blocks_.empty()) {
          result.block = std::move(free_blocks_.back());
          free_blocks_.pop_back();
        }
      }
      parser.Parse(chunk, &result);
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (free_texts_.size() < max_in_flight_) free_texts_.push_back(std::move(chunk.text));
        results_.emplace(chunk.seq, std::move(result));
      }
      result_cv_.notify_one();
    }
  }

  const std::string path_;
  std::unique_ptr<Chunker> chunker_;  // used by the caller's thread or by reader_thread_ only
  std::unique_ptr<RowEncoder> encoder_;
  std::unique_ptr<RowEncoder> unlabelled_;  // may be null
  ParseConfig config_;
  BadLineTracker tracker_;
  uint64_t lines_read_;
  absl::Status error_;  // sticky: once failed, Next() keeps failing

  // parse_threads = 0.
  std::unique_ptr<ChunkParser> parser_;
  Chunk chunk_;
  ChunkResult result_;  // the last result taken, kept for its memory

  // parse_threads ≥ 1. Chunks go todo_ → (a worker) → results_ → Next(); in_flight_ counts the
  // chunks read but not yet consumed, which bounds memory.
  size_t max_in_flight_ = 0;
  std::mutex mu_;
  std::condition_variable space_cv_;   // reader thread: in_flight_ dropped, or stop_
  std::condition_variable work_cv_;    // workers: todo_ filled, reader done, or stop_
  std::condition_variable result_cv_;  // consumer: a result arrived, or reader done
  std::deque<Chunk> todo_;
  std::map<uint64_t, ChunkResult> results_;
  std::vector<ExampleBlock> free_blocks_;
  std::vector<std::string> free_texts_;
  size_t in_flight_ = 0;
  uint64_t next_seq_ = 0;
  uint64_t total_chunks_ = 0;
  bool reader_done_ = false;
  bool stop_ = false;
  std::thread reader_thread_;
  std::vector<std::thread> workers_;
};

// Reads a binary cache; options.format and parsing settings do not apply.
class CacheDataReader : public DataReader {
 public:
  explicit CacheDataReader(std::unique_ptr<CacheReader> cache) : cache_(std::move(cache)) {}

  absl::StatusOr<bool> Next(ExampleBlock* block) override {
    while (true) {
      ASSIGN_OR_RETURN(const bool more, cache_->Next(block));
      if (!more) return false;
      if (block->empty()) continue;
      lines_read_ += block->size();
      return true;
    }
  }
  // A cache holds examples, one per original line that was kept.
  uint64_t lines_read() const override { return lines_read_; }
  const BadLineTracker& bad_lines() const override { return tracker_; }
  double fraction_read() const override { return cache_->fraction_read(); }

 private:
  std::unique_ptr<CacheReader> cache_;
  BadLineTracker tracker_;
  uint64_t lines_read_ = 0;
};

// Calls `factory`; errors name `path`.
absl::StatusOr<std::unique_ptr<RowEncoder>> MakeEncoder(const std::string& path,
                                                        const RowEncoderFactory& factory,
                                                        const std::vector<std::string>& names) {
  absl::StatusOr<std::unique_ptr<RowEncoder>> made = factory(names);
  if (!made.ok()) {
    return absl::Status(made.status().code(), absl::StrCat(path, ": ", made.status().message()));
  }
  if (*made == nullptr) {
    return absl::InternalError(absl::StrCat(path, ": encoder_factory returned no encoder"));
  }
  return made;
}

}  // namespace

absl::StatusOr<std::unique_ptr<DataReader>> OpenDataReader(const std::string& path,
                                                           const ReaderOptions& options) {
  if (options.parse_threads < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("parse_threads must be >= 0, got ", options.parse_threads));
  }
  if (options.max_bad_lines < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_bad_lines must be >= 0, got ", options.max_bad_lines));
  }
  if (options.hash_bits < 0 || options.hash_bits > 63) {
    return absl::InvalidArgumentError(
        absl::StrCat("hash_bits must be in [0, 63], got ", options.hash_bits));
  }
  if ((options.raw_feature_ids || options.raw_labels) && options.format != DataFormat::kLibsvm) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": raw_feature_ids and raw_labels apply to libsvm input only, not ",
                     DataFormatName(options.format)));
  }
  if (options.raw_feature_ids && options.hash_bits != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": raw_feature_ids keeps indices as keys; hash_bits must be 0, got ",
                     options.hash_bits));
  }
  if (path != "-" && IsCacheFile(path)) {
    ASSIGN_OR_RETURN(std::unique_ptr<CacheReader> cache, CacheReader::Open(path));
    return std::make_unique<CacheDataReader>(std::move(cache));
  }

  ASSIGN_OR_RETURN(std::unique_ptr<InputFile> file, OpenInputFile(path));
  auto chunker = std::make_unique<Chunker>(std::move(file), options.chunk_bytes);
  ParseConfig config;
  config.format = options.format;
  config.libsvm.label_mode =
      options.labels_optional ? LibsvmLabel::kOptional : LibsvmLabel::kRequired;
  config.libsvm.hash_bits = options.hash_bits;
  config.libsvm.raw_feature_ids = options.raw_feature_ids;
  config.libsvm.raw_labels = options.raw_labels;
  config.max_bad_lines = options.max_bad_lines;
  std::unique_ptr<RowEncoder> encoder;
  std::unique_ptr<RowEncoder> unlabelled;
  uint64_t header_lines = 0;
  if (options.format != DataFormat::kLibsvm) {
    if (!options.encoder_factory) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ": reading ", DataFormatName(options.format), " needs an encoder_factory"));
    }
    const Schema schema = options.format == DataFormat::kCriteo ? CriteoSchema() : options.schema;
    config.delimiter = schema.delimiter;
    std::vector<std::string> names;
    if (schema.header) {
      std::string header;
      ASSIGN_OR_RETURN(const bool has_header, chunker->ReadLine(&header));
      if (!has_header) {
        return absl::InvalidArgumentError(
            absl::StrCat(path, ": empty file, expected a header line naming the columns"));
      }
      header_lines = 1;
      DelimitedSplitter splitter(schema.delimiter, options.format == DataFormat::kCsv);
      LineError error;
      if (!splitter.Split(header, &error)) {
        return absl::InvalidArgumentError(absl::StrCat(path, ":1: header: ", error.message));
      }
      for (std::string_view name : splitter.columns()) names.emplace_back(name);
    } else {
      names = schema.columns;
      if (names.empty()) {
        return absl::InvalidArgumentError(absl::StrCat(
            path, ": the schema has header: false but no columns: list naming the columns"));
      }
    }
    config.num_columns = names.size();
    ASSIGN_OR_RETURN(encoder, MakeEncoder(path, options.encoder_factory, names));
    if (!schema.header && options.labels_optional) {
      // Lines may also come without the label column; they get their own encoder.
      std::vector<std::string> unlabelled_names;
      for (const std::string& name : names) {
        if (name != schema.label) unlabelled_names.push_back(name);
      }
      if (unlabelled_names.size() + 1 == names.size()) {
        ASSIGN_OR_RETURN(unlabelled, MakeEncoder(path, options.encoder_factory, unlabelled_names));
      }
    }
  }
  return std::make_unique<TextReader>(std::move(chunker), config, std::move(encoder),
                                      std::move(unlabelled), options.parse_threads,
                                      options.max_bad_lines, header_lines);
}

}  // namespace parasol
