// Reading libsvm and CSV files into dense matrices: column layout, labels, errors.
#include "knn/dense_data.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace parasol::knn {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class DenseDataTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& text) {
    const std::string path =
        ::testing::TempDir() + "/parasol_knn_" + std::to_string(::getpid()) + "_" + name;
    std::ofstream(path) << text;
    paths_.push_back(path);
    return path;
  }
  ~DenseDataTest() override {
    for (const std::string& p : paths_) std::remove(p.c_str());
  }
  std::vector<std::string> paths_;
};

std::vector<float> Row(const DenseMatrix& m, size_t i) {
  return std::vector<float>(m.row(i), m.row(i) + m.cols);
}

TEST_F(DenseDataTest, LibsvmIndicesStartAtOneAndLabelsAreKept) {
  const std::string train = Write("a.svm", "3 1:0.5 3:2\n-1.5 2:1\n");
  const std::string test = Write("b.svm", "7 4:9\n");
  DenseData tr, te;
  ASSERT_TRUE(ReadDensePair(train, test, {}, &tr, &te).ok());
  EXPECT_EQ(tr.features.cols, 4u);  // indices 1..4 (the test file has 4)
  EXPECT_EQ(tr.features.stride, 8u);
  EXPECT_THAT(Row(tr.features, 0), ElementsAre(0.5f, 0, 2, 0));
  EXPECT_THAT(Row(tr.features, 1), ElementsAre(0, 1, 0, 0));
  EXPECT_THAT(Row(te.features, 0), ElementsAre(0, 0, 0, 9));
  EXPECT_THAT(tr.labels, ElementsAre(3, -1.5f));
  EXPECT_THAT(te.labels, ElementsAre(7));
}

TEST_F(DenseDataTest, IndexZeroKeepsColumnZero) {
  const std::string train = Write("z.svm", "1 0:5 2:1\n");
  DenseData tr, te;
  ASSERT_TRUE(ReadDensePair(train, train, {}, &tr, &te).ok());
  EXPECT_THAT(Row(tr.features, 0), ElementsAre(5, 0, 1));
}

TEST_F(DenseDataTest, LibsvmErrorsNameFileAndLine) {
  const std::string good = Write("g.svm", "1 1:1\n");
  const std::string bad = Write("bad.svm", "1 1:1\nx 2:1\n");
  DenseData tr, te;
  absl::Status s = ReadDensePair(good, bad, {}, &tr, &te);
  EXPECT_THAT(s.message(), HasSubstr("bad.svm:2: bad label 'x'"));
  const std::string huge = Write("huge.svm", "1 99999999:1\n");
  s = ReadDensePair(huge, good, {}, &tr, &te);
  EXPECT_THAT(s.message(), HasSubstr("huge.svm: feature index 99999999 is too large"));
  const std::string empty = Write("empty.svm", "# nothing\n");
  EXPECT_THAT(ReadDensePair(good, empty, {}, &tr, &te).message(), HasSubstr("no examples"));
}

TEST_F(DenseDataTest, CsvUsesNumericColumnsInSchemaOrder) {
  const std::string train = Write("a.csv", "id,b,y,a,kind\n1,2.5,0,-1,x\n2,3,2,4,y\n");
  DenseReadOptions options;
  options.format = DataFormat::kCsv;
  options.schema.label = "y";
  options.schema.numeric = {"a", "b"};
  options.schema.categorical = {"kind"};
  DenseData tr, te;
  ASSERT_TRUE(ReadDensePair(train, train, options, &tr, &te).ok());
  EXPECT_EQ(tr.features.cols, 2u);
  EXPECT_THAT(Row(tr.features, 0), ElementsAre(-1, 2.5f));
  EXPECT_THAT(Row(tr.features, 1), ElementsAre(4, 3));
  EXPECT_THAT(tr.labels, ElementsAre(0, 2));

  const std::string bad = Write("bad.csv", "id,b,y,a,kind\n1,2.5,0,oops,x\n");
  absl::Status s = ReadDensePair(train, bad, options, &tr, &te);
  EXPECT_THAT(s.message(), HasSubstr("bad.csv:2"));
  EXPECT_THAT(s.message(), HasSubstr("column 'a' value 'oops'"));
  options.schema.numeric = {"a", "missing"};
  s = ReadDensePair(train, train, options, &tr, &te);
  EXPECT_THAT(s.message(), HasSubstr("column 'missing' named in the schema"));
}

}  // namespace
}  // namespace parasol::knn
