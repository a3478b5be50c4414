#include "transform/feature_pipeline.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <exception>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>
#include <system_error>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/charconv.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/hash.h"
#include "common/status_macros.h"

namespace parasol {
namespace {

using Json = nlohmann::ordered_json;

constexpr int kJsonVersion = 1;
constexpr const char* kJsonOrigin = "pipeline JSON";
constexpr const char* kDefaultOther = "other";

// ---------------------------------------------------------------------------------------------
// Value parsing shared by the label, numeric columns and config boundaries.

// Debian's Abseil is built with its own absl::string_view (not an alias of std::string_view),
// so values cross into absl::strings functions through Av().
absl::string_view Av(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// absl::StripAsciiWhitespace for std::string_view.
std::string_view Strip(std::string_view s) {
  while (!s.empty() && absl::ascii_isspace(static_cast<unsigned char>(s.front()))) {
    s.remove_prefix(1);
  }
  while (!s.empty() && absl::ascii_isspace(static_cast<unsigned char>(s.back()))) {
    s.remove_suffix(1);
  }
  return s;
}

enum class NumberParse { kOk, kMissing, kBad, kOutOfRange };

bool IsMissingToken(std::string_view s) {
  const absl::string_view a = Av(s);
  return a.empty() || a == "?" || absl::EqualsIgnoreCase(a, "NA") ||
         absl::EqualsIgnoreCase(a, "N/A") || absl::EqualsIgnoreCase(a, "NaN") ||
         absl::EqualsIgnoreCase(a, "NULL");
}

// Parses a whole (already stripped) value as a finite double within float range.
NumberParse ParseNumber(std::string_view s, double* x) {
  const char* begin = s.data();
  const char* const end = begin + s.size();
  if (begin != end && *begin == '+') ++begin;  // absl::from_chars never matches '+'.
  if (begin != end && (*begin == '+' || *begin == '-') && begin != s.data()) {
    return NumberParse::kBad;  // "+-1", "++1"
  }
  const absl::from_chars_result r = absl::from_chars(begin, end, *x);
  if (r.ptr == end && r.ec == std::errc() && std::isfinite(*x)) {
    return std::fabs(*x) <= FLT_MAX ? NumberParse::kOk : NumberParse::kOutOfRange;
  }
  if (IsMissingToken(s)) return NumberParse::kMissing;
  if (r.ptr == end && r.ec == std::errc::result_out_of_range) return NumberParse::kOutOfRange;
  return NumberParse::kBad;
}

// ---------------------------------------------------------------------------------------------
// Transform specs: the config as written, shared by the YAML and JSON front ends.

enum class TransformType { kPiecewise, kPickcat, kNormalize, kDescartes, kCombinehash };
enum class NormalizeMethod { kMinmax, kZscore };

const char* TypeName(TransformType t) {
  switch (t) {
    case TransformType::kPiecewise:
      return "piecewise";
    case TransformType::kPickcat:
      return "pickcat";
    case TransformType::kNormalize:
      return "normalize";
    case TransformType::kDescartes:
      return "descartes";
    case TransformType::kCombinehash:
      return "combinehash";
  }
  return "?";
}

std::optional<TransformType> ParseType(std::string_view s) {
  for (TransformType t :
       {TransformType::kPiecewise, TransformType::kPickcat, TransformType::kNormalize,
        TransformType::kDescartes, TransformType::kCombinehash}) {
    if (s == TypeName(t)) return t;
  }
  return std::nullopt;
}

const char* MethodName(NormalizeMethod m) {
  return m == NormalizeMethod::kMinmax ? "minmax" : "zscore";
}

std::optional<NormalizeMethod> ParseMethod(std::string_view s) {
  if (s == "minmax") return NormalizeMethod::kMinmax;
  if (s == "zscore") return NormalizeMethod::kZscore;
  return std::nullopt;
}

bool IsCross(TransformType t) {
  return t == TransformType::kDescartes || t == TransformType::kCombinehash;
}

// Allowed keys per type (besides "type"); used by both front ends.
std::vector<absl::string_view> AllowedKeys(TransformType t, bool json) {
  switch (t) {
    case TransformType::kPiecewise:
      return {"field", "boundaries"};
    case TransformType::kPickcat:
      return {"field", "keep", "other"};
    case TransformType::kNormalize:
      if (json) return {"field", "method", "statistics"};
      return {"field", "method"};
    case TransformType::kDescartes:
    case TransformType::kCombinehash:
      return {"fields", "name"};
  }
  return {};
}

struct NormalizeStats {
  int64_t count = 0;
  double min = 0;
  double max = 0;
  double mean = 0;
  double stddev = 0;
};

struct TransformSpec {
  TransformType type = TransformType::kPiecewise;
  std::string where;  // "origin:line: transforms[i]" for error messages; not serialized
  std::string field;  // piecewise, pickcat, normalize
  std::vector<double> boundaries;                     // piecewise
  std::vector<std::string> keep;                      // pickcat
  std::string other = kDefaultOther;                  // pickcat
  NormalizeMethod method = NormalizeMethod::kZscore;  // normalize
  std::optional<NormalizeStats> stats;                // normalize, once computed
  std::vector<std::string> fields;                    // descartes, combinehash
  std::string name;                                   // descartes, combinehash
};

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

// ---------------------------------------------------------------------------------------------
// The compiled, immutable plan that encoders share.

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

struct Plan {
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

std::string Quoted(std::string_view s) { return absl::StrCat("'", Av(s), "'"); }

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

absl::StatusOr<std::shared_ptr<const Plan>> BuildPlan(const Schema& schema,
                                                      std::vector<TransformSpec> specs,
                                                      int hash_bits, const std::string& origin) {
  if (hash_bits < 0 || hash_bits > 63) {
    return absl::InvalidArgumentError(
        absl::StrCat(origin, ": hash_bits must be in [0, 63], got ", hash_bits));
  }
  RETURN_IF_ERROR(ValidateSchema(schema, origin));
  auto plan = std::make_shared<Plan>();
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
  return std::shared_ptr<const Plan>(std::move(plan));
}

// ---------------------------------------------------------------------------------------------
// Statistics accumulation (Welford).

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

using Accumulators = std::vector<Accumulator>;

// ---------------------------------------------------------------------------------------------
// The encoder.

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

class PipelineEncoder final : public RowEncoder {
 public:
  // `stats` non-null makes a statistics encoder (appends nothing, accumulates).
  PipelineEncoder(std::shared_ptr<const Plan> plan, size_t num_columns, uint32_t label_column,
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

    const Plan& p = *plan_;
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
    const Plan& p = *plan_;
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
    const Plan& p = *plan_;
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

  const std::shared_ptr<const Plan> plan_;
  const size_t num_columns_;
  const uint32_t label_column_;                // kNoLabelColumn: none
  const std::vector<uint32_t> field_columns_;  // column index per plan field
  const std::shared_ptr<Accumulators> stats_;
};

// `label_optional`: names without the label column give an encoder that sets label 0.
absl::StatusOr<std::unique_ptr<RowEncoder>> MakeEncoder(std::shared_ptr<const Plan> plan,
                                                        const std::vector<std::string>& names,
                                                        std::shared_ptr<Accumulators> stats,
                                                        bool label_optional) {
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
  return std::unique_ptr<RowEncoder>(new PipelineEncoder(
      std::move(plan), names.size(), label_column, std::move(field_columns), std::move(stats)));
}

// ---------------------------------------------------------------------------------------------
// YAML front end.

std::string YamlWhere(const std::string& origin, const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  if (mark.is_null()) return origin;
  return absl::StrCat(origin, ":", mark.line + 1);
}

absl::StatusOr<std::vector<std::string>> YamlStrings(const YAML::Node& node,
                                                     const std::string& where,
                                                     absl::string_view key) {
  if (!node.IsSequence()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": ", key, " must be a list of strings"));
  }
  std::vector<std::string> out;
  for (size_t i = 0; i < node.size(); ++i) {
    if (!node[i].IsScalar()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": ", key, "[", i, "] must be a string"));
    }
    out.push_back(node[i].Scalar());
  }
  return out;
}

absl::StatusOr<TransformSpec> ParseYamlTransform(const YAML::Node& node, size_t i,
                                                 const std::string& origin) {
  TransformSpec s;
  s.where = absl::StrCat(YamlWhere(origin, node), ": transforms[", i, "]");
  if (!node.IsMap()) {
    return absl::InvalidArgumentError(absl::StrCat(s.where, ": must be a mapping with a type"));
  }
  const YAML::Node type = node["type"];
  if (!type || !type.IsScalar()) {
    return absl::InvalidArgumentError(absl::StrCat(s.where, ": missing type"));
  }
  const std::optional<TransformType> t = ParseType(type.Scalar());
  if (!t.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat(s.where, ": unknown type ", Quoted(type.Scalar()),
                     " (expected piecewise, pickcat, normalize, descartes or combinehash)"));
  }
  s.type = *t;
  // Names the transform by its field (or output name) in messages about its keys.
  std::string label = absl::StrCat(s.where, " (", TypeName(s.type));
  const YAML::Node field = node[IsCross(s.type) ? "name" : "field"];
  if (field && field.IsScalar()) {
    absl::StrAppend(&label, IsCross(s.type) ? ", name " : ", field ", Quoted(field.Scalar()));
  }
  absl::StrAppend(&label, ")");

  const std::vector<absl::string_view> allowed = AllowedKeys(s.type, /*json=*/false);
  for (const auto& kv : node) {
    const std::string key = kv.first.as<std::string>();
    if (key == "type") continue;
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          label, ": unknown key ", Quoted(key), " (allowed: ", absl::StrJoin(allowed, ", "), ")"));
    }
    if (!kv.second.IsScalar() && key != "boundaries" && key != "keep" && key != "fields") {
      return absl::InvalidArgumentError(absl::StrCat(label, ": ", key, " must be a string"));
    }
  }
  auto required = [&](absl::string_view key) -> absl::StatusOr<YAML::Node> {
    const YAML::Node v = node[std::string(key)];
    if (!v || v.IsNull()) {
      return absl::InvalidArgumentError(absl::StrCat(label, ": missing ", key));
    }
    return v;
  };

  if (!IsCross(s.type)) {
    ASSIGN_OR_RETURN(const YAML::Node f, required("field"));
    s.field = f.Scalar();
  }
  switch (s.type) {
    case TransformType::kPiecewise: {
      ASSIGN_OR_RETURN(const YAML::Node b, required("boundaries"));
      ASSIGN_OR_RETURN(const std::vector<std::string> texts, YamlStrings(b, label, "boundaries"));
      for (size_t j = 0; j < texts.size(); ++j) {
        double x;
        if (ParseNumber(texts[j], &x) != NumberParse::kOk) {
          return absl::InvalidArgumentError(
              absl::StrCat(label, ": boundaries[", j, "] is not a number: ", Quoted(texts[j])));
        }
        s.boundaries.push_back(x);
      }
      break;
    }
    case TransformType::kPickcat: {
      ASSIGN_OR_RETURN(const YAML::Node k, required("keep"));
      ASSIGN_OR_RETURN(s.keep, YamlStrings(k, label, "keep"));
      const YAML::Node other = node["other"];
      if (other) s.other = other.Scalar();
      break;
    }
    case TransformType::kNormalize: {
      ASSIGN_OR_RETURN(const YAML::Node m, required("method"));
      const std::optional<NormalizeMethod> method = ParseMethod(m.Scalar());
      if (!method.has_value()) {
        return absl::InvalidArgumentError(absl::StrCat(
            label, ": unknown method ", Quoted(m.Scalar()), " (expected minmax or zscore)"));
      }
      s.method = *method;
      break;
    }
    case TransformType::kDescartes:
    case TransformType::kCombinehash: {
      ASSIGN_OR_RETURN(const YAML::Node n, required("name"));
      s.name = n.Scalar();
      ASSIGN_OR_RETURN(const YAML::Node f, required("fields"));
      ASSIGN_OR_RETURN(s.fields, YamlStrings(f, label, "fields"));
      break;
    }
  }
  return s;
}

absl::StatusOr<std::vector<TransformSpec>> ParseYamlTransforms(const std::string& text,
                                                               const std::string& origin) {
  std::vector<TransformSpec> specs;
  try {
    const YAML::Node root = YAML::Load(text);
    if (!root || root.IsNull()) return specs;
    if (!root.IsMap()) {
      return absl::InvalidArgumentError(
          absl::StrCat(YamlWhere(origin, root), ": the model config must be a mapping"));
    }
    const YAML::Node list = root["transforms"];
    if (!list || list.IsNull()) return specs;
    if (!list.IsSequence()) {
      return absl::InvalidArgumentError(
          absl::StrCat(YamlWhere(origin, list), ": transforms must be a list"));
    }
    for (size_t i = 0; i < list.size(); ++i) {
      ASSIGN_OR_RETURN(TransformSpec s, ParseYamlTransform(list[i], i, origin));
      specs.push_back(std::move(s));
    }
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(origin, ":", e.mark.line + 1, ":", e.mark.column + 1, ": bad YAML: ", e.msg));
  }
  return specs;
}

// ---------------------------------------------------------------------------------------------
// JSON front end. Errors name the JSON path ("transforms[1].boundaries[0]").

absl::Status JsonError(absl::string_view path, absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat(kJsonOrigin, ": ", path, path.empty() ? "" : ": ", what));
}

std::string JoinPath(absl::string_view path, absl::string_view key) {
  return absl::StrCat(path, path.empty() ? "" : ".", key);
}

absl::Status CheckKeys(const Json& obj, absl::string_view path,
                       const std::vector<absl::string_view>& allowed) {
  if (!obj.is_object()) return JsonError(path, "expected an object");
  for (const auto& [key, value] : obj.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      return JsonError(JoinPath(path, key), "unknown key");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<const Json*> JsonMember(const Json& obj, absl::string_view path,
                                       absl::string_view key, bool required) {
  const auto it = obj.find(std::string(key));
  if (it == obj.end()) {
    if (required) return JsonError(JoinPath(path, key), "missing");
    return nullptr;
  }
  return &*it;
}

absl::StatusOr<std::string> JsonString(const Json& obj, absl::string_view path,
                                       absl::string_view key) {
  ASSIGN_OR_RETURN(const Json* v, JsonMember(obj, path, key, true));
  if (!v->is_string()) return JsonError(JoinPath(path, key), "expected a string");
  return v->get<std::string>();
}

absl::StatusOr<double> JsonNumber(const Json& obj, absl::string_view path, absl::string_view key) {
  ASSIGN_OR_RETURN(const Json* v, JsonMember(obj, path, key, true));
  if (!v->is_number()) return JsonError(JoinPath(path, key), "expected a number");
  return v->get<double>();
}

absl::StatusOr<int64_t> JsonInt(const Json& obj, absl::string_view path, absl::string_view key) {
  ASSIGN_OR_RETURN(const Json* v, JsonMember(obj, path, key, true));
  if (!v->is_number_integer()) return JsonError(JoinPath(path, key), "expected an integer");
  return v->get<int64_t>();
}

absl::StatusOr<std::vector<std::string>> JsonStrings(const Json& obj, absl::string_view path,
                                                     absl::string_view key) {
  ASSIGN_OR_RETURN(const Json* v, JsonMember(obj, path, key, true));
  const std::string p = JoinPath(path, key);
  if (!v->is_array()) return JsonError(p, "expected an array of strings");
  std::vector<std::string> out;
  for (size_t i = 0; i < v->size(); ++i) {
    if (!(*v)[i].is_string()) return JsonError(absl::StrCat(p, "[", i, "]"), "expected a string");
    out.push_back((*v)[i].get<std::string>());
  }
  return out;
}

absl::StatusOr<Schema> SchemaFromJson(const Json& j) {
  constexpr absl::string_view kPath = "schema";
  RETURN_IF_ERROR(CheckKeys(
      j, kPath, {"label", "positive", "numeric", "categorical", "columns", "header", "delimiter"}));
  Schema schema;
  ASSIGN_OR_RETURN(schema.label, JsonString(j, kPath, "label"));
  ASSIGN_OR_RETURN(schema.positive, JsonStrings(j, kPath, "positive"));
  ASSIGN_OR_RETURN(schema.numeric, JsonStrings(j, kPath, "numeric"));
  ASSIGN_OR_RETURN(schema.categorical, JsonStrings(j, kPath, "categorical"));
  ASSIGN_OR_RETURN(schema.columns, JsonStrings(j, kPath, "columns"));
  ASSIGN_OR_RETURN(const Json* header, JsonMember(j, kPath, "header", true));
  if (!header->is_boolean()) return JsonError("schema.header", "expected a boolean");
  schema.header = header->get<bool>();
  ASSIGN_OR_RETURN(const std::string delimiter, JsonString(j, kPath, "delimiter"));
  if (delimiter.size() != 1) return JsonError("schema.delimiter", "expected one character");
  schema.delimiter = delimiter[0];
  return schema;
}

absl::StatusOr<TransformSpec> TransformFromJson(const Json& j, size_t i) {
  TransformSpec s;
  const std::string path = absl::StrCat("transforms[", i, "]");
  s.where = absl::StrCat(kJsonOrigin, ": ", path);
  if (!j.is_object()) return JsonError(path, "expected an object");
  ASSIGN_OR_RETURN(const std::string type, JsonString(j, path, "type"));
  const std::optional<TransformType> t = ParseType(type);
  if (!t.has_value()) return JsonError(JoinPath(path, "type"), "unknown type " + Quoted(type));
  s.type = *t;
  std::vector<absl::string_view> allowed = AllowedKeys(s.type, /*json=*/true);
  allowed.push_back("type");
  RETURN_IF_ERROR(CheckKeys(j, path, allowed));
  if (!IsCross(s.type)) {
    ASSIGN_OR_RETURN(s.field, JsonString(j, path, "field"));
  }
  switch (s.type) {
    case TransformType::kPiecewise: {
      ASSIGN_OR_RETURN(const Json* b, JsonMember(j, path, "boundaries", true));
      const std::string p = JoinPath(path, "boundaries");
      if (!b->is_array()) return JsonError(p, "expected an array of numbers");
      for (size_t k = 0; k < b->size(); ++k) {
        if (!(*b)[k].is_number()) {
          return JsonError(absl::StrCat(p, "[", k, "]"), "expected a number");
        }
        s.boundaries.push_back((*b)[k].get<double>());
      }
      break;
    }
    case TransformType::kPickcat: {
      ASSIGN_OR_RETURN(s.keep, JsonStrings(j, path, "keep"));
      ASSIGN_OR_RETURN(s.other, JsonString(j, path, "other"));
      break;
    }
    case TransformType::kNormalize: {
      ASSIGN_OR_RETURN(const std::string method, JsonString(j, path, "method"));
      const std::optional<NormalizeMethod> m = ParseMethod(method);
      if (!m.has_value()) {
        return JsonError(JoinPath(path, "method"), "unknown method " + Quoted(method));
      }
      s.method = *m;
      ASSIGN_OR_RETURN(const Json* st, JsonMember(j, path, "statistics", false));
      if (st != nullptr) {
        const std::string p = JoinPath(path, "statistics");
        RETURN_IF_ERROR(CheckKeys(*st, p, {"count", "min", "max", "mean", "stddev"}));
        NormalizeStats stats;
        ASSIGN_OR_RETURN(stats.count, JsonInt(*st, p, "count"));
        ASSIGN_OR_RETURN(stats.min, JsonNumber(*st, p, "min"));
        ASSIGN_OR_RETURN(stats.max, JsonNumber(*st, p, "max"));
        ASSIGN_OR_RETURN(stats.mean, JsonNumber(*st, p, "mean"));
        ASSIGN_OR_RETURN(stats.stddev, JsonNumber(*st, p, "stddev"));
        s.stats = stats;
      }
      break;
    }
    case TransformType::kDescartes:
    case TransformType::kCombinehash: {
      ASSIGN_OR_RETURN(s.fields, JsonStrings(j, path, "fields"));
      ASSIGN_OR_RETURN(s.name, JsonString(j, path, "name"));
      break;
    }
  }
  return s;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

struct FeaturePipeline::Impl {
  explicit Impl(std::shared_ptr<const Plan> p)
      : schema(p->schema),
        field_names(p->field_names),
        plan(std::move(p)),
        accumulators(std::make_shared<Accumulators>(plan->normalize_specs.size())) {}

  // Copies that never change (FinishStatistics replaces `plan`), so references stay valid.
  const Schema schema;
  const std::vector<std::string> field_names;
  // Replaced, never mutated, by FinishStatistics; encoders hold their own reference.
  std::shared_ptr<const Plan> plan;
  // One per normalize transform; shared with statistics encoders.
  const std::shared_ptr<Accumulators> accumulators;
};

FeaturePipeline::FeaturePipeline(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FeaturePipeline::~FeaturePipeline() = default;

absl::StatusOr<std::shared_ptr<FeaturePipeline>> FeaturePipeline::Create(
    const Schema& schema, const std::string& config_yaml, const std::string& origin,
    int hash_bits) {
  ASSIGN_OR_RETURN(std::vector<TransformSpec> specs, ParseYamlTransforms(config_yaml, origin));
  ASSIGN_OR_RETURN(std::shared_ptr<const Plan> plan,
                   BuildPlan(schema, std::move(specs), hash_bits, origin));
  auto impl = std::make_unique<Impl>(std::move(plan));
  return std::shared_ptr<FeaturePipeline>(new FeaturePipeline(std::move(impl)));
}

absl::StatusOr<std::shared_ptr<FeaturePipeline>> FeaturePipeline::FromJson(
    const std::string& json) {
  Json root;
  try {
    root = Json::parse(json);
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(kJsonOrigin, ": ", e.what()));
  }
  RETURN_IF_ERROR(CheckKeys(root, "", {"version", "hash_bits", "schema", "transforms", "fields"}));
  ASSIGN_OR_RETURN(const int64_t version, JsonInt(root, "", "version"));
  if (version != kJsonVersion) {
    return JsonError(
        "version", absl::StrCat("unsupported version ", version, " (expected ", kJsonVersion, ")"));
  }
  ASSIGN_OR_RETURN(const int64_t hash_bits, JsonInt(root, "", "hash_bits"));
  if (hash_bits < 0 || hash_bits > 63) return JsonError("hash_bits", "must be in [0, 63]");
  ASSIGN_OR_RETURN(const Json* schema_json, JsonMember(root, "", "schema", true));
  ASSIGN_OR_RETURN(const Schema schema, SchemaFromJson(*schema_json));
  ASSIGN_OR_RETURN(const Json* list, JsonMember(root, "", "transforms", true));
  if (!list->is_array()) return JsonError("transforms", "expected an array");
  std::vector<TransformSpec> specs;
  for (size_t i = 0; i < list->size(); ++i) {
    ASSIGN_OR_RETURN(TransformSpec s, TransformFromJson((*list)[i], i));
    specs.push_back(std::move(s));
  }
  ASSIGN_OR_RETURN(std::shared_ptr<const Plan> plan,
                   BuildPlan(schema, std::move(specs), static_cast<int>(hash_bits), kJsonOrigin));
  ASSIGN_OR_RETURN(const std::vector<std::string> fields, JsonStrings(root, "", "fields"));
  if (fields != plan->field_names) {
    return JsonError("fields", absl::StrCat("[", absl::StrJoin(fields, ", "),
                                            "] does not match the schema and transforms ([",
                                            absl::StrJoin(plan->field_names, ", "), "])"));
  }
  auto impl = std::make_unique<Impl>(std::move(plan));
  return std::shared_ptr<FeaturePipeline>(new FeaturePipeline(std::move(impl)));
}

std::string FeaturePipeline::ToJson() const {
  const Plan& p = *impl_->plan;
  Json root;
  root["version"] = kJsonVersion;
  root["hash_bits"] = p.hash_bits;
  Json& schema = root["schema"];
  schema["label"] = p.schema.label;
  schema["positive"] = p.schema.positive;
  schema["numeric"] = p.schema.numeric;
  schema["categorical"] = p.schema.categorical;
  schema["columns"] = p.schema.columns;
  schema["header"] = p.schema.header;
  schema["delimiter"] = std::string(1, p.schema.delimiter);
  Json transforms = Json::array();
  for (const TransformSpec& s : p.specs) {
    Json t;
    t["type"] = TypeName(s.type);
    switch (s.type) {
      case TransformType::kPiecewise:
        t["field"] = s.field;
        t["boundaries"] = s.boundaries;
        break;
      case TransformType::kPickcat:
        t["field"] = s.field;
        t["keep"] = s.keep;
        t["other"] = s.other;
        break;
      case TransformType::kNormalize:
        t["field"] = s.field;
        t["method"] = MethodName(s.method);
        if (s.stats.has_value()) {
          t["statistics"] = {{"count", s.stats->count},
                             {"min", s.stats->min},
                             {"max", s.stats->max},
                             {"mean", s.stats->mean},
                             {"stddev", s.stats->stddev}};
        }
        break;
      case TransformType::kDescartes:
      case TransformType::kCombinehash:
        t["fields"] = s.fields;
        t["name"] = s.name;
        break;
    }
    transforms.push_back(std::move(t));
  }
  root["transforms"] = std::move(transforms);
  root["fields"] = p.field_names;
  return root.dump(2);
}

bool FeaturePipeline::NeedsStatistics() const { return impl_->plan->needs_stats; }

RowEncoderFactory FeaturePipeline::StatisticsFactory() {
  std::shared_ptr<const Plan> plan = impl_->plan;
  std::shared_ptr<Accumulators> accumulators = impl_->accumulators;
  return [plan, accumulators](const std::vector<std::string>& names) {
    return MakeEncoder(plan, names, accumulators, /*label_optional=*/false);
  };
}

absl::Status FeaturePipeline::FinishStatistics() {
  const Plan& p = *impl_->plan;
  if (p.normalize_specs.empty()) return absl::OkStatus();
  std::vector<TransformSpec> specs = p.specs;
  const Accumulators& acc = *impl_->accumulators;
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
  ASSIGN_OR_RETURN(std::shared_ptr<const Plan> plan,
                   BuildPlan(p.schema, std::move(specs), p.hash_bits, p.origin));
  impl_->plan = std::move(plan);
  return absl::OkStatus();
}

RowEncoderFactory FeaturePipeline::EncoderFactory(bool label_optional) const {
  std::shared_ptr<const Plan> plan = impl_->plan;
  return [plan, label_optional](
             const std::vector<std::string>& names) -> absl::StatusOr<std::unique_ptr<RowEncoder>> {
    if (plan->needs_stats) {
      return absl::FailedPreconditionError(
          "feature pipeline: normalize statistics are not computed; run the rows through "
          "StatisticsFactory() encoders and call FinishStatistics() before EncoderFactory()");
    }
    return MakeEncoder(plan, names, nullptr, label_optional);
  };
}

int FeaturePipeline::num_fields() const {
  return static_cast<int>(impl_->plan->field_names.size());
}

const std::vector<std::string>& FeaturePipeline::field_names() const { return impl_->field_names; }

int FeaturePipeline::hash_bits() const { return impl_->plan->hash_bits; }

const Schema& FeaturePipeline::schema() const { return impl_->schema; }

}  // namespace parasol
