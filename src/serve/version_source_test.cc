#include "serve/version_source.h"

#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"
#include "serve/served_model.h"
#include "serve/test_models.h"

namespace parasol {
namespace {

namespace fs = std::filesystem;

TEST(FileSystemSourceTest, ListsDigitFoldersNewestFirstWithTheirDeltas) {
  testing::TempDir tmp;
  const fs::path base = tmp.path() / "m";
  for (const char* dir : {"1", "3", "4.tmp", "3/deltas/7", "3/deltas/8", "3/deltas/x"}) {
    fs::create_directories(base / dir);
  }
  std::ofstream(base / "3" / kDeltaFolder / "8" / "manifest.json") << "{}";
  FileSystemSourceOptions options;
  options.model_base = base.string();
  FileSystemSource source(options);
  auto view = source.GetAspiredVersions();
  ASSERT_TRUE(view.ok()) << view.status();
  ASSERT_EQ(view->models.size(), 1u);
  const AspiredModel& m = view->models[0];
  EXPECT_EQ(m.config.name, "m");
  EXPECT_EQ(m.wanted, 1u);  // default policy: latest 1
  EXPECT_EQ(m.present, (std::set<int64_t>{1, 3}));
  ASSERT_EQ(m.candidates.size(), 2u);
  EXPECT_EQ(m.candidates[0].version, 3);
  EXPECT_EQ(m.candidates[1].version, 1);
  const auto& deltas = m.candidates[0].deltas;
  ASSERT_EQ(deltas.size(), 2u);
  EXPECT_EQ(deltas[0].seq, 7);
  EXPECT_FALSE(deltas[0].complete);  // no manifest yet
  EXPECT_EQ(deltas[1].seq, 8);
  EXPECT_TRUE(deltas[1].complete);
  EXPECT_FALSE(deltas[1].fingerprint.empty());
}

TEST(FileSystemSourceTest, ASpecificVersionThatIsMissingSaysWhichFolder) {
  testing::TempDir tmp;
  fs::create_directories(tmp.path() / "m" / "1");
  std::ofstream(tmp.path() / "models.yaml")
      << "models: [{name: m, base_path: m, version_policy: {specific: [1, 2]}}]\n";
  FileSystemSourceOptions options;
  options.config_path = (tmp.path() / "models.yaml").string();
  FileSystemSource source(options);
  auto view = source.GetAspiredVersions();
  ASSERT_TRUE(view.ok()) << view.status();
  const AspiredModel& m = view->models.at(0);
  ASSERT_EQ(m.candidates.size(), 2u);
  EXPECT_EQ(m.candidates[0].version, 2);
  EXPECT_TRUE(m.candidates[0].path.empty());
  EXPECT_NE(m.candidates[0].missing_reason.find("no folder"), std::string::npos);
  EXPECT_FALSE(m.candidates[1].path.empty());
}

}  // namespace
}  // namespace parasol
