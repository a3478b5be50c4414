#include "stream/file_sources.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "stream/redis_source.h"

namespace parasol::stream {
namespace {
namespace fs = std::filesystem;

class DirSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("dir_source_test_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
            "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  void Write(const std::string& name, const std::string& text, bool done) {
    std::ofstream(dir_ / name) << text;
    if (done) std::ofstream(dir_ / (name + kDoneSuffix));
  }
  std::vector<std::string> ReadAll(Source& s) {
    std::vector<Event> events;
    EXPECT_TRUE(s.Read(100, 0, &events).ok());
    std::vector<std::string> lines;
    for (const Event& e : events) lines.push_back(e.line);
    return lines;
  }
  fs::path dir_;
};

TEST_F(DirSourceTest, ReadsFinishedFilesInNameOrderOnly) {
  Write("b.txt", "b1\nb2\n", true);
  Write("a.txt", "a1\na2", true);  // no newline at the end
  Write("c.txt", "c1\n", false);   // no done-mark yet
  Write(".hidden", "h\n", true);
  auto source = DirSource::Open(dir_.string(), "");
  ASSERT_TRUE(source.ok()) << source.status();
  EXPECT_EQ(ReadAll(**source), (std::vector<std::string>{"a1", "a2", "b1", "b2"}));
  EXPECT_TRUE(ReadAll(**source).empty());
  std::ofstream(dir_ / "c.txt.done");
  EXPECT_EQ(ReadAll(**source), (std::vector<std::string>{"c1"}));
}

TEST_F(DirSourceTest, ResumesMidFileFromItsPosition) {
  Write("a.txt", "a1\na2\na3\n", true);
  Write("b.txt", "b1\n", true);
  auto first = DirSource::Open(dir_.string(), "");
  ASSERT_TRUE(first.ok());
  std::vector<Event> events;
  ASSERT_TRUE((*first)->Read(2, 0, &events).ok());
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].where, "a.txt:2");
  EXPECT_EQ((*first)->Where(events[1].where), dir_.string() + "/a.txt:2");
  auto second = DirSource::Open(dir_.string(), (*first)->Position());
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(ReadAll(**second), (std::vector<std::string>{"a3", "b1"}));
  // A file that sorts before finished ones is not read (and logged).
  Write("0-late.txt", "x\n", true);
  EXPECT_TRUE(ReadAll(**second).empty());
}

TEST_F(DirSourceTest, BadSpecsAndPositionsAreNamed) {
  EXPECT_FALSE(DirSource::Open((dir_ / "missing").string(), "").ok());
  auto bad = DirSource::Open(dir_.string(), "{\"x\":1}");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("position"), std::string::npos);
}

TEST(RedisSpecTest, ParsesHostPortStreamAndGroup) {
  auto s = ParseRedisSpec("redis://127.0.0.1:6380/clicks?group=g1&consumer=c1");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->host, "127.0.0.1");
  EXPECT_EQ(s->port, 6380);
  EXPECT_EQ(s->stream, "clicks");
  EXPECT_EQ(s->group, "g1");
  EXPECT_EQ(s->consumer, "c1");
  EXPECT_EQ(ParseRedisSpec("redis://h:1/s")->group, "parasol");
  for (const char* bad : {"redis://h/s", "redis://h:x/s", "redis://h:1/", "redis://h:1/s?who=1",
                          "http://h:1/s", "redis://:1/s"}) {
    EXPECT_FALSE(ParseRedisSpec(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace parasol::stream
