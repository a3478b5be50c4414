#include "data/schema.h"

#include <string>

#include "data/test_files.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace parasol {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(SchemaTest, ParsesTheDocumentedExample) {
  auto schema = Schema::FromYamlString(R"(
label: churn                  # required
positive: ["Yes", "1"]
numeric: [tenure, monthly_charges]
categorical: [contract, gender]
header: true
delimiter: ";"
)",
                                       "churn.yaml");
  ASSERT_TRUE(schema.ok()) << schema.status();
  EXPECT_EQ(schema->label, "churn");
  EXPECT_THAT(schema->positive, ElementsAre("Yes", "1"));
  EXPECT_THAT(schema->numeric, ElementsAre("tenure", "monthly_charges"));
  EXPECT_THAT(schema->categorical, ElementsAre("contract", "gender"));
  EXPECT_TRUE(schema->columns.empty());
  EXPECT_TRUE(schema->header);
  EXPECT_EQ(schema->delimiter, ';');
}

TEST(SchemaTest, Defaults) {
  auto schema = Schema::FromYamlString("label: y\n", "s.yaml");
  ASSERT_TRUE(schema.ok()) << schema.status();
  EXPECT_THAT(schema->positive, ElementsAre("1", "+1", "true"));
  EXPECT_TRUE(schema->header);
  EXPECT_EQ(schema->delimiter, ',');
}

TEST(SchemaTest, TabDelimiterSpellings) {
  for (const std::string d : {R"("\t")", "tab", R"('\t')"}) {
    auto schema = Schema::FromYamlString("label: y\ndelimiter: " + d + "\n", "s.yaml");
    ASSERT_TRUE(schema.ok()) << d << ": " << schema.status();
    EXPECT_EQ(schema->delimiter, '\t') << d;
  }
}

TEST(SchemaTest, ColumnsWithoutHeader) {
  auto schema = Schema::FromYamlString(
      "label: y\nheader: false\ncolumns: [y, a, b]\nnumeric: [a]\ncategorical: [b]\n", "s.yaml");
  ASSERT_TRUE(schema.ok()) << schema.status();
  EXPECT_FALSE(schema->header);
  EXPECT_THAT(schema->columns, ElementsAre("y", "a", "b"));
}

// Errors are "file:line: field: what".
void ExpectError(const std::string& yaml, const std::string& message) {
  auto schema = Schema::FromYamlString(yaml, "my_schema.yaml");
  ASSERT_FALSE(schema.ok()) << yaml;
  EXPECT_EQ(schema.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(schema.status().message(), message) << yaml;
}

TEST(SchemaTest, ErrorsNameOriginLineAndField) {
  ExpectError("label: y\nnumerc: [a]\n",
              "my_schema.yaml:2: numerc: unknown key, did you mean 'numeric'?");
  ExpectError("label: y\nbogus: [a]\n",
              "my_schema.yaml:2: bogus: unknown key (known here: label, positive, numeric, "
              "categorical, columns, header, delimiter)");
  ExpectError("numeric: [a]\n", "my_schema.yaml:1: label: required");
  ExpectError("lable: y\n", "my_schema.yaml:1: label: required (is 'lable' a misspelling?)");
  ExpectError("label: ''\n", "my_schema.yaml:1: label: must name the label column");
  ExpectError("label: [a, b]\n", "my_schema.yaml:1: label: expected a string, got a list");
  ExpectError("label: y\nnumeric: {a: 1}\n",
              "my_schema.yaml:2: numeric: expected a list, got a mapping");
  ExpectError("label: y\nnumeric: [[a]]\n",
              "my_schema.yaml:2: numeric[0]: expected a string, got a list");
  ExpectError("label: y\npositive: []\n",
              "my_schema.yaml:2: positive: must name at least one value");
  ExpectError("label: y\nheader: maybe\n",
              "my_schema.yaml:2: header: expected true or false, got 'maybe'");
  ExpectError("label: y\ndelimiter: '||'\n",
              "my_schema.yaml:2: delimiter: expected one character (or \"\\t\" / tab), got '||'");
  ExpectError("label: y\ndelimiter: '\"'\n",
              "my_schema.yaml:2: delimiter: a quote or line break cannot be the delimiter");
  ExpectError("label: y\nnumeric: [a, b]\ncategorical: [b]\n",
              "my_schema.yaml:3: categorical[0]: column 'b' is listed as both numeric and "
              "categorical");
  ExpectError("label: y\nheader: false\n",
              "my_schema.yaml:2: header: false needs columns: [...] (the file does not name its "
              "columns)");
  ExpectError("label: y\ncolumns: [y, a]\nnumeric: [c]\n",
              "my_schema.yaml:3: numeric[0]: column 'c' is not in columns: [y, a]");
  ExpectError("label: x\ncolumns: [y, a]\n",
              "my_schema.yaml:1: label: column 'x' is not in columns: [y, a]");
  ExpectError("label: y\nnumeric: [y]\n",
              "my_schema.yaml:1: label: label column 'y' is also listed as a feature");
  ExpectError("label: y\nnumeric: [a,\n  a]\n",
              "my_schema.yaml:3: numeric[1]: column 'a' listed twice");
}

TEST(SchemaTest, AMisspelledKeyIsNamedBeforeChecksAcrossFields) {
  // Without refusing 'colums' first, this would read as "header false needs columns".
  ExpectError("label: y\nheader: false\ncolums: [y, a]\n",
              "my_schema.yaml:3: colums: unknown key, did you mean 'columns'?");
}

TEST(SchemaTest, ErrorsCarryTheLine) {
  auto schema = Schema::FromYamlString("label: y\n\nnumeric: [a]\nbogus: 1\n", "s.yaml");
  ASSERT_FALSE(schema.ok());
  EXPECT_THAT(schema.status().message(), HasSubstr("s.yaml:4: bogus: unknown key"));
}

TEST(SchemaTest, InvalidYamlAndNonMapping) {
  auto bad = Schema::FromYamlString("label: [unclosed\n", "broken.yaml");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("broken.yaml:"));
  EXPECT_THAT(bad.status().message(), HasSubstr(": not valid YAML: "));
  auto list = Schema::FromYamlString("- a\n- b\n", "list.yaml");
  EXPECT_EQ(list.status().message(),
            "list.yaml:1: a schema must be a YAML mapping (label:, numeric:, ...)");
  EXPECT_EQ(Schema::FromYamlString("", "empty.yaml").status().message(),
            "empty.yaml: a schema must be a YAML mapping (label:, numeric:, ...)");
}

TEST(SchemaTest, FromFile) {
  const std::string path = testing::TempPath("schema.yaml");
  testing::WriteFile(path, "label: y\nbogus: 1\n");
  auto schema = Schema::FromYamlFile(path);
  ASSERT_FALSE(schema.ok());
  EXPECT_THAT(schema.status().message(), HasSubstr(path + ":2: bogus: unknown key"));
  testing::WriteFile(path, "label: y\ncategorical: [a]\n");
  schema = Schema::FromYamlFile(path);
  ASSERT_TRUE(schema.ok()) << schema.status();
  EXPECT_THAT(schema->categorical, ElementsAre("a"));
  const std::string missing = testing::TempPath("missing.yaml");
  EXPECT_EQ(Schema::FromYamlFile(missing).status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Schema::FromYamlFile(missing).status().message(), HasSubstr(missing));
}

TEST(SchemaTest, CriteoLayout) {
  const Schema s = CriteoSchema();
  ASSERT_EQ(s.columns.size(), 40u);
  EXPECT_EQ(s.columns[0], "label");
  EXPECT_EQ(s.columns[1], "I1");
  EXPECT_EQ(s.columns[13], "I13");
  EXPECT_EQ(s.columns[14], "C1");
  EXPECT_EQ(s.columns[39], "C26");
  EXPECT_EQ(s.numeric.size(), 13u);
  EXPECT_EQ(s.categorical.size(), 26u);
  EXPECT_EQ(s.label, "label");
  EXPECT_THAT(s.positive, ElementsAre("1"));
  EXPECT_FALSE(s.header);
  EXPECT_EQ(s.delimiter, '\t');
}

}  // namespace
}  // namespace parasol
