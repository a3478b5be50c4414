#include "serve/request.h"

#include <algorithm>

#include "gtest/gtest.h"

namespace parasol {
namespace {

using Fields = std::vector<std::pair<std::string, std::string>>;

TEST(TfRequestTest, RowFormatTurnsScalarsIntoText) {
  auto r = ParseTfRequest(
      R"({"instances": [{"tenure": 45, "monthly": 42.3, "contract": "One year", "paper": true,
                         "gone": null}, "3:1 17:0.5"]})",
      TfMethod::kPredict);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->columnar);
  ASSERT_EQ(r->instances.size(), 2u);
  Fields fields = r->instances[0].fields;
  std::sort(fields.begin(), fields.end());
  EXPECT_EQ(fields, (Fields{{"contract", "One year"},
                            {"gone", ""},
                            {"monthly", "42.3"},  // shortest round-trip text, as in a CSV file
                            {"paper", "1"},
                            {"tenure", "45"}}));
  EXPECT_TRUE(r->instances[1].is_text);
  EXPECT_EQ(r->instances[1].text, "3:1 17:0.5");
  EXPECT_EQ(r->instances[1].where, "instances[1]");
}

TEST(TfRequestTest, ColumnarFormatTransposes) {
  auto r = ParseTfRequest(R"({"inputs": {"x": [1, 2], "c": ["a", "b"]}})", TfMethod::kPredict);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->columnar);
  ASSERT_EQ(r->instances.size(), 2u);
  Fields second = r->instances[1].fields;
  std::sort(second.begin(), second.end());
  EXPECT_EQ(second, (Fields{{"c", "b"}, {"x", "2"}}));
}

TEST(TfRequestTest, ClassifyMergesContextUnderExamples) {
  auto r = ParseTfRequest(R"({"context": {"c": "red", "x": 1}, "examples": [{"x": 5}, {}]})",
                          TfMethod::kClassify);
  ASSERT_TRUE(r.ok()) << r.status();
  Fields first = r->instances[0].fields, second = r->instances[1].fields;
  std::sort(first.begin(), first.end());
  std::sort(second.begin(), second.end());
  EXPECT_EQ(first, (Fields{{"c", "red"}, {"x", "5"}}));
  EXPECT_EQ(second, (Fields{{"c", "red"}, {"x", "1"}}));
}

struct BadCase {
  const char* body;
  TfMethod method;
  const char* message;
};

TEST(TfRequestTest, WrongShapesAreNamed) {
  const BadCase cases[] = {
      {"{not json", TfMethod::kPredict, "request body is not valid JSON"},
      {"[1, 2]", TfMethod::kPredict, "must be a JSON object"},
      {"{}", TfMethod::kPredict, "exactly one of \"instances\""},
      {R"({"instances": [], "inputs": []})", TfMethod::kPredict, "exactly one of"},
      {R"({"instances": {"x": 1}})", TfMethod::kPredict, "instances: expected a list"},
      {R"({"instances": []})", TfMethod::kPredict, "instances: empty list"},
      {R"({"instances": [{"x": 1}, 7]})", TfMethod::kPredict, "instances[1]: expected an object"},
      {R"({"instances": [{"x": [1, 2]}]})", TfMethod::kPredict,
       "instances[0].x: expected a number"},
      {R"({"instances": [{}], "extra": 1})", TfMethod::kPredict, "extra: unknown key"},
      {R"({"inputs": {"x": [1, 2], "c": ["a"]}})", TfMethod::kPredict,
       "inputs.x: has 2 values but c has 1"},
      {R"({"inputs": {"x": 3}})", TfMethod::kPredict, "inputs.x: expected a list"},
      {R"({"examples": [{"x": 1}], "context": [1]})", TfMethod::kClassify,
       "context: expected an object"},
      {R"({"instances": [{"x": 1}]})", TfMethod::kRegress, "instances: unknown key"},
      {R"({"context": {}})", TfMethod::kRegress, "examples: missing"},
  };
  for (const BadCase& c : cases) {
    auto r = ParseTfRequest(c.body, c.method);
    ASSERT_FALSE(r.ok()) << c.body;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find(c.message), std::string::npos)
        << c.body << " → " << r.status().message();
  }
}

TEST(V2RequestTest, TensorsBecomeRows) {
  auto r = ParseV2InferRequest(R"({"id": "q1", "inputs": [
      {"name": "x", "shape": [2, 1], "datatype": "FP32", "data": [[1.5], [2]]},
      {"name": "c", "shape": [2], "datatype": "BYTES", "data": ["red", "blue"]}]})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->id, "q1");
  ASSERT_EQ(r->instances.size(), 2u);
  EXPECT_EQ(r->instances[0].fields, (Fields{{"x", "1.5"}, {"c", "red"}}));
  EXPECT_EQ(r->instances[1].fields, (Fields{{"x", "2"}, {"c", "blue"}}));
}

TEST(V2RequestTest, BadTensorsAreNamed) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"inputs": []})", "inputs: expected a non-empty list"},
      {R"({"inputs": [{"shape": [1], "datatype": "FP32", "data": [1]}]})", "inputs[0].name"},
      {R"({"inputs": [{"name": "x", "shape": [2], "datatype": "FP32", "data": [1]}]})",
       "inputs[0] (x).data: holds 1 values but shape says 2"},
      {R"({"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP32", "data": [1, 2, 3]}]})",
       "inputs[0] (x).shape: one value per row"},
      {R"({"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]},
                      {"name": "y", "shape": [2], "datatype": "FP32", "data": [1, 2]}]})",
       "inputs[1] (y).shape: has 2 rows but inputs[0] has 1"},
      {R"({"inputs": [{"name": "x", "shape": [1], "data": [1]}]})", "inputs[0] (x).datatype"},
      {R"({"id": 5, "inputs": []})", "id: expected a string"},
      {R"({"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [[[1]]]}]})",
       "inputs[0] (x).data: expected a list of values"},
  };
  for (const auto& [body, message] : cases) {
    auto r = ParseV2InferRequest(body);
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_NE(r.status().message().find(message), std::string::npos)
        << body << " → " << r.status().message();
  }
}

TEST(V2RequestTest, DeepNestingIsRefusedNotRecursedInto) {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  auto r = ParseV2InferRequest(R"({"inputs": [{"name": "x", "shape": [1], "datatype": "FP32",
                                  "data": )" +
                               deep + "}]}");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  auto t = ParseTfRequest(R"({"instances": )" + deep + "}", TfMethod::kPredict);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace parasol
