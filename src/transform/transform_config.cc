#include "transform/transform_config.h"

#include <nlohmann/json.hpp>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/config_reader.h"
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

TransformType ReadType(const config::Node& node) {
  const std::string text = node.As<std::string>();
  const std::optional<TransformType> t = ParseType(text);
  if (!t.has_value()) {
    node.Fail(absl::StrCat("unknown type ", Quoted(text),
                           " (expected piecewise, pickcat, normalize, descartes or combinehash)"));
  }
  return *t;
}

NormalizeMethod ReadMethod(const config::Node& node) {
  const std::string text = node.As<std::string>();
  const std::optional<NormalizeMethod> m = ParseMethod(text);
  if (!m.has_value()) {
    node.Fail(absl::StrCat("unknown method ", Quoted(text), " (expected minmax or zscore)"));
  }
  return *m;
}

// One entry of `transforms:`, from a model config YAML or the JSON form. The forms differ in
// three ways: JSON writes `other` always and may hold normalize `statistics`; YAML boundaries are
// numbers as the data's values are read (ParseNumber: finite, within float range), JSON's are
// JSON numbers. A key the type does not use is refused as unknown.
TransformSpec ReadTransform(const config::Node& node, const std::string& where, bool json) {
  TransformSpec s;
  s.where = where;
  const config::Map m = node.AsMap();
  s.type = ReadType(m.Get("type"));
  if (!IsCross(s.type)) s.field = m.Get<std::string>("field");
  switch (s.type) {
    case TransformType::kPiecewise:
      for (const config::Node& b : m.Get("boundaries").Items()) {
        if (json) {
          s.boundaries.push_back(b.As<double>());
          continue;
        }
        const std::string text = b.As<std::string>();
        double x;
        if (ParseNumber(text, &x) != NumberParse::kOk) b.Fail("not a number: " + Quoted(text));
        s.boundaries.push_back(x);
      }
      break;
    case TransformType::kPickcat:
      s.keep = m.Get<std::vector<std::string>>("keep");
      if (json) {
        s.other = m.Get<std::string>("other");
      } else {
        m.Read("other", &s.other);
      }
      break;
    case TransformType::kNormalize:
      s.method = ReadMethod(m.Get("method"));
      if (!json) break;
      if (const std::optional<config::Node> st = m.Find("statistics")) {
        const config::Map stats = st->AsMap();
        s.stats = NormalizeStats{stats.Get<int64_t>("count"), stats.Get<double>("min"),
                                 stats.Get<double>("max"), stats.Get<double>("mean"),
                                 stats.Get<double>("stddev")};
      }
      break;
    case TransformType::kDescartes:
    case TransformType::kCombinehash:
      s.fields = m.Get<std::vector<std::string>>("fields");
      s.name = m.Get<std::string>("name");
      break;
  }
  return s;
}

// The JSON form's schema: every key is written, so every key is required.
Schema ReadJsonSchema(const config::Node& node) {
  const config::Map m = node.AsMap();
  Schema schema;
  schema.label = m.Get<std::string>("label");
  schema.positive = m.Get<std::vector<std::string>>("positive");
  schema.numeric = m.Get<std::vector<std::string>>("numeric");
  schema.categorical = m.Get<std::vector<std::string>>("categorical");
  schema.columns = m.Get<std::vector<std::string>>("columns");
  schema.header = m.Get<bool>("header");
  const config::Node delimiter = m.Get("delimiter");
  const std::string d = delimiter.As<std::string>();
  if (d.size() != 1) delimiter.Fail("expected one character");
  schema.delimiter = d[0];
  return schema;
}

}  // namespace

absl::StatusOr<std::vector<TransformSpec>> ParseYamlTransforms(const std::string& text,
                                                               const std::string& origin) {
  std::vector<TransformSpec> specs;
  RETURN_IF_ERROR(config::ReadYaml(text, origin, [&](const config::Node& root) {
    if (root.IsNull()) return;
    // The other keys are the model config's (train/train_config.cc reads them).
    for (const auto& [key, value] : root.Entries()) {
      if (key != "transforms" || value.IsNull()) continue;
      for (const config::Node& item : value.Items()) {
        specs.push_back(
            ReadTransform(item, absl::StrCat(origin, ":", item.line(), ": ", item.path()), false));
      }
    }
  }));
  return specs;
}

absl::StatusOr<PipelineConfig> PipelineConfigFromJson(const std::string& text) {
  nlohmann::json root;
  try {
    root = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(kJsonOrigin, ": not valid JSON: ", e.what()));
  }
  PipelineConfig config;
  RETURN_IF_ERROR(config::ReadJson(root, kJsonOrigin, [&](const config::Node& node) {
    const config::Map m = node.AsMap();
    const config::Node version = m.Get("version");
    if (version.As<int64_t>() != kJsonVersion) {
      version.Fail(absl::StrCat("unsupported version ", version.As<int64_t>(), " (expected ",
                                kJsonVersion, ")"));
    }
    const config::Node hash_bits = m.Get("hash_bits");
    config.hash_bits = hash_bits.As<int>();
    if (config.hash_bits < 0 || config.hash_bits > 63) hash_bits.Fail("must be in [0, 63]");
    config.schema = ReadJsonSchema(m.Get("schema"));
    for (const config::Node& item : m.Get("transforms").Items()) {
      config.transforms.push_back(
          ReadTransform(item, absl::StrCat(kJsonOrigin, ": ", item.path()), true));
    }
    m.Allow({"fields"});  // read below: the caller reports a plan error before a fields error
  }));
  std::vector<std::string> fields;
  const absl::Status fields_read =
      config::ReadJson(root, kJsonOrigin, [&](const config::Node& node) {
        const config::Map m = node.AsMap();
        m.Allow({"version", "hash_bits", "schema", "transforms"});
        fields = m.Get<std::vector<std::string>>("fields");
      });
  if (fields_read.ok()) {
    config.fields = std::move(fields);
  } else {
    config.fields = fields_read;
  }
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
