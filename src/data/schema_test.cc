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

void ExpectError(const std::string& yaml, const std::string& field, const std::string& what) {
  auto schema = Schema::FromYamlString(yaml, "my_schema.yaml");
  ASSERT_FALSE(schema.ok()) << yaml;
  EXPECT_EQ(schema.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(schema.status().message(), HasSubstr("my_schema.yaml"));
  EXPECT_THAT(schema.status().message(), HasSubstr("'" + field + "'")) << yaml;
  EXPECT_THAT(schema.status().message(), HasSubstr(what)) << yaml;
}

TEST(SchemaTest, ErrorsNameOriginAndField) {
  ExpectError("label: y\nnumerc: [a]\n", "numerc", "unknown key");
  ExpectError("numeric: [a]\n", "label", "required");
  ExpectError("label: [a, b]\n", "label", "expected a string");
  ExpectError("label: y\nnumeric: {a: 1}\n", "numeric", "expected a list");
  ExpectError("label: y\nnumeric: [[a]]\n", "numeric", "non-string");
  ExpectError("label: y\nheader: maybe\n", "header", "true or false");
  ExpectError("label: y\ndelimiter: '||'\n", "delimiter", "one character");
  ExpectError("label: y\nnumeric: [a, b]\ncategorical: [b]\n", "categorical",
              "column 'b' is listed as both numeric and categorical");
  ExpectError("label: y\nheader: false\n", "columns", "required when header is false");
  ExpectError("label: y\ncolumns: [y, a]\nnumeric: [c]\n", "numeric", "column 'c' is not in");
  ExpectError("label: y\nnumeric: [y]\n", "label", "also listed as a feature");
  ExpectError("label: y\nnumeric: [a, a]\n", "numeric", "listed twice");
}

TEST(SchemaTest, ErrorsCarryTheLine) {
  auto schema = Schema::FromYamlString("label: y\n\nnumeric: [a]\nbogus: 1\n", "s.yaml");
  ASSERT_FALSE(schema.ok());
  EXPECT_THAT(schema.status().message(), HasSubstr("s.yaml:4:"));
}

TEST(SchemaTest, InvalidYamlAndNonMapping) {
  auto bad = Schema::FromYamlString("label: [unclosed\n", "broken.yaml");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("broken.yaml"));
  auto list = Schema::FromYamlString("- a\n- b\n", "list.yaml");
  ASSERT_FALSE(list.ok());
  EXPECT_THAT(list.status().message(), HasSubstr("list.yaml"));
  EXPECT_FALSE(Schema::FromYamlString("", "empty.yaml").ok());
}

TEST(SchemaTest, FromFile) {
  const std::string path = testing::TempPath("schema.yaml");
  testing::WriteFile(path, "label: y\nbogus: 1\n");
  auto schema = Schema::FromYamlFile(path);
  ASSERT_FALSE(schema.ok());
  EXPECT_THAT(schema.status().message(), HasSubstr(path + ":2: field 'bogus'"));
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
