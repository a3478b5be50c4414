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
//
// Exact semantics (part of the model format: changing them changes the keys of saved models):
//  - Every value is stripped of leading/trailing ASCII whitespace (so "\r" of CRLF files too).
//  - Label: a value listed in schema.positive → 1. Otherwise a number → 1 when > 0, else 0
//    ("0", "-1" → 0). Otherwise, when schema.positive holds a non-numeric word (e.g. "Yes", or
//    "true" of the default list), any other non-empty word is negative (e.g. "No"). Anything
//    else is an error naming the column and the value; so is an empty or NA/NaN/? label.
//    Rows without a label column (only with EncoderFactory(/*label_optional=*/true)) get 0.
//  - Numeric column, no transform: key FeatureKey(field, ""), value = the number. Empty, "NA",
//    "N/A", "NaN", "NULL", "?" (any case) → the feature is absent. Anything else that is not a
//    finite number within float range is an error ("column 'tenure': not a number: 'abc'").
//  - Categorical column: key FeatureKey(field, value), value 1; empty → absent.
//  - piecewise (numeric field; boundaries strictly increasing): bucket = number of boundaries
//    <= x, in [0, boundaries.size()]; key FeatureKey(field, uint64_t{bucket}), value 1. Replaces
//    the raw numeric feature.
//  - pickcat (categorical field; `other` defaults to "other"): a value not in `keep` is hashed
//    as `other`. Empty stays absent.
//  - normalize (numeric field; method minmax or zscore, required): value (x - min) / (max - min)
//    or (x - mean) / stddev (population), key unchanged. A zero spread gives scale 1. Statistics
//    come from a pass over training data (StatisticsFactory, FinishStatistics).
//  - descartes / combinehash (fields: 2+ distinct schema columns, each categorical or numeric
//    with piecewise; name: new, not a column name): adds the field `name` with one feature,
//    value 1, key FeatureKey(new_field, c) where c = CombineKeys(...CombineKeys(k1, k2)..., kn)
//    over the listed fields' own (unmasked, post-pickcat/piecewise) keys k1..kn. descartes drops
//    the feature when an input is absent; combinehash uses FeatureKey(field_i, "") for an absent
//    input (no present categorical value or bucket has that key). Source fields keep their own
//    features.
//  - A field takes at most one of piecewise/pickcat/normalize; the order of the list does not
//    matter for them (crosses always see the transformed values).
//  - Every emitted key is MaskKey(key, hash_bits). An example's features come in field-id order.
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
  // Also fails on an invalid schema (empty label, a column listed twice) or hash_bits outside
  // [0, 63].
  static absl::StatusOr<std::shared_ptr<FeaturePipeline>> Create(const Schema& schema,
                                                                 const std::string& config_yaml,
                                                                 const std::string& origin,
                                                                 int hash_bits);
  // Restores a pipeline saved by ToJson() (schema, transforms and statistics). Errors name the
  // JSON path of the bad field ("transforms[1].boundaries[0]").
  static absl::StatusOr<std::shared_ptr<FeaturePipeline>> FromJson(const std::string& json);
  // Everything needed to recompute identical keys: schema, hash_bits, transforms with their
  // parameters and finished normalize statistics.
  std::string ToJson() const;

  ~FeaturePipeline();

  // True when some transform (normalize) needs statistics from a pass over the training data
  // and FinishStatistics() has not yet succeeded (false for a pipeline restored with them).
  bool NeedsStatistics() const;
  // Encoders from this factory append nothing; they accumulate statistics into this pipeline.
  // Not thread-safe: use them from one thread (parse_threads = 0), then call FinishStatistics().
  // They validate rows exactly like EncoderFactory()'s encoders (same errors), and a row that
  // fails contributes nothing. Statistics accumulate over every row given to any of them.
  RowEncoderFactory StatisticsFactory();
  // Computes the normalize parameters from the rows seen so far. Fails, naming the transform and
  // field, when a normalized column had no value at all. Must not run concurrently with any
  // other use of this pipeline; encoders made earlier by EncoderFactory() keep the old state.
  absl::Status FinishStatistics();

  // Encoders that produce examples. REQUIRES: statistics finished when NeedsStatistics()
  // (otherwise the factory returns FailedPrecondition). The encoders share the pipeline's
  // immutable state and may outlive the pipeline. The factory fails when a feature column or the
  // label column is missing from the names; with `label_optional` (prediction) names without the
  // label column are accepted and every example gets label 0. A label column that is present is
  // parsed as usual either way (a bad value is still an error).
  RowEncoderFactory EncoderFactory(bool label_optional = false) const;

  int num_fields() const;
  // Field names by field id: schema numeric, schema categorical, then cross names.
  const std::vector<std::string>& field_names() const;
  int hash_bits() const;
  const Schema& schema() const;

  struct Impl;

 private:
  explicit FeaturePipeline(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace parasol
