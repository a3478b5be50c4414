// A model saved in the documented format (docs/model-format.md) by an earlier Parasol must keep
// loading and giving the same predictions: testdata/churn-fm-v1 was trained once on the bundled
// churn data (FM, CSV with transforms) and is never regenerated. A change to hashing, the
// transforms, the manifest or the weights file breaks this test; such a change then needs a
// reader for the old format.
#include "predict/predictor.h"

#include <fstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace parasol {
namespace {

const std::string kDir = std::string(PARASOL_SOURCE_DIR) + "/src/predict/testdata/churn-fm-v1";

std::vector<float> ReadFloats(const std::string& path) {
  std::ifstream in(path);
  std::vector<float> values;
  for (float v; in >> v;) values.push_back(v);
  return values;
}

TEST(SavedModelTest, ChurnFmV1KeepsLoadingAndPredictingTheSame) {
  auto predictor = Predictor::Load(kDir + "/model");
  ASSERT_TRUE(predictor.ok()) << predictor.status();
  EXPECT_EQ((*predictor)->loaded().manifest.spec.type, ModelType::kFm);
  std::vector<float> got;
  const absl::Status scored =
      (*predictor)
          ->PredictFile(kDir + "/rows.csv", /*threads=*/1,
                        [&](const ExampleBlock&, const std::vector<float>& probs) {
                          got.insert(got.end(), probs.begin(), probs.end());
                        });
  ASSERT_TRUE(scored.ok()) << scored;
  const std::vector<float> want = ReadFloats(kDir + "/expected.txt");
  ASSERT_EQ(want.size(), 40u);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-6) << "row " << i;
}

TEST(SavedModelTest, PredictBlocksMatchesPredictFileOnTheSameRows) {
  auto predictor = Predictor::Load(kDir + "/model");
  ASSERT_TRUE(predictor.ok()) << predictor.status();
  std::vector<ExampleBlock> blocks;
  std::vector<float> streamed;
  ASSERT_TRUE((*predictor)
                  ->PredictFile(kDir + "/rows.csv", 1,
                                [&](const ExampleBlock& block, const std::vector<float>& probs) {
                                  blocks.push_back(block);
                                  streamed.insert(streamed.end(), probs.begin(), probs.end());
                                })
                  .ok());
  const LoadedModel& loaded = (*predictor)->loaded();
  EXPECT_EQ(PredictBlocks(*loaded.model, *loaded.table, loaded.dense.data(), blocks, /*threads=*/2),
            streamed);
}

}  // namespace
}  // namespace parasol
