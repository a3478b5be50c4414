// Pins the feature-hash values: every saved model's keys were computed with these functions, so a
// change here must fail this test (and then needs a reader for models hashed the old way).
// tests/testdata/churn-fm-v1 guards the same end to end through a trained model.
#include "common/hash.h"

#include <string_view>

#include "gtest/gtest.h"

namespace parasol {
namespace {

TEST(HashTest, IntegerFeatureKeysArePinned) {
  EXPECT_EQ(FeatureKey(0u, uint64_t{0}), 0x7ab40e090f363a7dULL);
  EXPECT_EQ(FeatureKey(3u, uint64_t{12345}), 0x58bec3dba2d12ca6ULL);
  EXPECT_EQ(FeatureKey(7u, ~uint64_t{0}), 0x89b11a2b30e816cfULL);
}

TEST(HashTest, StringFeatureKeysArePinned) {
  // XXH3-64 of the empty string with seed 0 (field 0): the published XXH3 test vector.
  EXPECT_EQ(FeatureKey(0u, std::string_view("")), 0x2d06800538d394c2ULL);
  EXPECT_EQ(FeatureKey(2u, std::string_view("DSL")), 0x395bb5cca5ef7733ULL);
  EXPECT_EQ(FeatureKey(15u, std::string_view("Month-to-month")), 0x5b7439a8718de052ULL);
}

TEST(HashTest, CombinedAndMaskedKeysArePinnedAndOrderSensitive) {
  EXPECT_EQ(CombineKeys(1, 2), 0x975835de1c9756ceULL);
  EXPECT_EQ(CombineKeys(2, 1), 0xbeeb8da1658eec67ULL);
  EXPECT_EQ(MaskKey(FeatureKey(3u, uint64_t{12345}), 20), 0x12ca6ULL);
  EXPECT_EQ(MaskKey(0x58bec3dba2d12ca6ULL, 0), 0x58bec3dba2d12ca6ULL);
  EXPECT_EQ(kBiasKey, 0xffffffffffffffffULL);
}

TEST(HashTest, InitialWeightsArePinned) {
  EXPECT_FLOAT_EQ(HashUniform(1, 42, 0), -0.984954476f);
  EXPECT_FLOAT_EQ(HashUniform(7, kBiasKey, 3), 0.409982085f);
  EXPECT_EQ(HashUniform(0, 0, 0), -1.0f);
}

}  // namespace
}  // namespace parasol
