// One loaded model version: the model directory's weights and transforms, ready to turn raw rows
// into probabilities exactly as `parasol predict` does. Shared by requests through
// std::shared_ptr, so a version being unloaded lives until its last request finishes.
// Thread-safe: const methods from any number of threads; ApplyDelta (the one mutation, rows
// replaced copy-on-write) from one thread at a time, concurrently with the const methods.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "data/row_encoder.h"
#include "predict/predictor.h"
#include "serve/request.h"
#include "serve/row_codec.h"
#include "serve/serving_table.h"

namespace parasol {

struct ServableInput {
  std::string name;
  bool numeric = false;  // FP32 / DT_FLOAT when true, BYTES / DT_STRING otherwise
};

// A version's own warm-up requests: a TF Serving predict body ({"instances": [...]}) in the
// version folder, scored while loading; any error fails the load (the version never serves).
inline constexpr char kWarmupFile[] = "warmup.json";

struct ServableOptions {
  // Precision of the sparse rows in memory (`parasol serve --quantize`); a deep model's dense
  // layers and the bias stay fp32 whatever it is.
  RowPrecision precision = RowPrecision::kFp32;
};

class Servable {
 public:
  // Loads the model directory `dir` as `version`, its rows stored in options.precision (the
  // fp32 rows are read, encoded, then freed), and warms it up before it may take traffic:
  // one row with every feature absent, then DIR/warmup.json's rows when that file exists; every
  // probability must be finite. Errors name `dir` or the warm-up file and the row.
  static absl::StatusOr<std::shared_ptr<Servable>> Load(const std::string& dir, int64_t version,
                                                        const ServableOptions& options = {});

  // Applies the incremental checkpoint in `delta_dir` (ReadCheckpointDelta) to this version in
  // place and returns the number of rows it replaced or added. Refused, with nothing changed,
  // when the delta's base (checkpoint.previous) is not the checkpoint this version is at now
  // (FailedPrecondition naming both), when its model, dimensions, input format or transforms
  // differ from this version's (FailedPrecondition), when a weight is not finite (DataLoss
  // naming the key), or when its files are missing, truncated or corrupt. Each row is
  // published whole (SparseTable::Replace): a concurrent request sees every row either before
  // or after, though one request may see some rows of the delta and not others. A deep model's
  // delta brings its dense layers whole (the checkpoint's dense table), checked before anything
  // is applied and swapped in at once after the rows. A quantized version encodes each row of
  // the delta in its precision before publishing it.
  absl::StatusOr<uint64_t> ApplyDelta(const std::string& delta_dir);
  // The parameter-server checkpoint id this version is at (its own, then that of the last delta
  // applied); -1 when the version is not a checkpoint (no delta can apply to it).
  int64_t checkpoint_id() const { return checkpoint_id_.load(std::memory_order_relaxed); }

  // Probabilities of `rows`, in order. CSV/Criteo models take named fields (the training
  // schema's columns; a missing field is absent, the label column is ignored, an unknown field
  // is an error); libsvm models take an "idx:val ..." string, or a row with one string field.
  // InvalidArgument names the row and field at fault.
  absl::StatusOr<std::vector<float>> Predict(absl::Span<const RawInstance> rows) const;

  // Table rows for feature keys, as floats (a quantized row decoded): values gets
  // keys.size() * dim() floats (row-major, zeros for an absent key) and found[i] says whether
  // keys[i] is in the table. Lookups are prefetched a few keys ahead; no allocation per key.
  void Lookup(absl::Span<const uint64_t> keys, float* values, bool* found) const;
  int dim() const;

  // Predict in two steps, for callers that score several requests' rows together (batcher.h):
  // Encode appends one example per row to *block (same errors as Predict; on error *block may
  // hold part of the rows), Score appends one probability per example of `block`.
  absl::Status Encode(absl::Span<const RawInstance> rows, ExampleBlock* block) const;
  void Score(const ExampleBlock& block, std::vector<float>* probs) const;

  int64_t version() const { return version_; }
  const std::string& dir() const { return dir_; }
  const char* model_type() const;
  const char* data_format() const;
  // Named inputs (empty for libsvm models, whose one input is the "idx:val" string).
  const std::vector<ServableInput>& inputs() const { return inputs_; }
  size_t table_rows() const;
  size_t table_bytes() const;
  RowPrecision precision() const { return table_->precision(); }
  // Bytes of one stored row's weights (4, 2 or 1 per weight; int8 adds 8 for scale and offset).
  int row_payload_bytes() const { return table_->row_payload_bytes(); }

 private:
  Servable() = default;
  absl::Status EncodeRow(const RawInstance& row, ExampleBlock* block) const;

  int64_t version_ = 0;
  std::string dir_;
  std::atomic<int64_t> checkpoint_id_{-1};
  std::unique_ptr<Predictor> predictor_;  // its table moved into table_
  std::unique_ptr<ServingTable> table_;
  // A deep model's dense layers, whole: a delta swaps in a new vector with one store, so a
  // request scores with the old layers or the new ones, never a mix (null for sparse models).
  std::atomic<std::shared_ptr<const std::vector<float>>> dense_;
  std::unique_ptr<RowEncoder> encoder_;  // CSV/Criteo
  std::vector<ServableInput> inputs_;
  std::unordered_map<std::string, size_t> column_;  // field → encoder column
  std::string label_column_;
};

}  // namespace parasol
