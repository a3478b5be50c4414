#include "data/schema.h"

#include <algorithm>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/config_reader.h"

namespace parasol {
namespace {

// A list of column names as read, with the node of each name for messages.
struct Names {
  std::vector<std::string> names;
  std::vector<config::Node> nodes;
};

// A list of strings; a single scalar is accepted as a one-element list. Absent: empty.
Names ReadNames(const config::Map& m, absl::string_view key) {
  Names out;
  const std::optional<config::Node> node = m.Find(key);
  if (!node) return out;
  if (node->IsScalar()) {
    out.names.push_back(node->As<std::string>());
    out.nodes.push_back(*node);
    return out;
  }
  for (const config::Node& item : node->Items()) {
    out.names.push_back(item.As<std::string>());
    out.nodes.push_back(item);
  }
  return out;
}

// Column lists name each column once.
Names ReadColumns(const config::Map& m, absl::string_view key) {
  Names out = ReadNames(m, key);
  std::set<std::string> seen;
  for (size_t i = 0; i < out.names.size(); ++i) {
    if (!seen.insert(out.names[i]).second) {
      out.nodes[i].Fail(absl::StrCat("column '", out.names[i], "' listed twice"));
    }
  }
  return out;
}

char ReadDelimiter(const config::Node& node) {
  const std::string s = node.As<std::string>();
  if (s == "tab" || s == "\\t") return '\t';
  if (s.size() != 1) {
    node.Fail(absl::StrCat("expected one character (or \"\\t\" / tab), got '", s, "'"));
  }
  if (s[0] == '"' || s[0] == '\n' || s[0] == '\r') {
    node.Fail("a quote or line break cannot be the delimiter");
  }
  return s[0];
}

void ReadSchema(const config::Node& root, Schema* schema) {
  if (!root.IsMap()) root.Fail("a schema must be a YAML mapping (label:, numeric:, ...)");
  const config::Map m = root.AsMap();
  const config::Node label = m.Get("label");
  schema->label = label.As<std::string>();
  if (schema->label.empty()) label.Fail("must name the label column");
  if (const std::optional<config::Node> positive = m.Find("positive")) {
    schema->positive = ReadNames(m, "positive").names;
    if (schema->positive.empty()) positive->Fail("must name at least one value");
  }
  const Names numeric = ReadColumns(m, "numeric");
  const Names categorical = ReadColumns(m, "categorical");
  const Names columns = ReadColumns(m, "columns");
  schema->numeric = numeric.names;
  schema->categorical = categorical.names;
  schema->columns = columns.names;
  const std::optional<config::Node> header = m.Find("header");
  if (header) schema->header = header->As<bool>();
  if (const std::optional<config::Node> delimiter = m.Find("delimiter")) {
    schema->delimiter = ReadDelimiter(*delimiter);
  }
  // A misspelled key explains the checks below better than they would.
  m.RefuseUnknownKeys();

  const std::set<std::string> numeric_set(schema->numeric.begin(), schema->numeric.end());
  for (size_t i = 0; i < categorical.names.size(); ++i) {
    if (numeric_set.count(categorical.names[i]) != 0) {
      categorical.nodes[i].Fail(absl::StrCat("column '", categorical.names[i],
                                             "' is listed as both numeric and categorical"));
    }
  }
  if (numeric_set.count(schema->label) != 0 ||
      std::find(schema->categorical.begin(), schema->categorical.end(), schema->label) !=
          schema->categorical.end()) {
    label.Fail(absl::StrCat("label column '", schema->label, "' is also listed as a feature"));
  }
  if (!schema->header && schema->columns.empty()) {
    header->Fail("false needs columns: [...] (the file does not name its columns)");
  }
  if (!schema->columns.empty()) {
    const std::set<std::string> known(schema->columns.begin(), schema->columns.end());
    auto check = [&](const std::string& name, const config::Node& node) {
      if (known.count(name) == 0) {
        node.Fail(absl::StrCat("column '", name, "' is not in columns: [",
                               absl::StrJoin(schema->columns, ", "), "]"));
      }
    };
    check(schema->label, label);
    for (size_t i = 0; i < numeric.names.size(); ++i) check(numeric.names[i], numeric.nodes[i]);
    for (size_t i = 0; i < categorical.names.size(); ++i) {
      check(categorical.names[i], categorical.nodes[i]);
    }
  }
}

}  // namespace

absl::StatusOr<Schema> Schema::FromYamlString(const std::string& text, const std::string& origin) {
  Schema schema;
  const absl::Status status =
      config::ReadYaml(text, origin, [&](const config::Node& root) { ReadSchema(root, &schema); });
  if (!status.ok()) return status;
  return schema;
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
