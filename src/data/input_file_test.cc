#include "data/input_file.h"

#include <string>

#include "data/test_files.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace parasol {
namespace {

using ::parasol::testing::SampleText;
using ::parasol::testing::TempPath;
using ::parasol::testing::WriteFile;
using ::parasol::testing::WriteGzip;
using ::parasol::testing::ZstdCompress;
using ::testing::HasSubstr;

// Reads everything with reads of `step` bytes.
absl::StatusOr<std::string> ReadAll(InputFile& file, size_t step = 4096) {
  std::string out;
  std::string buf(step, '\0');
  while (true) {
    absl::StatusOr<size_t> n = file.Read(buf.data(), buf.size());
    if (!n.ok()) return n.status();
    if (*n == 0) return out;
    out.append(buf.data(), *n);
  }
}

TEST(InputFileTest, PlainFileNamedLikeGzipIsReadAsPlain) {
  const std::string path = TempPath("plain.gz");
  const std::string text = SampleText(100);
  WriteFile(path, text);
  auto file = OpenInputFile(path);
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ((*file)->compression(), Compression::kNone);
  EXPECT_EQ((*file)->path(), path);
  auto got = ReadAll(**file, 3);  // smaller than the magic-number peek
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, text);
}

TEST(InputFileTest, TinyAndEmptyPlainFiles) {
  for (const std::string text : {"", "1", "1\n"}) {
    const std::string path = TempPath("tiny.txt");
    WriteFile(path, text);
    auto file = OpenInputFile(path);
    ASSERT_TRUE(file.ok()) << file.status();
    EXPECT_EQ((*file)->compression(), Compression::kNone);
    auto got = ReadAll(**file);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, text);
  }
}

TEST(InputFileTest, GzipDetectedByContentNotName) {
  const std::string path = TempPath("data.txt");
  const std::string text = SampleText(50000);  // several compressed buffers
  WriteGzip(path, text);
  auto file = OpenInputFile(path);
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ((*file)->compression(), Compression::kGzip);
  auto got = ReadAll(**file, 1000);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, text);
}

TEST(InputFileTest, ConcatenatedGzipMembersReadAsOneStream) {
  const std::string a = TempPath("a.gz");
  const std::string b = TempPath("b.gz");
  WriteGzip(a, "first member\n");
  WriteGzip(b, "second member\n");
  const std::string path = TempPath("both.svm");
  WriteFile(path, testing::ReadFileBytes(a) + testing::ReadFileBytes(b));
  auto file = OpenInputFile(path);
  ASSERT_TRUE(file.ok()) << file.status();
  auto got = ReadAll(**file);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, "first member\nsecond member\n");
}

TEST(InputFileTest, ZstdDetectedByContentNotName) {
  const std::string path = TempPath("data.gz");
  const std::string text = SampleText(50000);
  WriteFile(path, ZstdCompress(text));
  auto file = OpenInputFile(path);
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ((*file)->compression(), Compression::kZstd);
  auto got = ReadAll(**file, 777);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, text);
}

TEST(InputFileTest, ConcatenatedZstdFrames) {
  const std::string path = TempPath("frames.svm");
  WriteFile(path, ZstdCompress("one\n") + ZstdCompress("two\n"));
  auto file = OpenInputFile(path);
  ASSERT_TRUE(file.ok()) << file.status();
  auto got = ReadAll(**file);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, "one\ntwo\n");
}

TEST(InputFileTest, TruncatedGzipIsDataLossNamingThePath) {
  const std::string full = TempPath("full.gz");
  WriteGzip(full, SampleText(20000));
  const std::string bytes = testing::ReadFileBytes(full);
  const std::string path = TempPath("cut.gz");
  WriteFile(path, bytes.substr(0, bytes.size() / 2));
  auto file = OpenInputFile(path);
  ASSERT_TRUE(file.ok()) << file.status();
  auto got = ReadAll(**file);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(got.status().message(), HasSubstr(path));
  EXPECT_THAT(got.status().message(), HasSubstr("truncated gzip"));
}

TEST(InputFileTest, GzipMissingOnlyItsTrailerIsDataLoss) {
  const std::string full = TempPath("full.gz");
  WriteGzip(full, "1 2:1\n");
  const std::string bytes = testing::ReadFileBytes(full);
  const std::string path = TempPath("no_trailer.gz");
  WriteFile(path, bytes.substr(0, bytes.size() - 4));  // drop the ISIZE field
  auto file = OpenInputFile(path);
  ASSERT_TRUE(file.ok()) << file.status();
  auto got = ReadAll(**file);
  EXPECT_EQ(got.status().code(), absl::StatusCode::kDataLoss);
}

TEST(InputFileTest, CorruptGzipIsDataLoss) {
  const std::string full = TempPath("full.gz");
  WriteGzip(full, SampleText(2000));
  std::string bytes = testing::ReadFileBytes(full);
  for (size_t i = 20; i < 60; ++i) bytes[i] = static_cast<char>(bytes[i] ^ 0x5a);
  const std::string path = TempPath("corrupt.gz");
  WriteFile(path, bytes);
  auto file = OpenInputFile(path);
  ASSERT_TRUE(file.ok()) << file.status();
  auto got = ReadAll(**file);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(got.status().message(), HasSubstr(path));
}

TEST(InputFileTest, TruncatedZstdIsDataLossNamingThePath) {
  const std::string bytes = ZstdCompress(SampleText(20000));
  for (size_t keep : {bytes.size() / 2, bytes.size() - 1, size_t{4}}) {
    const std::string path = TempPath("cut.zst");
    WriteFile(path, bytes.substr(0, keep));
    auto file = OpenInputFile(path);
    ASSERT_TRUE(file.ok()) << file.status();
    EXPECT_EQ((*file)->compression(), Compression::kZstd);
    auto got = ReadAll(**file);
    ASSERT_FALSE(got.ok()) << "kept " << keep << " bytes";
    EXPECT_EQ(got.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(got.status().message(), HasSubstr(path));
  }
}

TEST(InputFileTest, MissingFileIsNotFoundNamingThePath) {
  const std::string path = TempPath("does_not_exist.svm");
  auto file = OpenInputFile(path);
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(file.status().message(), HasSubstr(path));
}

TEST(InputFileTest, DirectoryIsRejected) {
  auto file = OpenInputFile(::testing::TempDir());
  EXPECT_FALSE(file.ok());
}

}  // namespace
}  // namespace parasol
