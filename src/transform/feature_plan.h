// The compiled, immutable plan that encoders share: a config resolved against a schema. Field
// ids, the operation each column gets, precomputed keys, piecewise boundaries, pickcat sets,
// normalize offsets and scales, and the crosses to emit. Building a plan is where every semantic
// check of the config happens (fields exist, types fit, names are new). Plans are immutable
// once built and thread-safe to share; the statistics accumulators are not (see Accumulator).
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "data/schema.h"
#include "transform/transform_config.h"

namespace parasol::transform {

// What a schema column produces.
enum class ValueOp : uint8_t { kRawNumber, kPiecewise, kNormalize, kCategory, kPickcat };

struct FieldPlan {
  std::string name;
  uint32_t id = 0;
  ValueOp op = ValueOp::kRawNumber;
  uint64_t field_key = 0;          // masked FeatureKey(id, ""): key of raw/normalized numbers
  uint64_t missing_key = 0;        // unmasked FeatureKey(id, ""): combinehash's absent token
  std::vector<double> boundaries;  // piecewise
  absl::flat_hash_set<std::string> keep;  // pickcat
  uint64_t other_key = 0;                 // pickcat: unmasked FeatureKey(id, other)
  double offset = 0;                      // normalize
  double scale = 1;                       // normalize
  int stats_slot = -1;                    // normalize: index into the accumulators
};

struct CrossPlan {
  uint32_t id = 0;
  bool drop_if_absent = true;  // descartes; combinehash uses the missing token
  std::vector<uint32_t> sources;
};

struct FeaturePlan {
  Schema schema;
  int hash_bits = 0;
  std::string origin;
  std::vector<TransformSpec> specs;
  std::vector<FieldPlan> fields;  // schema feature columns, by field id
  std::vector<CrossPlan> crosses;
  std::vector<std::string> field_names;
  bool positive_has_word = false;    // schema.positive holds a non-numeric value
  std::vector<int> normalize_specs;  // spec index per stats slot
  bool needs_stats = false;
};

// Resolves `specs` against `schema`. Fails on hash_bits outside [0, 63], an invalid schema (empty
// label or column name, a column listed twice) or a transform that does not fit, naming the
// transform (`spec.where (type): field 'x': ...`); schema errors name `origin`.
absl::StatusOr<std::shared_ptr<const FeaturePlan>> BuildPlan(const Schema& schema,
                                                             std::vector<TransformSpec> specs,
                                                             int hash_bits,
                                                             const std::string& origin);

// Running statistics of one normalized column (Welford). Not thread-safe.
struct Accumulator {
  int64_t count = 0;
  double mean = 0;
  double m2 = 0;
  double min = 0;
  double max = 0;

  void Add(double x) {
    if (count == 0) {
      min = max = x;
    } else {
      min = std::min(min, x);
      max = std::max(max, x);
    }
    ++count;
    const double delta = x - mean;
    mean += delta / static_cast<double>(count);
    m2 += delta * (x - mean);
  }
};

// One per normalize transform, indexed by FieldPlan::stats_slot.
using Accumulators = std::vector<Accumulator>;

// A new plan whose normalize transforms carry the statistics in `accumulators` (one per
// normalize_specs entry). A slot with no value keeps restored statistics; without them it fails,
// naming the transform and field.
absl::StatusOr<std::shared_ptr<const FeaturePlan>> FinishPlanStatistics(
    const FeaturePlan& plan, const Accumulators& accumulators);

}  // namespace parasol::transform
