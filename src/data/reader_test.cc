#include "data/reader.h"

#include <sys/stat.h>

#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "data/test_files.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace parasol {
namespace {

using ::parasol::testing::Contents;
using ::parasol::testing::TempPath;
using ::parasol::testing::WriteFile;
using ::parasol::testing::WriteGzip;
using ::parasol::testing::ZstdCompress;
using ::testing::HasSubstr;

// Lines of varying length (1..40 features), with blank and comment lines sprinkled in.
std::vector<std::string> SampleLines(int n) {
  std::vector<std::string> lines;
  for (int i = 0; i < n; ++i) {
    if (i % 50 == 7) lines.push_back("");
    if (i % 70 == 3) lines.push_back("# a comment line");
    std::string line = (i % 4 == 0) ? "+1" : "-1";
    for (int j = 0; j < 1 + i % 40; ++j) {
      line += " " + std::to_string((i * 31 + j * 17) % 5000 + 1) + (j % 3 ? ":1" : ":0.5");
    }
    lines.push_back(line);
  }
  return lines;
}

std::string Join(const std::vector<std::string>& lines) {
  std::string text;
  for (const std::string& l : lines) text += l + "\n";
  return text;
}

ExampleBlock ParseDirectly(const std::vector<std::string>& lines, int hash_bits = 0) {
  ExampleBlock block;
  for (const std::string& l : lines) {
    if (l.empty() || l[0] == '#') continue;
    EXPECT_TRUE(ParseLibsvmLine(l, true, hash_bits, &block).ok()) << l;
  }
  return block;
}

struct ReadAllResult {
  absl::Status status;
  ExampleBlock all;
  size_t blocks = 0;
  size_t max_block = 0;
  uint64_t lines_read = 0;
  std::string summary;
  int64_t bad = 0;
};

ReadAllResult ReadAll(const std::string& path, const ReaderOptions& options) {
  ReadAllResult r;
  auto reader = OpenDataReader(path, options);
  if (!reader.ok()) {
    r.status = reader.status();
    return r;
  }
  ExampleBlock block;
  while (true) {
    absl::StatusOr<bool> more = (*reader)->Next(&block);
    if (!more.ok()) {
      r.status = more.status();
      break;
    }
    if (!*more) break;
    EXPECT_FALSE(block.empty());
    ++r.blocks;
    r.max_block = std::max(r.max_block, block.size());
    r.all.Append(block);
  }
  r.lines_read = (*reader)->lines_read();
  r.summary = (*reader)->bad_lines().Summary();
  r.bad = (*reader)->bad_lines().total();
  return r;
}

TEST(DataFormatTest, NamesRoundTrip) {
  for (DataFormat f : {DataFormat::kLibsvm, DataFormat::kCsv, DataFormat::kCriteo}) {
    auto parsed = ParseDataFormat(DataFormatName(f));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, f);
  }
  EXPECT_EQ(ParseDataFormat("parquet").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ReaderTest, ThreadedAndInlineParsingGiveIdenticalBlocksInOrder) {
  const std::vector<std::string> lines = SampleLines(2000);
  const std::string path = TempPath("multi.svm");
  WriteFile(path, Join(lines));
  const ExampleBlock want = ParseDirectly(lines, 18);

  ReaderOptions options;
  options.chunk_bytes = 4096;  // dozens of chunks
  options.hash_bits = 18;
  std::vector<ExampleBlock> per_mode;
  for (int threads : {0, 1, 3}) {
    options.parse_threads = threads;
    ReadAllResult r = ReadAll(path, options);
    ASSERT_TRUE(r.status.ok()) << r.status;
    EXPECT_GT(r.blocks, 10u) << threads;
    EXPECT_EQ(Contents(r.all), Contents(want)) << "parse_threads=" << threads;
    EXPECT_EQ(r.lines_read, lines.size());
  }
}

TEST(ReaderTest, BlocksStayBoundedBySmallChunks) {
  const std::vector<std::string> lines = SampleLines(3000);
  const std::string path = TempPath("stream.svm");
  WriteFile(path, Join(lines));
  for (int threads : {0, 2}) {
    ReaderOptions options;
    options.chunk_bytes = 512;
    options.parse_threads = threads;
    ReadAllResult r = ReadAll(path, options);
    ASSERT_TRUE(r.status.ok()) << r.status;
    // A chunk of ~512 bytes holds whole lines of at least 8 bytes (+ one line crossing the end).
    EXPECT_LE(r.max_block, 512u / 8 + 1);
    EXPECT_GT(r.blocks, 100u);
    EXPECT_EQ(r.all.size(), 3000u);
  }
}

TEST(ReaderTest, CompressedInputReadsLikePlain) {
  const std::vector<std::string> lines = SampleLines(1500);
  const std::string text = Join(lines);
  const std::string gz = TempPath("train.svm");  // gzip, whatever the name
  WriteGzip(gz, text);
  const std::string zst = TempPath("train2.svm");
  WriteFile(zst, ZstdCompress(text));
  const ExampleBlock want = ParseDirectly(lines);
  for (const std::string& path : {gz, zst}) {
    ReaderOptions options;
    options.chunk_bytes = 2000;
    options.parse_threads = 2;
    ReadAllResult r = ReadAll(path, options);
    ASSERT_TRUE(r.status.ok()) << r.status;
    EXPECT_EQ(Contents(r.all), Contents(want));
  }
}

TEST(ReaderTest, FractionReadGrowsToOneForPlainAndCompressedFiles) {
  const std::string text = Join(SampleLines(3000));
  const std::string plain = TempPath("fraction.svm");
  WriteFile(plain, text);
  const std::string gz = TempPath("fraction.gz");
  WriteGzip(gz, text);
  for (const std::string& path : {plain, gz}) {
    ReaderOptions options;
    options.chunk_bytes = 1024;
    auto reader = OpenDataReader(path, options);
    ASSERT_TRUE(reader.ok()) << reader.status();
    ExampleBlock block;
    ASSERT_TRUE(*(*reader)->Next(&block));
    const double early = (*reader)->fraction_read();
    EXPECT_GT(early, 0.0) << path;
    // Compressed input is consumed 256 KiB at a time, so a small .gz is read at once.
    if (path == plain) {
      EXPECT_LT(early, 0.9);
    }
    while (*(*reader)->Next(&block)) {
    }
    EXPECT_DOUBLE_EQ((*reader)->fraction_read(), 1.0) << path;
  }
}

TEST(ReaderTest, TruncatedGzipSurfacesDataLossAfterGoodBlocks) {
  const std::string full = TempPath("full.gz");
  WriteGzip(full, Join(SampleLines(3000)));
  const std::string bytes = testing::ReadFileBytes(full);
  const std::string path = TempPath("cut.svm.gz");
  WriteFile(path, bytes.substr(0, bytes.size() * 2 / 3));
  for (int threads : {0, 3}) {
    ReaderOptions options;
    options.chunk_bytes = 1024;
    options.parse_threads = threads;
    ReadAllResult r = ReadAll(path, options);
    EXPECT_EQ(r.status.code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(r.status.message(), HasSubstr(path));
    EXPECT_GT(r.all.size(), 100u);
  }
}

TEST(ReaderTest, ErrorsNameFileAndLineInOrder) {
  std::vector<std::string> lines = SampleLines(1000);
  const size_t bad_index = 700;
  lines[bad_index] = "1 5:1 3:x";
  lines[bad_index + 100] = "7 1:1";  // a later error must not be reported first
  const std::string path = TempPath("bad.svm");
  WriteFile(path, Join(lines));
  for (int threads : {0, 3}) {
    ReaderOptions options;
    options.chunk_bytes = 700;
    options.parse_threads = threads;
    ReadAllResult r = ReadAll(path, options);
    ASSERT_FALSE(r.status.ok());
    EXPECT_EQ(r.status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(r.status.message(),
                HasSubstr(path + ":" + std::to_string(bad_index + 1) + ": bad feature '3:x'"));
    // Every block before the bad line's chunk was delivered.
    EXPECT_GT(r.all.size(), 500u);
    EXPECT_LT(r.all.size(), bad_index);
  }
}

TEST(ReaderTest, MaxBadLinesSkipsAndCountsThenStops) {
  std::vector<std::string> lines = SampleLines(300);
  lines[10] = "2 1:1";
  lines[100] = "1 1:x";
  lines[200] = "1 1:1 y";
  const std::string path = TempPath("some_bad.svm");
  WriteFile(path, Join(lines));
  size_t good = 0;
  for (const std::string& l : lines) good += !l.empty() && l[0] != '#';
  good -= 3;
  for (int threads : {0, 2}) {
    ReaderOptions options;
    options.chunk_bytes = 256;
    options.parse_threads = threads;
    options.max_bad_lines = 3;
    ReadAllResult r = ReadAll(path, options);
    ASSERT_TRUE(r.status.ok()) << r.status;
    EXPECT_EQ(r.all.size(), good);
    EXPECT_EQ(r.bad, 3);
    EXPECT_EQ(r.summary, "skipped 3 bad lines (bad feature: 2, bad label: 1)");

    options.max_bad_lines = 2;
    r = ReadAll(path, options);
    ASSERT_FALSE(r.status.ok());
    EXPECT_THAT(r.status.message(), HasSubstr(path + ":201: bad feature 'y'"));
    EXPECT_THAT(r.status.message(), HasSubstr("max_bad_lines = 2"));
  }
}

TEST(ReaderTest, LabelsOptionalReadsLibsvmLinesWithoutLabels) {
  // Labelled and unlabelled lines mixed (libsvm and libffm tokens, comments, CRLF, blank lines),
  // long enough to span chunks.
  std::vector<std::string> lines = SampleLines(600);
  std::vector<std::string> stripped;  // the same lines, every other one without its label
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& l = lines[i];
    if (i % 2 == 1 && !l.empty() && l[0] != '#') {
      stripped.push_back(l.substr(l.find(' ') + 1));
    } else {
      stripped.push_back(l);
    }
  }
  stripped.push_back("  \t7:2:0.25 8:1 # an ffm token first, then a comment\r");
  stripped.push_back("0");  // a label and no features
  const std::string path = TempPath("mixed.svm");
  WriteFile(path, Join(stripped));

  ExampleBlock want;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& l = stripped[i];
    if (l.empty() || l[0] == '#') continue;
    const bool unlabelled = l != lines[i];
    ASSERT_TRUE(ParseLibsvmLine(l, !unlabelled, 18, &want).ok()) << l;
  }
  ASSERT_TRUE(ParseLibsvmLine("7:2:0.25 8:1", false, 18, &want).ok());
  ASSERT_TRUE(ParseLibsvmLine("0", true, 18, &want).ok());
  ExampleBlock labelled = ParseDirectly(lines, 18);  // same features, some labels 1
  ASSERT_TRUE(ParseLibsvmLine("0 7:2:0.25 8:1", true, 18, &labelled).ok());
  ASSERT_TRUE(ParseLibsvmLine("0", true, 18, &labelled).ok());
  EXPECT_EQ(want.keys(), labelled.keys());
  EXPECT_NE(want.labels(), labelled.labels());

  for (int threads : {0, 2}) {
    ReaderOptions options;
    options.chunk_bytes = 512;
    options.parse_threads = threads;
    options.hash_bits = 18;
    options.labels_optional = true;
    ReadAllResult r = ReadAll(path, options);
    ASSERT_TRUE(r.status.ok()) << r.status;
    EXPECT_EQ(Contents(r.all), Contents(want)) << "parse_threads=" << threads;

    // Without labels_optional the first unlabelled line is an error, as before.
    options.labels_optional = false;
    r = ReadAll(path, options);
    ASSERT_FALSE(r.status.ok());
    const std::string first = stripped[1].substr(0, stripped[1].find(' '));
    EXPECT_THAT(r.status.message(), HasSubstr(path + ":2: bad label '" + first + "'"));
    EXPECT_THAT(r.status.message(), HasSubstr("starts with a feature"));
  }

  // A first token without ':' is still a label, and must be a good one.
  const std::string bad = TempPath("bad_label.svm");
  WriteFile(bad, "3:1\n2 3:1\n");
  ReaderOptions options;
  options.labels_optional = true;
  ReadAllResult r = ReadAll(bad, options);
  ASSERT_FALSE(r.status.ok());
  EXPECT_THAT(r.status.message(), HasSubstr(bad + ":2: bad label '2'"));
}

TEST(ReaderTest, LongLinesLastLineWithoutNewlineAndBom) {
  std::string long_line = "1";
  for (int j = 1; j <= 300; ++j) long_line += " " + std::to_string(j) + ":1";
  const std::string path = TempPath("odd.svm");
  WriteFile(path,
            "\xEF\xBB\xBF"
            "0 1:1\r\n" +
                long_line + "\n\n1 2:1");
  for (int threads : {0, 2}) {
    ReaderOptions options;
    options.chunk_bytes = 16;  // shorter than the long line
    options.parse_threads = threads;
    ReadAllResult r = ReadAll(path, options);
    ASSERT_TRUE(r.status.ok()) << r.status;
    ASSERT_EQ(r.all.size(), 3u);
    EXPECT_EQ(r.all.example(1).size, 300u);
    EXPECT_EQ(r.all.example(2).size, 1u);
    EXPECT_EQ(r.lines_read, 4u);
  }
}

TEST(ReaderTest, ReadsFromAPipeWithoutLosingBytes) {
  const std::string path = TempPath("fifo");
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  const std::vector<std::string> lines = SampleLines(500);
  const std::string text = Join(lines);
  std::thread writer([&] {
    std::ofstream out(path, std::ios::binary);
    out << text;
  });
  ReaderOptions options;
  options.chunk_bytes = 1000;
  ReadAllResult r = ReadAll(path, options);
  writer.join();
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(Contents(r.all), Contents(ParseDirectly(lines)));
}

TEST(ReaderTest, EmptyFileHasNoBlocks) {
  const std::string path = TempPath("empty.svm");
  WriteFile(path, "");
  for (int threads : {0, 2}) {
    ReaderOptions options;
    options.parse_threads = threads;
    ReadAllResult r = ReadAll(path, options);
    ASSERT_TRUE(r.status.ok()) << r.status;
    EXPECT_EQ(r.blocks, 0u);
  }
}

TEST(ReaderTest, EarlyDestructionStopsThreads) {
  const std::string path = TempPath("big.svm");
  WriteFile(path, Join(SampleLines(5000)));
  for (int consumed : {0, 1, 5}) {
    ReaderOptions options;
    options.chunk_bytes = 256;
    options.parse_threads = 3;
    auto reader = OpenDataReader(path, options);
    ASSERT_TRUE(reader.ok()) << reader.status();
    ExampleBlock block;
    for (int i = 0; i < consumed; ++i) {
      auto more = (*reader)->Next(&block);
      ASSERT_TRUE(more.ok() && *more);
    }
    reader->reset();  // must join its threads without hanging
  }
}

TEST(ReaderTest, OpenErrors) {
  ReaderOptions options;
  const std::string missing = TempPath("missing.svm");
  auto reader = OpenDataReader(missing, options);
  EXPECT_EQ(reader.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(reader.status().message(), HasSubstr(missing));

  const std::string path = TempPath("ok.svm");
  WriteFile(path, "1 1:1\n");
  options.parse_threads = -1;
  EXPECT_EQ(OpenDataReader(path, options).status().code(), absl::StatusCode::kInvalidArgument);
  options.parse_threads = 0;
  options.hash_bits = 64;
  EXPECT_EQ(OpenDataReader(path, options).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ReaderTest, RawFeatureIdsAndLabelsKeepTheNumbersAsWritten) {
  const std::string path = TempPath("raw.svm");
  WriteFile(path, "7 1:0.5 3:2 10:1\n-2.5 2:1\n# comment\n\n0.125 4:3:1.5\n");
  ReaderOptions options;
  options.raw_feature_ids = true;
  options.raw_labels = true;
  options.parse_threads = 1;
  ReadAllResult r = ReadAll(path, options);
  ASSERT_TRUE(r.status.ok()) << r.status;
  ASSERT_EQ(r.all.size(), 3u);
  EXPECT_THAT(r.all.labels(), ::testing::ElementsAre(7.0f, -2.5f, 0.125f));
  EXPECT_THAT(r.all.keys(), ::testing::ElementsAre(1u, 3u, 10u, 2u, 3u));
  EXPECT_THAT(r.all.fields(), ::testing::ElementsAre(0u, 0u, 0u, 0u, 4u));
  EXPECT_THAT(r.all.values(), ::testing::ElementsAre(0.5f, 2.0f, 1.0f, 1.0f, 1.5f));

  // Each option alone: the other half keeps the default behaviour.
  options.raw_labels = false;
  WriteFile(path, "-1 5:1\n+1 6:2\n");
  r = ReadAll(path, options);
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_THAT(r.all.labels(), ::testing::ElementsAre(0.0f, 1.0f));
  EXPECT_THAT(r.all.keys(), ::testing::ElementsAre(5u, 6u));
  options.raw_feature_ids = false;
  options.raw_labels = true;
  r = ReadAll(path, options);
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_THAT(r.all.labels(), ::testing::ElementsAre(-1.0f, 1.0f));
  EXPECT_EQ(r.all.keys()[0], FeatureKey(0, uint64_t{5}));
}

TEST(ReaderTest, RawLabelsRejectNonNumbersWithFileAndLine) {
  const std::string path = TempPath("rawbad.svm");
  WriteFile(path, "1 1:1\nnan 1:1\n");
  ReaderOptions options;
  options.raw_labels = true;
  ReadAllResult r = ReadAll(path, options);
  EXPECT_EQ(r.status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status.message(), HasSubstr(":2: bad label 'nan': expected a finite number"));
  WriteFile(path, "1 1:1\n3 2:1\n");  // without raw_labels, 3 is not a binary label
  options.raw_labels = false;
  r = ReadAll(path, options);
  EXPECT_THAT(r.status.message(), HasSubstr(":2: bad label '3'"));
}

TEST(ReaderTest, RawOptionsRejectedWhereTheyCannotApply) {
  const std::string path = TempPath("rawopt.svm");
  WriteFile(path, "1 1:1\n");
  ReaderOptions options;
  options.raw_feature_ids = true;
  options.hash_bits = 10;
  EXPECT_THAT(OpenDataReader(path, options).status().message(), HasSubstr("hash_bits must be 0"));
  options.hash_bits = 0;
  options.format = DataFormat::kCriteo;
  EXPECT_THAT(OpenDataReader(path, options).status().message(),
              HasSubstr("libsvm input only, not criteo"));
}

}  // namespace
}  // namespace parasol
