// Feature transforms that turn raw columns (named by a Schema) into hashed features. One config,
// saved in the model's manifest, is shared by training and serving so both compute the same keys.
//
// Config (the `transforms:` list of a model config YAML):
//   - {type: piecewise,  field: tenure, boundaries: [6, 12, 24]}      # number → bucket feature
//   - {type: pickcat,    field: payment, keep: [card, cash], other: other}  # rare → one "other"
//   - {type: descartes,  fields: [contract, internet], name: c_x_i}   # cross: one feature per
//                                                                     #   combination of values
//   - {type: combinehash, fields: [city, device], name: city_dev}    # one key from all values
//   - {type: normalize,  field: monthly, method: minmax|zscore}       # stats computed from data
//
// Without transforms a numeric column gives one feature (key of the field, value = the number;
// empty → absent) and a categorical column gives one feature per value (value 1).
// Field ids (for FFM): schema feature columns in schema order (numeric then categorical), then
// one new field per descartes/combinehash output.
// A built pipeline is immutable and thread-safe; statistics collection is the exception and is
// documented on the methods involved.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "data/row_encoder.h"
#include "data/schema.h"

namespace parasol {

class FeaturePipeline {
 public:
  // `config_yaml` is the text of a model config; only its `transforms:` key is read (absent →
  // no transforms). Errors name `origin`, the transform's position and the offending field.
  static absl::StatusOr<std::shared_ptr<FeaturePipeline>> Create(const Schema& schema,
                                                                 const std::string& config_yaml,
                                                                 const std::string& origin,
                                                                 int hash_bits);
  // Restores a pipeline saved by ToJson() (schema, transforms and statistics).
  static absl::StatusOr<std::shared_ptr<FeaturePipeline>> FromJson(const std::string& json);
  std::string ToJson() const;

  ~FeaturePipeline();

  // True when some transform (normalize) needs statistics from a pass over the training data.
  bool NeedsStatistics() const;
  // Encoders from this factory append nothing; they accumulate statistics into this pipeline.
  // Not thread-safe: use them from one thread (parse_threads = 0), then call FinishStatistics().
  RowEncoderFactory StatisticsFactory();
  absl::Status FinishStatistics();

  // Encoders that produce examples. REQUIRES: statistics finished when NeedsStatistics().
  RowEncoderFactory EncoderFactory() const;

  int num_fields() const;
  const Schema& schema() const;

  struct Impl;

 private:
  explicit FeaturePipeline(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace parasol
