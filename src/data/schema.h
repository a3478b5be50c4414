// Schema of delimited text input: which column is the label, which are numeric, which are
// categorical. Loaded from YAML; immutable afterwards, so safe to share between threads.
//
//   label: churn                  # required
//   positive: ["Yes", "1"]        # label values counted as positive (default: "1", "+1", "true")
//   numeric: [tenure, monthly_charges]
//   categorical: [contract, gender]
//   columns: [a, b, c]            # optional: column names when the file has no header
//   header: true                  # default true: the first line names the columns
//   delimiter: ","                # default "," (one character; "\t" for tab)
//
// Columns named in neither list are ignored. Criteo TSV uses the built-in CriteoSchema().
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace parasol {

struct Schema {
  std::string label;
  std::vector<std::string> positive = {"1", "+1", "true"};
  std::vector<std::string> numeric;
  std::vector<std::string> categorical;
  std::vector<std::string> columns;  // empty: take names from the header line
  bool header = true;
  char delimiter = ',';

  // Fails (naming the file and the field) on unknown keys, wrong types, a missing label, or a
  // column listed as both numeric and categorical.
  static absl::StatusOr<Schema> FromYamlFile(const std::string& path);
  static absl::StatusOr<Schema> FromYamlString(const std::string& text, const std::string& origin);
};

// Criteo display-ads layout: label, I1..I13 (integers), C1..C26 (hex categories), tab-separated,
// no header, empty fields allowed.
Schema CriteoSchema();

}  // namespace parasol
