#include "data/cache.h"

#include <unistd.h>

#include <string>
#include <vector>

#include "data/reader.h"
#include "data/test_files.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace parasol {
namespace {

using ::parasol::testing::Contents;
using ::parasol::testing::ReadFileBytes;
using ::parasol::testing::TempPath;
using ::parasol::testing::WriteFile;
using ::testing::HasSubstr;

bool Exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

std::vector<ExampleBlock> SampleBlocks() {
  std::vector<ExampleBlock> blocks(3);
  EXPECT_TRUE(ParseLibsvmLine("1 1:1 2:0.5 3:-1", true, 0, &blocks[0]).ok());
  EXPECT_TRUE(ParseLibsvmLine("0 4:2:1", true, 0, &blocks[0]).ok());
  EXPECT_TRUE(ParseLibsvmLine("0", true, 0, &blocks[1]).ok());  // no features
  for (int i = 0; i < 100; ++i) {
    EXPECT_TRUE(ParseLibsvmLine("1 7:1 " + std::to_string(i) + ":0.25", true, 20, &blocks[2]).ok());
  }
  return blocks;
}

absl::Status WriteCache(const std::string& path, const std::vector<ExampleBlock>& blocks,
                        uint64_t fingerprint) {
  auto writer = CacheWriter::Create(path, fingerprint);
  if (!writer.ok()) return writer.status();
  for (const ExampleBlock& b : blocks) {
    if (absl::Status s = (*writer)->Write(b); !s.ok()) return s;
  }
  return (*writer)->Finish();
}

// Reads all blocks; the status of the first failure, if any.
absl::Status ReadCache(const std::string& path, std::vector<ExampleBlock>* blocks) {
  auto reader = CacheReader::Open(path);
  if (!reader.ok()) return reader.status();
  while (true) {
    ExampleBlock block;
    absl::StatusOr<bool> more = (*reader)->Next(&block);
    if (!more.ok()) return more.status();
    if (!*more) return absl::OkStatus();
    blocks->push_back(std::move(block));
  }
}

TEST(CacheTest, RoundTripIsIdentical) {
  const std::string path = TempPath("train.cache");
  const std::vector<ExampleBlock> blocks = SampleBlocks();
  ASSERT_TRUE(WriteCache(path, blocks, 0x1234abcd).ok());
  EXPECT_TRUE(IsCacheFile(path));
  EXPECT_FALSE(Exists(path + ".tmp"));

  auto reader = CacheReader::Open(path);
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_EQ((*reader)->fingerprint(), 0x1234abcdu);
  std::vector<ExampleBlock> got;
  ASSERT_TRUE(ReadCache(path, &got).ok());
  ASSERT_EQ(got.size(), blocks.size());
  for (size_t i = 0; i < blocks.size(); ++i) EXPECT_EQ(Contents(got[i]), Contents(blocks[i]));
}

TEST(CacheTest, WriterUsesTmpUntilFinishAndCleansUpWithoutIt) {
  const std::string path = TempPath("partial.cache");
  {
    auto writer = CacheWriter::Create(path, 1);
    ASSERT_TRUE(writer.ok()) << writer.status();
    ASSERT_TRUE((*writer)->Write(SampleBlocks()[0]).ok());
    EXPECT_TRUE(Exists(path + ".tmp"));
    EXPECT_FALSE(Exists(path));
  }  // destroyed without Finish()
  EXPECT_FALSE(Exists(path + ".tmp"));
  EXPECT_FALSE(Exists(path));
}

TEST(CacheTest, TruncatedCacheIsDataLossNamingThePath) {
  const std::string full = TempPath("full.cache");
  ASSERT_TRUE(WriteCache(full, SampleBlocks(), 7).ok());
  const std::string bytes = ReadFileBytes(full);
  // Without the trailer (an interrupted write), inside the last block, inside the header.
  for (size_t keep : {bytes.size() - 12, bytes.size() - 100, size_t{12}, bytes.size() - 1}) {
    const std::string path = TempPath("cut.cache");
    WriteFile(path, bytes.substr(0, keep));
    std::vector<ExampleBlock> got;
    const absl::Status s = ReadCache(path, &got);
    ASSERT_FALSE(s.ok()) << "kept " << keep;
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
    EXPECT_THAT(s.message(), HasSubstr(path));
  }
}

TEST(CacheTest, CorruptBlockFailsChecksum) {
  const std::string full = TempPath("full.cache");
  ASSERT_TRUE(WriteCache(full, SampleBlocks(), 7).ok());
  std::string bytes = ReadFileBytes(full);
  bytes[40] = static_cast<char>(bytes[40] ^ 1);  // inside the first block's labels
  const std::string path = TempPath("corrupt.cache");
  WriteFile(path, bytes);
  std::vector<ExampleBlock> got;
  const absl::Status s = ReadCache(path, &got);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("checksum"));
}

TEST(CacheTest, NotACache) {
  const std::string path = TempPath("plain.svm");
  WriteFile(path, "1 2:1\n");
  EXPECT_FALSE(IsCacheFile(path));
  EXPECT_FALSE(IsCacheFile(TempPath("missing")));
  EXPECT_EQ(CacheReader::Open(path).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(CacheTest, FingerprintTracksSourceAndConfig) {
  const std::string src = TempPath("src.svm");
  WriteFile(src, "1 2:1\n");
  const uint64_t a = SourceFingerprint(src, "hash_bits: 20");
  EXPECT_EQ(a, SourceFingerprint(src, "hash_bits: 20"));
  EXPECT_NE(a, SourceFingerprint(src, "hash_bits: 21"));
  WriteFile(src, "1 2:1\n0 3:1\n");  // new size
  EXPECT_NE(a, SourceFingerprint(src, "hash_bits: 20"));
  EXPECT_NE(SourceFingerprint(src, ""), SourceFingerprint(TempPath("other.svm"), ""));
}

TEST(CacheTest, DataReaderDetectsCacheWhateverTheFormat) {
  const std::string path = TempPath("looks_like.csv");
  const std::vector<ExampleBlock> blocks = SampleBlocks();
  ASSERT_TRUE(WriteCache(path, blocks, 3).ok());
  ReaderOptions options;
  options.format = DataFormat::kCsv;  // and no encoder: it must not matter
  options.parse_threads = 2;
  auto reader = OpenDataReader(path, options);
  ASSERT_TRUE(reader.ok()) << reader.status();
  ExampleBlock block, all, want;
  for (const ExampleBlock& b : blocks) want.Append(b);
  while (true) {
    auto more = (*reader)->Next(&block);
    ASSERT_TRUE(more.ok()) << more.status();
    if (!*more) break;
    EXPECT_FALSE(block.empty());
    all.Append(block);
  }
  EXPECT_EQ(Contents(all), Contents(want));
  EXPECT_EQ((*reader)->lines_read(), want.size());
}

}  // namespace
}  // namespace parasol
