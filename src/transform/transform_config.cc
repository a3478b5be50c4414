#include "transform/transform_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <exception>
#include <nlohmann/json.hpp>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "transform/value_parse.h"

namespace parasol::transform {

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

namespace {

using Json = nlohmann::ordered_json;

constexpr int kJsonVersion = 1;

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

}  // namespace

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

namespace {

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

absl::StatusOr<PipelineConfig> PipelineConfigFromJson(const std::string& json) {
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
  PipelineConfig config;
  ASSIGN_OR_RETURN(const int64_t hash_bits, JsonInt(root, "", "hash_bits"));
  if (hash_bits < 0 || hash_bits > 63) return JsonError("hash_bits", "must be in [0, 63]");
  config.hash_bits = static_cast<int>(hash_bits);
  ASSIGN_OR_RETURN(const Json* schema_json, JsonMember(root, "", "schema", true));
  ASSIGN_OR_RETURN(config.schema, SchemaFromJson(*schema_json));
  ASSIGN_OR_RETURN(const Json* list, JsonMember(root, "", "transforms", true));
  if (!list->is_array()) return JsonError("transforms", "expected an array");
  for (size_t i = 0; i < list->size(); ++i) {
    ASSIGN_OR_RETURN(TransformSpec s, TransformFromJson((*list)[i], i));
    config.transforms.push_back(std::move(s));
  }
  config.fields = JsonStrings(root, "", "fields");
  return config;
}

std::string PipelineConfigToJson(int hash_bits, const Schema& schema_in,
                                 const std::vector<TransformSpec>& specs,
                                 const std::vector<std::string>& fields) {
  Json root;
  root["version"] = kJsonVersion;
  root["hash_bits"] = hash_bits;
  Json& schema = root["schema"];
  schema["label"] = schema_in.label;
  schema["positive"] = schema_in.positive;
  schema["numeric"] = schema_in.numeric;
  schema["categorical"] = schema_in.categorical;
  schema["columns"] = schema_in.columns;
  schema["header"] = schema_in.header;
  schema["delimiter"] = std::string(1, schema_in.delimiter);
  Json transforms = Json::array();
  for (const TransformSpec& s : specs) {
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
  root["fields"] = fields;
  return root.dump(2);
}

}  // namespace parasol::transform
