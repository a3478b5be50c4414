// The row formats of quantized serving tables: fp16 conversions agree with the compiler's own
// _Float16, int8 rows keep their minimum and maximum exactly, FBGEMM's row-wise layout.
#include "serve/row_codec.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace parasol {
namespace {

float CompilerHalfToFloat(uint16_t bits) {
  _Float16 h;
  std::memcpy(&h, &bits, sizeof(h));
  return static_cast<float>(h);
}

TEST(RowCodecTest, HalfToFloatAgreesWithTheCompilerOnEveryHalf) {
  for (uint32_t bits = 0; bits <= 0xffff; ++bits) {
    const float want = CompilerHalfToFloat(static_cast<uint16_t>(bits));
    const float got = HalfToFloat(static_cast<uint16_t>(bits));
    if (std::isnan(want)) {
      EXPECT_TRUE(std::isnan(got)) << bits;
    } else {
      EXPECT_EQ(got, want) << "half bits " << bits;
    }
  }
}

TEST(RowCodecTest, FloatToHalfRoundsToNearestAndSaturates) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-70000.0f, 70000.0f);
  std::normal_distribution<float> small(0.0f, 0.01f);
  for (int i = 0; i < 100000; ++i) {
    const float x = i % 2 ? u(rng) : small(rng);
    const float clamped = std::clamp(x, -65504.0f, 65504.0f);
    EXPECT_EQ(HalfToFloat(FloatToHalf(x)), static_cast<float>(static_cast<_Float16>(clamped))) << x;
  }
  EXPECT_EQ(HalfToFloat(FloatToHalf(1e9f)), 65504.0f);
  EXPECT_EQ(HalfToFloat(FloatToHalf(-1e9f)), -65504.0f);
}

TEST(RowCodecTest, Int8RowsKeepTheirMinimumAndMaximumExactly) {
  std::mt19937 rng(11);
  int below_255 = 0;
  for (int r = 0; r < 100000; ++r) {
    const int dim = 1 + r % 64;
    const float scale = std::pow(10.0f, static_cast<float>(r % 9) - 5);  // 1e-5 .. 1e3
    std::normal_distribution<float> dist(r % 3 == 0 ? scale : 0.0f, scale);
    std::vector<float> row(dim);
    for (float& x : row) x = dist(rng);
    const RowCodec codec(RowPrecision::kInt8, dim);
    std::vector<float> words(codec.words()), back(dim);
    codec.Encode(row.data(), words.data());
    codec.Decode(words.data(), back.data());
    ASSERT_EQ(*std::min_element(back.begin(), back.end()),
              *std::min_element(row.begin(), row.end()))
        << "row " << r;
    ASSERT_EQ(*std::max_element(back.begin(), back.end()),
              *std::max_element(row.begin(), row.end()))
        << "row " << r;
    const Int8Params p = ChooseInt8Params(row.data(), dim);
    if (p.qmax < 255) ++below_255;
    for (int i = 0; i < dim; ++i) {
      // Each value is decoded to within half a step (plus the rounding of the decode).
      ASSERT_LE(std::fabs(back[i] - row[i]), std::fabs(p.scale) * 0.5001f + 1e-5f * scale)
          << "row " << r << " value " << i;
    }
  }
  EXPECT_LT(below_255, 100000 / 2) << "most rows use all 256 codes";
}

TEST(RowCodecTest, Int8LayoutIsFbgemmRowWise) {
  // Codes first (one byte per weight), then the scale and the offset as floats, each at the
  // end of the row's words; value = code * scale + offset.
  const std::vector<float> row = {-1.0f, 0.5f, 2.0f, 0.0f, 1.25f, -0.75f, 1.0f, 0.25f};
  const RowCodec codec(RowPrecision::kInt8, 8);
  ASSERT_EQ(codec.words(), 4);
  ASSERT_EQ(codec.payload_bytes(), 16);
  std::vector<float> words(codec.words());
  codec.Encode(row.data(), words.data());
  const float scale = words[2], offset = words[3];
  EXPECT_EQ(offset, -1.0f);
  EXPECT_NEAR(scale, 3.0f / 255, 1e-6);
  const auto* codes = reinterpret_cast<const unsigned char*>(words.data());
  EXPECT_EQ(codes[0], 0);
  EXPECT_EQ(codes[2], 255);
  for (int i = 0; i < 8; ++i) {
    const float value = static_cast<float>(double(codes[i]) * scale + offset);
    EXPECT_NEAR(value, row[i], scale / 2) << i;
  }
}

TEST(RowCodecTest, RowsOfOneValueAndSizes) {
  const std::vector<float> same(5, 0.3f);
  const RowCodec int8(RowPrecision::kInt8, 5);
  std::vector<float> words(int8.words()), back(5);
  int8.Encode(same.data(), words.data());
  int8.Decode(words.data(), back.data());
  EXPECT_EQ(back, same);
  // Bytes per stored row of 32 weights: 128, 64, 40 (32 codes + scale + offset).
  EXPECT_EQ(RowCodec(RowPrecision::kFp32, 32).payload_bytes(), 128);
  EXPECT_EQ(RowCodec(RowPrecision::kFp16, 32).payload_bytes(), 64);
  EXPECT_EQ(RowCodec(RowPrecision::kInt8, 32).payload_bytes(), 40);
  EXPECT_EQ(RowCodec(RowPrecision::kFp16, 32).words(), 16);
  EXPECT_EQ(RowCodec(RowPrecision::kInt8, 32).words(), 10);
}

TEST(RowCodecTest, PrecisionNames) {
  EXPECT_EQ(*ParseRowPrecision("int8"), RowPrecision::kInt8);
  EXPECT_EQ(*ParseRowPrecision("fp16"), RowPrecision::kFp16);
  EXPECT_EQ(*ParseRowPrecision("fp32"), RowPrecision::kFp32);
  auto bad = ParseRowPrecision("int4");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("'int4'"), std::string::npos) << bad.status();
  EXPECT_STREQ(RowPrecisionName(RowPrecision::kFp16), "fp16");
}

}  // namespace
}  // namespace parasol
