// The hot per-row step: a RowEncoder that turns one row of text columns into one example by
// following a FeaturePlan, or (a statistics encoder) feeds the normalize accumulators instead.
// Encoders are immutable and thread-safe, except statistics encoders, which write to their
// shared accumulators and must be used from one thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "data/row_encoder.h"
#include "transform/feature_plan.h"

namespace parasol::transform {

// An encoder for rows whose columns are named `names` (a file's header). Fails when a schema
// column is missing or appears twice; with `label_optional`, names without the label column
// give an encoder that sets label 0. `stats` non-null makes a statistics encoder: it validates
// rows exactly like the others, appends nothing and adds each row's normalized values to
// `stats` (one per plan.normalize_specs entry); a row that fails adds nothing.
absl::StatusOr<std::unique_ptr<RowEncoder>> MakeFeatureEncoder(
    std::shared_ptr<const FeaturePlan> plan, const std::vector<std::string>& names,
    std::shared_ptr<Accumulators> stats, bool label_optional);

}  // namespace parasol::transform
