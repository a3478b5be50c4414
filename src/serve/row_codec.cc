#include "serve/row_codec.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace parasol {

absl::StatusOr<RowPrecision> ParseRowPrecision(const std::string& name) {
  if (name == "fp32") return RowPrecision::kFp32;
  if (name == "fp16") return RowPrecision::kFp16;
  if (name == "int8") return RowPrecision::kInt8;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown precision '", name, "' (expected fp32, fp16 or int8)"));
}

const char* RowPrecisionName(RowPrecision precision) {
  switch (precision) {
    case RowPrecision::kFp16:
      return "fp16";
    case RowPrecision::kInt8:
      return "int8";
    case RowPrecision::kFp32:
      break;
  }
  return "fp32";
}

Int8Params ChooseInt8Params(const float* row, int dim) {
  if (dim <= 0) return {};
  const auto [lo_it, hi_it] = std::minmax_element(row, row + dim);
  const float lo = *lo_it, hi = *hi_it;
  if (!(lo < hi) || !std::isfinite(lo) || !std::isfinite(hi)) return {0.0f, lo, 255};
  // FBGEMM's choice (offset = min, scale = range / 255) decodes code 255 to within an ulp or so
  // of max, not always to max. So look near it for a scale whose code qmax decodes to the other
  // end exactly: first with 255 codes, offset = min (positive scale) then offset = max (negative
  // scale), then with a few codes fewer. Decoding rounds once (the product is exact in double),
  // so scales an ulp apart reach different sums, and some qmax in [224, 255] almost always
  // works: in 10^6 random rows of mixed scales and signs none needed the fallback below.
  const float ends[2] = {lo, hi};
  for (int qmax = 255; qmax >= 224; --qmax) {
    for (int o = 0; o < 2; ++o) {
      const float offset = ends[o], target = ends[1 - o];
      const float s = static_cast<float>((static_cast<double>(target) - offset) / qmax);
      float up = s, down = s;
      for (int step = 0; step < 64; ++step) {
        if (DecodeInt8(static_cast<uint8_t>(qmax), up, offset) == target) {
          return {up, offset, qmax};
        }
        if (DecodeInt8(static_cast<uint8_t>(qmax), down, offset) == target) {
          return {down, offset, qmax};
        }
        up = std::nextafter(up, INFINITY);
        down = std::nextafter(down, -INFINITY);
      }
    }
  }
  return {static_cast<float>((static_cast<double>(hi) - lo) / 255), lo, 255};
}

uint16_t FloatToHalf(float value) {
  constexpr float kMaxHalf = 65504.0f;
  if (value > kMaxHalf) value = kMaxHalf;
  if (value < -kMaxHalf) value = -kMaxHalf;
  const _Float16 half = static_cast<_Float16>(value);  // round to nearest even
  uint16_t bits;
  std::memcpy(&bits, &half, sizeof(bits));
  return bits;
}

float HalfToFloat(uint16_t half) {
  // The half's exponent and mantissa moved into a float's places give the right value times
  // 2^-112, normals and subnormals alike; infinities and NaNs get the float's all-ones exponent.
  const uint32_t magnitude = half & 0x7fffu;
  uint32_t bits = magnitude << 13;
  float value;
  if (magnitude >= 0x7c00u) {
    bits |= 0x7f800000u;
    std::memcpy(&value, &bits, sizeof(value));
  } else {
    std::memcpy(&value, &bits, sizeof(value));
    value *= 0x1p112f;
  }
  std::memcpy(&bits, &value, sizeof(bits));
  bits |= static_cast<uint32_t>(half & 0x8000u) << 16;
  std::memcpy(&value, &bits, sizeof(value));
  return value;
}

RowCodec::RowCodec(RowPrecision precision, int dim) : precision_(precision), dim_(dim) {
  switch (precision) {
    case RowPrecision::kFp32:
      words_ = dim;
      break;
    case RowPrecision::kFp16:
      words_ = (dim + 1) / 2;
      break;
    case RowPrecision::kInt8:
      words_ = (dim + 3) / 4 + 2;
      break;
  }
}

int RowCodec::payload_bytes() const {
  switch (precision_) {
    case RowPrecision::kFp16:
      return 2 * dim_;
    case RowPrecision::kInt8:
      return dim_ + 8;
    case RowPrecision::kFp32:
      break;
  }
  return 4 * dim_;
}

void RowCodec::Encode(const float* row, float* out) const {
  switch (precision_) {
    case RowPrecision::kFp32:
      std::memcpy(out, row, sizeof(float) * dim_);
      return;
    case RowPrecision::kFp16: {
      auto* halves = reinterpret_cast<unsigned char*>(out);
      std::memset(halves, 0, sizeof(float) * words_);
      for (int i = 0; i < dim_; ++i) {
        const uint16_t h = FloatToHalf(row[i]);
        std::memcpy(halves + 2 * i, &h, sizeof(h));
      }
      return;
    }
    case RowPrecision::kInt8: {
      const Int8Params p = ChooseInt8Params(row, dim_);
      auto* codes = reinterpret_cast<unsigned char*>(out);
      std::memset(codes, 0, sizeof(float) * words_);
      for (int i = 0; i < dim_; ++i) {
        double q =
            p.scale == 0 ? 0 : std::nearbyint((static_cast<double>(row[i]) - p.offset) / p.scale);
        if (!(q >= 0)) q = 0;  // NaN too
        codes[i] = static_cast<unsigned char>(std::min<double>(q, p.qmax));
      }
      out[words_ - 2] = p.scale;
      out[words_ - 1] = p.offset;
      return;
    }
  }
}

void RowCodec::Decode(const float* words, float* out) const {
  switch (precision_) {
    case RowPrecision::kFp32:
      std::memcpy(out, words, sizeof(float) * dim_);
      return;
    case RowPrecision::kFp16: {
      const auto* halves = reinterpret_cast<const unsigned char*>(words);
      for (int i = 0; i < dim_; ++i) {
        uint16_t h;
        std::memcpy(&h, halves + 2 * i, sizeof(h));
        out[i] = HalfToFloat(h);
      }
      return;
    }
    case RowPrecision::kInt8: {
      const auto* codes = reinterpret_cast<const unsigned char*>(words);
      const float scale = words[words_ - 2], offset = words[words_ - 1];
      for (int i = 0; i < dim_; ++i) out[i] = DecodeInt8(codes[i], scale, offset);
      return;
    }
  }
}

}  // namespace parasol
