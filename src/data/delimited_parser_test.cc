#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/hash.h"
#include "data/line_parsers.h"
#include "data/reader.h"
#include "data/test_files.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace parasol {
namespace {

using ::parasol::testing::FakeEncoderFactory;
using ::parasol::testing::TempPath;
using ::parasol::testing::WriteFile;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<std::string> SplitOk(DelimitedSplitter& splitter, std::string_view line) {
  LineError error;
  EXPECT_TRUE(splitter.Split(line, &error)) << error.message;
  std::vector<std::string> out;
  for (std::string_view c : splitter.columns()) out.emplace_back(c);
  return out;
}

TEST(DelimitedSplitterTest, Rfc4180Quoting) {
  DelimitedSplitter csv(',', /*quoting=*/true);
  EXPECT_THAT(SplitOk(csv, R"(a,"b,c","say ""hi""",,d)"),
              ElementsAre("a", "b,c", R"(say "hi")", "", "d"));
  EXPECT_THAT(SplitOk(csv, R"("",x,"")"), ElementsAre("", "x", ""));
  EXPECT_THAT(SplitOk(csv, R"("""")"), ElementsAre("\""));
  EXPECT_THAT(SplitOk(csv, "a,b,\r"), ElementsAre("a", "b", ""));
  EXPECT_THAT(SplitOk(csv, R"(a,"x""y""z",b)"), ElementsAre("a", R"(x"y"z)", "b"));
  EXPECT_THAT(SplitOk(csv, R"(in"side,b)"), ElementsAre(R"(in"side)", "b"));
  EXPECT_THAT(SplitOk(csv, ""), ElementsAre(""));
}

TEST(DelimitedSplitterTest, ViewsStayValidWithManyEscapedFields) {
  DelimitedSplitter csv(',', true);
  std::string line;
  std::vector<std::string> want;
  for (int i = 0; i < 50; ++i) {
    // StrCat, not "literal" + std::string: GCC 12 at -O3 reports a false -Wrestrict there.
    absl::StrAppend(&line, i ? "," : "", "\"v", i, "\"\"q\"");
    want.push_back(absl::StrCat("v", i, "\"q"));
  }
  EXPECT_EQ(SplitOk(csv, line), want);
}

TEST(DelimitedSplitterTest, MalformedQuotingRejected) {
  DelimitedSplitter csv(',', true);
  LineError error;
  EXPECT_FALSE(csv.Split(R"(a,"unterminated,b)", &error));
  EXPECT_EQ(error.kind, "bad quoting");
  EXPECT_THAT(error.message, HasSubstr("column 2"));
  EXPECT_THAT(error.message, HasSubstr("unterminated"));
  EXPECT_FALSE(csv.Split(R"("a"b,c)", &error));
  EXPECT_EQ(error.kind, "bad quoting");
  EXPECT_THAT(error.message, HasSubstr("after a closing quote"));
}

TEST(DelimitedSplitterTest, TabsWithoutQuotingKeepQuotesAndEmptyFields) {
  DelimitedSplitter tsv('\t', /*quoting=*/false);
  EXPECT_THAT(SplitOk(tsv, "1\t\t\"x\"\t\t"), ElementsAre("1", "", "\"x\"", "", ""));
}

// Writes `text` and reads it all with a fake encoder.
struct ReadResult {
  absl::Status status;
  ExampleBlock examples;
  std::vector<std::string> names;
  int64_t bad = 0;
  std::map<std::string, int64_t> bad_by_kind;
};

ReadResult ReadAllCsv(const std::string& path, ReaderOptions options) {
  ReadResult result;
  options.encoder_factory = FakeEncoderFactory(options.schema.label, &result.names);
  auto reader = OpenDataReader(path, options);
  if (!reader.ok()) {
    result.status = reader.status();
    return result;
  }
  ExampleBlock block;
  while (true) {
    absl::StatusOr<bool> more = (*reader)->Next(&block);
    if (!more.ok()) {
      result.status = more.status();
      break;
    }
    if (!*more) break;
    result.examples.Append(block);
  }
  result.bad = (*reader)->bad_lines().total();
  result.bad_by_kind = (*reader)->bad_lines().by_kind();
  return result;
}

ReaderOptions CsvOptions() {
  ReaderOptions options;
  options.format = DataFormat::kCsv;
  options.schema.label = "y";
  return options;
}

TEST(CsvReaderTest, HeaderQuotingAndBom) {
  const std::string path = TempPath("data.csv");
  WriteFile(path,
            "\xEF\xBB\xBFy,x,\"c,d\"\r\n"
            "1,2.5,red\r\n"
            "0,1,\"blue,green\"\r\n"
            "\r\n"
            "1,,\"say \"\"hi\"\"\"\n");
  ReadResult r = ReadAllCsv(path, CsvOptions());
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_THAT(r.names, ElementsAre("y", "x", "c,d"));
  ASSERT_EQ(r.examples.size(), 3u);
  EXPECT_EQ(r.examples.labels(), (std::vector<float>{1, 0, 1}));
  const ExampleView e1 = r.examples.example(1);
  ASSERT_EQ(e1.size, 2u);
  EXPECT_EQ(e1.keys[0], FeatureKey(1, std::string_view("1")));
  EXPECT_EQ(e1.keys[1], FeatureKey(2, std::string_view("blue,green")));
  const ExampleView e2 = r.examples.example(2);
  ASSERT_EQ(e2.size, 1u);  // the empty x is absent
  EXPECT_EQ(e2.keys[0], FeatureKey(2, std::string_view("say \"hi\"")));
}

TEST(CsvReaderTest, WrongColumnCountNamesFileAndLine) {
  const std::string path = TempPath("short.csv");
  WriteFile(path, "y,x,c\n1,2,a\n0,3\n1,4,b\n");
  ReadResult r = ReadAllCsv(path, CsvOptions());
  ASSERT_FALSE(r.status.ok());
  EXPECT_EQ(r.status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status.message(), HasSubstr(path + ":3: wrong column count: expected 3, got 2"));

  ReaderOptions options = CsvOptions();
  options.max_bad_lines = 1;
  r = ReadAllCsv(path, options);
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(r.examples.size(), 2u);
  EXPECT_EQ(r.bad, 1);
  EXPECT_EQ(r.bad_by_kind["wrong column count"], 1);
}

TEST(CsvReaderTest, EncoderErrorsAreBadValues) {
  const std::string path = TempPath("bad_value.csv");
  WriteFile(path, "y,x\n1,a\n0,BAD\n1,b\n");
  ReadResult r = ReadAllCsv(path, CsvOptions());
  ASSERT_FALSE(r.status.ok());
  EXPECT_THAT(r.status.message(), HasSubstr(path + ":3: column 'x': bad value 'BAD'"));

  ReaderOptions options = CsvOptions();
  options.max_bad_lines = 5;
  r = ReadAllCsv(path, options);
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(r.examples.size(), 2u);
  EXPECT_EQ(r.bad_by_kind["bad value"], 1);
}

TEST(CsvReaderTest, BadQuotingIsABadLine) {
  const std::string path = TempPath("quote.csv");
  WriteFile(path, "y,x\n1,\"open\n0,b\n");
  ReadResult r = ReadAllCsv(path, CsvOptions());
  ASSERT_FALSE(r.status.ok());
  EXPECT_THAT(r.status.message(), HasSubstr(path + ":2: bad quoting"));
}

TEST(CsvReaderTest, NoHeaderUsesSchemaColumnsAndDelimiter) {
  const std::string path = TempPath("noheader.txt");
  WriteFile(path, "a;1\nb;0\n");
  ReaderOptions options = CsvOptions();
  options.schema.header = false;
  options.schema.columns = {"x", "y"};
  options.schema.delimiter = ';';
  ReadResult r = ReadAllCsv(path, options);
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_THAT(r.names, ElementsAre("x", "y"));
  EXPECT_EQ(r.examples.labels(), (std::vector<float>{1, 0}));
  EXPECT_EQ(r.examples.example(0).keys[0], FeatureKey(0, std::string_view("a")));
}

TEST(CsvReaderTest, HeaderOnlyFileHasNoExamplesAndEmptyFileIsAnError) {
  const std::string header_only = TempPath("header_only.csv");
  WriteFile(header_only, "y,x\n");
  ReadResult r = ReadAllCsv(header_only, CsvOptions());
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(r.examples.size(), 0u);
  EXPECT_THAT(r.names, ElementsAre("y", "x"));

  const std::string empty = TempPath("empty.csv");
  WriteFile(empty, "");
  r = ReadAllCsv(empty, CsvOptions());
  ASSERT_FALSE(r.status.ok());
  EXPECT_THAT(r.status.message(), HasSubstr(empty));
}

TEST(CsvReaderTest, FactoryCalledOnceEvenWithThreads) {
  std::string text = "y,x\n";
  for (int i = 0; i < 500; ++i) text += (i % 2 ? "1," : "0,") + std::to_string(i) + "\n";
  const std::string path = TempPath("many.csv");
  WriteFile(path, text);
  ReaderOptions options = CsvOptions();
  options.parse_threads = 3;
  options.chunk_bytes = 64;
  int calls = 0;
  options.encoder_factory = FakeEncoderFactory("y", nullptr, &calls);
  auto reader = OpenDataReader(path, options);
  ASSERT_TRUE(reader.ok()) << reader.status();
  ExampleBlock block, all;
  while (true) {
    auto more = (*reader)->Next(&block);
    ASSERT_TRUE(more.ok()) << more.status();
    if (!*more) break;
    all.Append(block);
  }
  EXPECT_EQ(calls, 1);
  ASSERT_EQ(all.size(), 500u);
  EXPECT_EQ(all.example(499).keys[0], FeatureKey(1, std::string_view("499")));
  EXPECT_EQ((*reader)->lines_read(), 501u);
}

TEST(CsvReaderTest, MissingEncoderFactoryRejected) {
  const std::string path = TempPath("x.csv");
  WriteFile(path, "y\n1\n");
  ReaderOptions options = CsvOptions();
  auto reader = OpenDataReader(path, options);
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(reader.status().code(), absl::StatusCode::kInvalidArgument);
}

std::string CriteoLine(const std::string& label, int empty_every) {
  std::string line = label;
  for (int i = 1; i <= 13; ++i) line += "\t" + (i % empty_every ? std::to_string(i) : "");
  for (int i = 1; i <= 26; ++i) line += "\t" + (i % empty_every ? "68fd1e64" : std::string());
  return line;
}

TEST(CriteoReaderTest, FortyTabSeparatedColumnsWithEmptyFields) {
  const std::string path = TempPath("day_0");
  WriteFile(path, CriteoLine("1", 100) + "\n" + CriteoLine("0", 3) + "\n");
  ReaderOptions options;
  options.format = DataFormat::kCriteo;
  std::vector<std::string> names;
  options.encoder_factory = FakeEncoderFactory("label", &names);
  auto reader = OpenDataReader(path, options);
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_EQ(names, CriteoSchema().columns);
  ExampleBlock block;
  auto more = (*reader)->Next(&block);
  ASSERT_TRUE(more.ok() && *more) << more.status();
  ASSERT_EQ(block.size(), 2u);
  EXPECT_EQ(block.labels(), (std::vector<float>{1, 0}));
  EXPECT_EQ(block.example(0).size, 39u);
  EXPECT_EQ(block.example(1).size, 39u - 4u - 8u);  // every third I and C column is empty
  EXPECT_EQ(block.example(0).keys[13], FeatureKey(14, std::string_view("68fd1e64")));
}

TEST(CriteoReaderTest, WrongColumnCount) {
  const std::string path = TempPath("day_1");
  std::string short_line = CriteoLine("1", 100);
  short_line.resize(short_line.rfind('\t'));
  WriteFile(path, CriteoLine("0", 100) + "\n" + short_line + "\n");
  ReaderOptions options;
  options.format = DataFormat::kCriteo;
  options.encoder_factory = FakeEncoderFactory("label");
  auto reader = OpenDataReader(path, options);
  ASSERT_TRUE(reader.ok()) << reader.status();
  ExampleBlock block;
  auto more = (*reader)->Next(&block);
  ASSERT_FALSE(more.ok());
  EXPECT_THAT(more.status().message(),
              HasSubstr(path + ":2: wrong column count: expected 40, got 39"));
}

TEST(CriteoReaderTest, LabelsOptionalAcceptsLinesWithoutTheLabelColumn) {
  // Criteo's own test files have 39 columns: no label.
  const std::string labelled = CriteoLine("1", 3);
  const std::string unlabelled = labelled.substr(labelled.find('\t') + 1);
  std::string short_line = unlabelled;
  short_line.resize(short_line.rfind('\t'));
  const std::string path = TempPath("test_0");
  WriteFile(path, labelled + "\n" + unlabelled + "\n" + short_line + "\n");
  ReaderOptions options;
  options.format = DataFormat::kCriteo;
  options.labels_optional = true;
  std::vector<std::string> last_names;
  int calls = 0;
  options.encoder_factory = FakeEncoderFactory("label", &last_names, &calls);
  auto reader = OpenDataReader(path, options);
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_EQ(calls, 2);  // all 40 columns, and the 39 without the label
  std::vector<std::string> want_names = CriteoSchema().columns;
  want_names.erase(want_names.begin());
  EXPECT_EQ(last_names, want_names);
  ExampleBlock block;
  auto more = (*reader)->Next(&block);
  ASSERT_FALSE(more.ok());  // 38 columns is still wrong
  EXPECT_THAT(more.status().message(),
              HasSubstr(path + ":3: wrong column count: expected 40 (or 39 without the label), "
                               "got 38"));

  options.max_bad_lines = 1;
  reader = OpenDataReader(path, options);
  ASSERT_TRUE(reader.ok()) << reader.status();
  more = (*reader)->Next(&block);
  ASSERT_TRUE(more.ok() && *more) << more.status();
  ASSERT_EQ(block.size(), 2u);
  EXPECT_EQ(block.labels(), (std::vector<float>{1, 0}));
  // Same values, so the same features (the fake keys them by column position).
  ASSERT_EQ(block.example(1).size, block.example(0).size);
  EXPECT_EQ(block.example(1).keys[0], FeatureKey(0, std::string_view("1")));
  EXPECT_EQ(block.example(0).keys[0], FeatureKey(1, std::string_view("1")));

  // Without labels_optional a 39-column line is an error.
  options.labels_optional = false;
  options.max_bad_lines = 0;
  reader = OpenDataReader(path, options);
  ASSERT_TRUE(reader.ok()) << reader.status();
  more = (*reader)->Next(&block);
  ASSERT_FALSE(more.ok());
  EXPECT_THAT(more.status().message(),
              HasSubstr(path + ":2: wrong column count: expected 40, got 39"));
}

}  // namespace
}  // namespace parasol
