#include "transform/feature_encoder.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string_view>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/hash.h"
#include "common/status_macros.h"
#include "transform/value_parse.h"

namespace parasol::transform {
namespace {

// Per-row scratch of n elements: on the stack up to N, on the heap beyond (absl::InlinedVector
// trips GCC 12's -Wmaybe-uninitialized).
template <typename T, size_t N>
class Scratch {
 public:
  explicit Scratch(size_t n) : data_(inline_) {
    if (n > N) {
      heap_ = std::make_unique<T[]>(n);
      data_ = heap_.get();
    }
  }
  T& operator[](size_t i) { return data_[i]; }

 private:
  T inline_[N];
  std::unique_ptr<T[]> heap_;
  T* data_;
};

// label_column of an encoder for rows without the label column (every example gets label 0).
constexpr uint32_t kNoLabelColumn = std::numeric_limits<uint32_t>::max();

class FeatureEncoder final : public RowEncoder {
 public:
  // `stats` non-null makes a statistics encoder (appends nothing, accumulates).
  FeatureEncoder(std::shared_ptr<const FeaturePlan> plan, size_t num_columns, uint32_t label_column,
                 std::vector<uint32_t> field_columns, std::shared_ptr<Accumulators> stats)
      : plan_(std::move(plan)),
        num_columns_(num_columns),
        label_column_(label_column),
        field_columns_(std::move(field_columns)),
        stats_(std::move(stats)) {}

  absl::Status Encode(absl::Span<const std::string_view> columns,
                      ExampleBlock* out) const override {
    if (columns.size() != num_columns_) {
      return absl::InvalidArgumentError(absl::StrCat(
          "expected ", num_columns_, " columns (as in the header), got ", columns.size()));
    }
    float label = 0;
    if (label_column_ != kNoLabelColumn) {
      RETURN_IF_ERROR(ParseLabel(Strip(columns[label_column_]), &label));
    }
    if (stats_ != nullptr) return Accumulate(columns);

    const FeaturePlan& p = *plan_;
    const int bits = p.hash_bits;
    const size_t n = p.fields.size();
    const bool any_cross = !p.crosses.empty();
    // Unmasked value keys for crosses; 0 marks an absent field (a real key of 0 is only
    // misread as absent with probability 2^-64).
    Scratch<uint64_t, 64> value_keys(any_cross ? n : 0);
    if (any_cross) std::fill_n(&value_keys[0], n, 0);

    for (size_t i = 0; i < n; ++i) {
      const FieldPlan& f = p.fields[i];
      const std::string_view v = Strip(columns[field_columns_[i]]);
      uint64_t key;  // unmasked, except for raw/normalized numbers (field_key)
      float value = 1.0f;
      switch (f.op) {
        case ValueOp::kCategory:
          if (v.empty()) continue;
          key = FeatureKey(f.id, v);
          break;
        case ValueOp::kPickcat:
          if (v.empty()) continue;
          key = f.keep.contains(Av(v)) ? FeatureKey(f.id, v) : f.other_key;
          break;
        case ValueOp::kRawNumber:
        case ValueOp::kNormalize:
        case ValueOp::kPiecewise: {
          double x;
          const NumberParse r = ParseNumber(v, &x);
          if (r == NumberParse::kMissing) continue;
          if (r != NumberParse::kOk) {
            out->AbandonExample();
            return NumberError(f, v, r);
          }
          if (f.op == ValueOp::kPiecewise) {
            const uint64_t bucket = static_cast<uint64_t>(
                std::upper_bound(f.boundaries.begin(), f.boundaries.end(), x) -
                f.boundaries.begin());
            key = FeatureKey(f.id, bucket);
          } else {
            key = f.field_key;
            value = static_cast<float>(f.op == ValueOp::kNormalize ? (x - f.offset) / f.scale : x);
          }
          break;
        }
        default:
          continue;
      }
      if (any_cross) value_keys[i] = key;
      out->AddFeature(
          f.op == ValueOp::kRawNumber || f.op == ValueOp::kNormalize ? key : MaskKey(key, bits),
          f.id, value);
    }

    for (const CrossPlan& c : p.crosses) {
      uint64_t combined = 0;
      bool absent = false;
      for (size_t j = 0; j < c.sources.size(); ++j) {
        uint64_t k = value_keys[c.sources[j]];
        if (k == 0) {
          if (c.drop_if_absent) {
            absent = true;
            break;
          }
          k = p.fields[c.sources[j]].missing_key;
        }
        combined = j == 0 ? k : CombineKeys(combined, k);
      }
      if (absent) continue;
      out->AddFeature(MaskKey(FeatureKey(c.id, combined), bits), c.id, 1.0f);
    }
    out->FinishExample(label);
    return absl::OkStatus();
  }

 private:
  absl::Status ParseLabel(std::string_view v, float* label) const {
    const FeaturePlan& p = *plan_;
    for (const std::string& pos : p.schema.positive) {
      if (v == pos) {
        *label = 1.0f;
        return absl::OkStatus();
      }
    }
    double x;
    switch (ParseNumber(v, &x)) {
      case NumberParse::kOk:
      case NumberParse::kOutOfRange:  // finite sign is still meaningful
        if (std::isfinite(x)) {
          *label = x > 0 ? 1.0f : 0.0f;
          return absl::OkStatus();
        }
        break;
      case NumberParse::kMissing:
        return absl::InvalidArgumentError(
            absl::StrCat("column ", Quoted(p.schema.label), ": missing label ", Quoted(v)));
      case NumberParse::kBad:
        if (p.positive_has_word && !v.empty()) {
          *label = 0.0f;
          return absl::OkStatus();
        }
        break;
    }
    return absl::InvalidArgumentError(
        absl::StrCat("column ", Quoted(p.schema.label), ": bad label ", Quoted(v),
                     " (expected a number or one of the positive values: ",
                     absl::StrJoin(p.schema.positive, ", "), ")"));
  }

  static absl::Status NumberError(const FieldPlan& f, std::string_view v, NumberParse r) {
    return absl::InvalidArgumentError(absl::StrCat(
        "column ", Quoted(f.name), ": ",
        r == NumberParse::kOutOfRange ? "number out of range: " : "not a number: ", Quoted(v)));
  }

  absl::Status Accumulate(absl::Span<const std::string_view> columns) const {
    const FeaturePlan& p = *plan_;
    Scratch<double, 16> pending(p.normalize_specs.size());
    const size_t num_slots = p.normalize_specs.size();
    for (size_t slot = 0; slot < num_slots; ++slot) pending[slot] = std::nan("");
    for (size_t i = 0; i < p.fields.size(); ++i) {
      const FieldPlan& f = p.fields[i];
      if (f.op == ValueOp::kCategory || f.op == ValueOp::kPickcat) continue;
      const std::string_view v = Strip(columns[field_columns_[i]]);
      double x;
      const NumberParse r = ParseNumber(v, &x);
      if (r == NumberParse::kMissing) continue;
      if (r != NumberParse::kOk) return NumberError(f, v, r);
      if (f.stats_slot >= 0) pending[f.stats_slot] = x;
    }
    for (size_t slot = 0; slot < num_slots; ++slot) {
      if (!std::isnan(pending[slot])) (*stats_)[slot].Add(pending[slot]);
    }
    return absl::OkStatus();
  }

  const std::shared_ptr<const FeaturePlan> plan_;
  const size_t num_columns_;
  const uint32_t label_column_;                // kNoLabelColumn: none
  const std::vector<uint32_t> field_columns_;  // column index per plan field
  const std::shared_ptr<Accumulators> stats_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<RowEncoder>> MakeFeatureEncoder(
    std::shared_ptr<const FeaturePlan> plan, const std::vector<std::string>& names,
    std::shared_ptr<Accumulators> stats, bool label_optional) {
  absl::flat_hash_map<std::string_view, uint32_t> index;
  absl::flat_hash_set<std::string_view> duplicated;
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string_view name = Strip(names[i]);
    if (!index.emplace(name, static_cast<uint32_t>(i)).second) duplicated.insert(name);
  }
  auto lookup = [&](const std::string& column, const char* role) -> absl::StatusOr<uint32_t> {
    if (duplicated.contains(column)) {
      return absl::InvalidArgumentError(
          absl::StrCat(role, " column ", Quoted(column), " appears more than once in the header"));
    }
    auto it = index.find(column);
    if (it == index.end()) {
      constexpr size_t kShown = 20;
      std::vector<absl::string_view> shown(names.begin(),
                                           names.begin() + std::min(names.size(), kShown));
      return absl::InvalidArgumentError(absl::StrCat(
          role, " column ", Quoted(column), " of the schema is not among the file's ", names.size(),
          " columns (", absl::StrJoin(shown, ", "), names.size() > kShown ? ", ..." : "", ")"));
    }
    return it->second;
  };
  uint32_t label_column = kNoLabelColumn;
  if (!label_optional || index.contains(plan->schema.label)) {
    ASSIGN_OR_RETURN(label_column, lookup(plan->schema.label, "label"));
  }
  std::vector<uint32_t> field_columns;
  field_columns.reserve(plan->fields.size());
  const size_t num_numeric = plan->schema.numeric.size();
  for (const FieldPlan& f : plan->fields) {
    ASSIGN_OR_RETURN(const uint32_t c,
                     lookup(f.name, f.id < num_numeric ? "numeric" : "categorical"));
    field_columns.push_back(c);
  }
  return std::unique_ptr<RowEncoder>(new FeatureEncoder(
      std::move(plan), names.size(), label_column, std::move(field_columns), std::move(stats)));
}

}  // namespace parasol::transform
