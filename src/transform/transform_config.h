// The pipeline config as written: the `transforms:` list of a model config YAML and the JSON form
// saved in a model manifest, read into plain structs and written back. No validation against a
// schema happens here (that is feature_plan.h); this only checks shapes, keys and types, through
// common/config_reader.h, whose messages name where (`origin:line: transforms[i].key: ...` for
// YAML, `pipeline JSON: transforms[i].key: ...` for JSON) and refuse unknown keys with the nearest
// valid name. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "data/schema.h"

namespace parasol::transform {

enum class TransformType { kPiecewise, kPickcat, kNormalize, kDescartes, kCombinehash };
enum class NormalizeMethod { kMinmax, kZscore };

// The config spelling ("piecewise", ...; "minmax", "zscore") and back.
const char* TypeName(TransformType t);
std::optional<TransformType> ParseType(std::string_view s);
const char* MethodName(NormalizeMethod m);
std::optional<NormalizeMethod> ParseMethod(std::string_view s);

// descartes and combinehash add a new field; the others change one column's values.
inline bool IsCross(TransformType t) {
  return t == TransformType::kDescartes || t == TransformType::kCombinehash;
}

inline constexpr char kDefaultOther[] = "other";

// Finished normalize statistics (population stddev).
struct NormalizeStats {
  int64_t count = 0;
  double min = 0;
  double max = 0;
  double mean = 0;
  double stddev = 0;
};

// One entry of `transforms:`; which members count depends on `type`.
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

// The whole JSON form (manifest): what FeaturePipeline::ToJson writes and FromJson reads.
struct PipelineConfig {
  int hash_bits = 0;
  Schema schema;
  std::vector<TransformSpec> transforms;
  // Field names by id as saved, or why they could not be read: the caller checks them against
  // the plan, after building it, so a plan error is reported first.
  absl::StatusOr<std::vector<std::string>> fields;
};

// The origin named by JSON errors and by plans built from JSON.
inline constexpr char kJsonOrigin[] = "pipeline JSON";

// Reads the `transforms:` key of a model config YAML (absent or null → empty; the other keys are
// left to the model config's reader). Errors name `origin`, the line and the key at fault
// ("model.yaml:3: transforms[1].keep: required").
absl::StatusOr<std::vector<TransformSpec>> ParseYamlTransforms(const std::string& text,
                                                               const std::string& origin);

// Reads the JSON form. Rejects unknown keys and wrong types (a number is not a string), and a
// version other than the one written; errors name the JSON path ("pipeline JSON:
// transforms[1].boundaries[0]: ...").
// hash_bits is checked to be in [0, 63]; the rest is checked by the plan.
absl::StatusOr<PipelineConfig> PipelineConfigFromJson(const std::string& json);

// The JSON form, pretty-printed; `where` is not written. PipelineConfigFromJson reads it back.
std::string PipelineConfigToJson(int hash_bits, const Schema& schema,
                                 const std::vector<TransformSpec>& transforms,
                                 const std::vector<std::string>& fields);

}  // namespace parasol::transform
