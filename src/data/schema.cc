#include "data/schema.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace parasol {
namespace {

// "origin:LINE: field 'name': what" (LINE when the YAML node knows its position).
absl::Status FieldError(const std::string& origin, const YAML::Node& node, const std::string& field,
                        const std::string& what) {
  std::string where = origin;
  if (node.IsDefined()) {
    const YAML::Mark mark = node.Mark();
    if (!mark.is_null()) absl::StrAppend(&where, ":", mark.line + 1);
  }
  return absl::InvalidArgumentError(absl::StrCat(where, ": field '", field, "': ", what));
}

absl::StatusOr<std::string> ReadString(const std::string& origin, const YAML::Node& node,
                                       const std::string& field) {
  if (!node.IsScalar()) return FieldError(origin, node, field, "expected a string");
  return node.Scalar();
}

// A list of strings; a single scalar is accepted as a one-element list.
absl::StatusOr<std::vector<std::string>> ReadStringList(const std::string& origin,
                                                        const YAML::Node& node,
                                                        const std::string& field) {
  std::vector<std::string> out;
  if (node.IsNull()) return out;
  if (node.IsScalar()) {
    out.push_back(node.Scalar());
    return out;
  }
  if (!node.IsSequence()) return FieldError(origin, node, field, "expected a list of strings");
  for (const YAML::Node& item : node) {
    if (!item.IsScalar()) {
      return FieldError(origin, item, field, "expected a list of strings, found a non-string item");
    }
    out.push_back(item.Scalar());
  }
  return out;
}

absl::StatusOr<bool> ReadBool(const std::string& origin, const YAML::Node& node,
                              const std::string& field) {
  bool value = false;
  if (!node.IsScalar() || !YAML::convert<bool>::decode(node, value)) {
    return FieldError(origin, node, field, "expected true or false");
  }
  return value;
}

absl::StatusOr<char> ReadDelimiter(const std::string& origin, const YAML::Node& node) {
  if (!node.IsScalar()) return FieldError(origin, node, "delimiter", "expected a string");
  const std::string& s = node.Scalar();
  if (s == "tab" || s == "\\t") return '\t';
  if (s.size() != 1) {
    return FieldError(origin, node, "delimiter",
                      absl::StrCat("expected one character (or \"\\t\" / tab), got '", s, "'"));
  }
  if (s[0] == '"' || s[0] == '\n' || s[0] == '\r') {
    return FieldError(origin, node, "delimiter", "a quote or line break cannot be the delimiter");
  }
  return s[0];
}

absl::StatusOr<Schema> ParseSchema(const YAML::Node& root, const std::string& origin) {
  if (!root.IsMap()) {
    return absl::InvalidArgumentError(
        absl::StrCat(origin, ": a schema must be a YAML mapping (label:, numeric:, ...)"));
  }
  Schema schema;
  bool has_label = false;
  for (const auto& entry : root) {
    if (!entry.first.IsScalar()) {
      return FieldError(origin, entry.first, "?", "keys must be strings");
    }
    const std::string key = entry.first.Scalar();
    const YAML::Node& value = entry.second;
    if (key == "label") {
      auto s = ReadString(origin, value, key);
      if (!s.ok()) return s.status();
      schema.label = *s;
      has_label = true;
    } else if (key == "positive") {
      auto l = ReadStringList(origin, value, key);
      if (!l.ok()) return l.status();
      if (l->empty()) return FieldError(origin, value, key, "must name at least one value");
      schema.positive = *std::move(l);
    } else if (key == "numeric" || key == "categorical" || key == "columns") {
      auto l = ReadStringList(origin, value, key);
      if (!l.ok()) return l.status();
      std::vector<std::string>& dest = key == "numeric"       ? schema.numeric
                                       : key == "categorical" ? schema.categorical
                                                              : schema.columns;
      dest = *std::move(l);
      std::set<std::string> seen;
      for (const std::string& name : dest) {
        if (!seen.insert(name).second) {
          return FieldError(origin, value, key, absl::StrCat("column '", name, "' listed twice"));
        }
      }
    } else if (key == "header") {
      auto b = ReadBool(origin, value, key);
      if (!b.ok()) return b.status();
      schema.header = *b;
    } else if (key == "delimiter") {
      auto d = ReadDelimiter(origin, value);
      if (!d.ok()) return d.status();
      schema.delimiter = *d;
    } else {
      return FieldError(origin, entry.first, key,
                        "unknown key (expected label, positive, numeric, categorical, columns, "
                        "header or delimiter)");
    }
  }
  if (!has_label || schema.label.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(origin, ": field 'label': required (the name of the label column)"));
  }
  const std::set<std::string> numeric(schema.numeric.begin(), schema.numeric.end());
  for (const std::string& name : schema.categorical) {
    if (numeric.count(name) != 0) {
      return FieldError(
          origin, root["categorical"], "categorical",
          absl::StrCat("column '", name, "' is listed as both numeric and categorical"));
    }
  }
  if (numeric.count(schema.label) != 0 ||
      std::find(schema.categorical.begin(), schema.categorical.end(), schema.label) !=
          schema.categorical.end()) {
    return FieldError(
        origin, root["label"], "label",
        absl::StrCat("label column '", schema.label, "' is also listed as a feature"));
  }
  if (!schema.header && schema.columns.empty()) {
    return FieldError(origin, root["header"], "columns",
                      "required when header is false (the file does not name its columns)");
  }
  if (!schema.columns.empty()) {
    const std::set<std::string> columns(schema.columns.begin(), schema.columns.end());
    auto check = [&](const std::string& field,
                     const std::vector<std::string>& names) -> absl::Status {
      for (const std::string& name : names) {
        if (columns.count(name) == 0) {
          return FieldError(origin, root[field], field,
                            absl::StrCat("column '", name, "' is not in columns: [",
                                         absl::StrJoin(schema.columns, ", "), "]"));
        }
      }
      return absl::OkStatus();
    };
    if (absl::Status s = check("label", {schema.label}); !s.ok()) return s;
    if (absl::Status s = check("numeric", schema.numeric); !s.ok()) return s;
    if (absl::Status s = check("categorical", schema.categorical); !s.ok()) return s;
  }
  return schema;
}

}  // namespace

absl::StatusOr<Schema> Schema::FromYamlString(const std::string& text, const std::string& origin) {
  try {
    return ParseSchema(YAML::Load(text), origin);
  } catch (const YAML::Exception& e) {
    const std::string where =
        e.mark.is_null() ? origin : absl::StrCat(origin, ":", e.mark.line + 1);
    return absl::InvalidArgumentError(absl::StrCat(where, ": invalid YAML: ", e.msg));
  }
}

absl::StatusOr<Schema> Schema::FromYamlFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open schema file"));
  std::stringstream text;
  text << in.rdbuf();
  if (in.bad()) return absl::DataLossError(absl::StrCat(path, ": error reading schema file"));
  return FromYamlString(text.str(), path);
}

Schema CriteoSchema() {
  Schema schema;
  schema.label = "label";
  schema.positive = {"1"};
  schema.header = false;
  schema.delimiter = '\t';
  schema.columns.push_back("label");
  for (int i = 1; i <= 13; ++i) {
    schema.columns.push_back(absl::StrCat("I", i));
    schema.numeric.push_back(absl::StrCat("I", i));
  }
  for (int i = 1; i <= 26; ++i) {
    schema.columns.push_back(absl::StrCat("C", i));
    schema.categorical.push_back(absl::StrCat("C", i));
  }
  return schema;
}

}  // namespace parasol
