#include "transform/feature_plan.h"

#include <algorithm>
#include <cmath>
#include <string_view>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/hash.h"
#include "common/status_macros.h"
#include "transform/value_parse.h"

namespace parasol::transform {
namespace {

// (x - offset) / scale with a zero or unusable spread replaced by 1.
void NormalizeParams(NormalizeMethod method, const NormalizeStats& s, double* offset,
                     double* scale) {
  if (method == NormalizeMethod::kMinmax) {
    *offset = s.min;
    *scale = s.max - s.min;
  } else {
    *offset = s.mean;
    *scale = s.stddev;
  }
  if (!(*scale > 0) || !std::isfinite(*scale)) *scale = 1;
}

absl::Status ValidateSchema(const Schema& schema, const std::string& origin) {
  if (schema.label.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(origin, ": schema: the label is empty"));
  }
  // Not `= {schema.label}`: absl would deduce initializer_list<std::string>, and the set
  // would keep a view of a destroyed temporary.
  absl::flat_hash_set<std::string_view> seen;
  seen.insert(schema.label);
  for (const auto* list : {&schema.numeric, &schema.categorical}) {
    for (const std::string& c : *list) {
      if (c.empty()) {
        return absl::InvalidArgumentError(absl::StrCat(origin, ": schema: empty column name"));
      }
      if (!seen.insert(c).second) {
        return absl::InvalidArgumentError(absl::StrCat(origin, ": schema: column ", Quoted(c),
                                                       c == schema.label
                                                           ? " is the label and a feature column"
                                                           : " is listed more than once"));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::shared_ptr<const FeaturePlan>> BuildPlan(const Schema& schema,
                                                             std::vector<TransformSpec> specs,
                                                             int hash_bits,
                                                             const std::string& origin) {
  if (hash_bits < 0 || hash_bits > 63) {
    return absl::InvalidArgumentError(
        absl::StrCat(origin, ": hash_bits must be in [0, 63], got ", hash_bits));
  }
  RETURN_IF_ERROR(ValidateSchema(schema, origin));
  auto plan = std::make_shared<FeaturePlan>();
  plan->schema = schema;
  plan->hash_bits = hash_bits;
  plan->origin = origin;

  absl::flat_hash_map<std::string, uint32_t> field_ids;
  auto add_field = [&](const std::string& name, ValueOp op) {
    FieldPlan f;
    f.name = name;
    f.id = static_cast<uint32_t>(plan->fields.size());
    f.op = op;
    f.missing_key = FeatureKey(f.id, std::string_view());
    f.field_key = MaskKey(f.missing_key, hash_bits);
    field_ids[name] = f.id;
    plan->field_names.push_back(name);
    plan->fields.push_back(std::move(f));
  };
  for (const std::string& c : schema.numeric) add_field(c, ValueOp::kRawNumber);
  for (const std::string& c : schema.categorical) add_field(c, ValueOp::kCategory);
  const size_t num_numeric = schema.numeric.size();

  // Names a new cross field must avoid: every column the schema mentions.
  absl::flat_hash_set<std::string> taken = {schema.label};
  for (const auto* list : {&schema.numeric, &schema.categorical, &schema.columns}) {
    taken.insert(list->begin(), list->end());
  }
  std::vector<int> transformed_by(plan->fields.size(), -1);

  auto error = [&](const TransformSpec& s, std::string_view field, absl::string_view what) {
    return absl::InvalidArgumentError(
        absl::StrCat(s.where, " (", TypeName(s.type), "): field ", Quoted(field), ": ", what));
  };
  auto find_field = [&](const TransformSpec& s,
                        const std::string& name) -> absl::StatusOr<uint32_t> {
    auto it = field_ids.find(name);
    if (it == field_ids.end()) {
      return error(s, name,
                   name == schema.label ? "is the label, not a feature column"
                                        : "is not a numeric or categorical column of the schema");
    }
    return it->second;
  };

  // Pass 1: per-field value transforms.
  for (size_t i = 0; i < specs.size(); ++i) {
    TransformSpec& s = specs[i];
    if (IsCross(s.type)) continue;
    ASSIGN_OR_RETURN(const uint32_t id, find_field(s, s.field));
    FieldPlan& f = plan->fields[id];
    const bool numeric = id < num_numeric;
    if (transformed_by[id] >= 0) {
      return error(s, s.field,
                   absl::StrCat("already transformed by transforms[", transformed_by[id],
                                "]; a field takes one of piecewise/pickcat/normalize"));
    }
    transformed_by[id] = static_cast<int>(i);
    switch (s.type) {
      case TransformType::kPiecewise:
        if (!numeric) return error(s, s.field, "piecewise needs a numeric column");
        if (s.boundaries.empty()) return error(s, s.field, "boundaries must not be empty");
        for (size_t b = 0; b < s.boundaries.size(); ++b) {
          if (!std::isfinite(s.boundaries[b])) {
            return error(s, s.field, absl::StrCat("boundaries[", b, "] is not finite"));
          }
          if (b > 0 && !(s.boundaries[b] > s.boundaries[b - 1])) {
            return error(
                s, s.field,
                absl::StrCat("boundaries must be strictly increasing (boundaries[", b,
                             "] = ", s.boundaries[b], " after ", s.boundaries[b - 1], ")"));
          }
        }
        f.op = ValueOp::kPiecewise;
        f.boundaries = s.boundaries;
        break;
      case TransformType::kPickcat:
        if (numeric) return error(s, s.field, "pickcat needs a categorical column");
        if (s.keep.empty()) return error(s, s.field, "keep must not be empty");
        if (s.other.empty()) return error(s, s.field, "other must not be empty");
        for (const std::string& k : s.keep) {
          if (k.empty()) return error(s, s.field, "keep holds an empty value");
        }
        f.op = ValueOp::kPickcat;
        f.keep.insert(s.keep.begin(), s.keep.end());
        f.other_key = FeatureKey(f.id, std::string_view(s.other));
        break;
      case TransformType::kNormalize:
        if (!numeric) return error(s, s.field, "normalize needs a numeric column");
        f.op = ValueOp::kNormalize;
        f.stats_slot = static_cast<int>(plan->normalize_specs.size());
        plan->normalize_specs.push_back(static_cast<int>(i));
        if (s.stats.has_value()) {
          if (s.stats->count <= 0) return error(s, s.field, "statistics have no values");
          NormalizeParams(s.method, *s.stats, &f.offset, &f.scale);
        } else {
          plan->needs_stats = true;
        }
        break;
      case TransformType::kDescartes:
      case TransformType::kCombinehash:
        break;
    }
  }

  // Pass 2: crosses, in transform order, as new fields.
  for (const TransformSpec& s : specs) {
    if (!IsCross(s.type)) continue;
    auto cross_error = [&](absl::string_view what) {
      return absl::InvalidArgumentError(
          absl::StrCat(s.where, " (", TypeName(s.type), "): name ", Quoted(s.name), ": ", what));
    };
    if (s.name.empty()) return cross_error("name must not be empty");
    if (!taken.insert(s.name).second) {
      return cross_error("name is already a column or field name");
    }
    if (s.fields.size() < 2) return cross_error("fields must list at least two columns");
    CrossPlan cross;
    cross.id = static_cast<uint32_t>(plan->field_names.size());
    cross.drop_if_absent = s.type == TransformType::kDescartes;
    for (const std::string& name : s.fields) {
      ASSIGN_OR_RETURN(const uint32_t id, find_field(s, name));
      if (std::find(cross.sources.begin(), cross.sources.end(), id) != cross.sources.end()) {
        return error(s, name, "listed twice");
      }
      const ValueOp op = plan->fields[id].op;
      if (op != ValueOp::kCategory && op != ValueOp::kPickcat && op != ValueOp::kPiecewise) {
        return error(s, name, "a numeric column must be bucketized with piecewise to be crossed");
      }
      cross.sources.push_back(id);
    }
    plan->field_names.push_back(s.name);
    plan->crosses.push_back(std::move(cross));
  }

  for (const std::string& p : schema.positive) {
    double unused;
    if (ParseNumber(p, &unused) != NumberParse::kOk) plan->positive_has_word = true;
  }
  plan->specs = std::move(specs);
  return std::shared_ptr<const FeaturePlan>(std::move(plan));
}

absl::StatusOr<std::shared_ptr<const FeaturePlan>> FinishPlanStatistics(const FeaturePlan& p,
                                                                        const Accumulators& acc) {
  std::vector<TransformSpec> specs = p.specs;
  for (size_t slot = 0; slot < p.normalize_specs.size(); ++slot) {
    TransformSpec& s = specs[p.normalize_specs[slot]];
    const Accumulator& a = acc[slot];
    if (a.count == 0 && s.stats.has_value()) continue;  // restored, and no new pass
    if (a.count == 0) {
      return absl::InvalidArgumentError(absl::StrCat(s.where, " (normalize): field ",
                                                     Quoted(s.field),
                                                     ": no value seen in the statistics pass"));
    }
    NormalizeStats stats;
    stats.count = a.count;
    stats.min = a.min;
    stats.max = a.max;
    stats.mean = a.mean;
    stats.stddev = std::sqrt(a.m2 / static_cast<double>(a.count));
    s.stats = stats;
  }
  return BuildPlan(p.schema, std::move(specs), p.hash_bits, p.origin);
}

}  // namespace parasol::transform
