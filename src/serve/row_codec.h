// How a serving table stores one row of `dim` float weights: as is (fp32), as IEEE half floats
// (fp16), or as 8-bit codes with a per-row scale and offset (int8, the row-wise format of
// FBGEMM's Fused8BitRowwise: value = code * scale + offset). Rows are stored in 4-byte words so
// that they fit a SparseTable. Thread-safety: a RowCodec is immutable; Encode and Decode are
// safe from any number of threads.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace parasol {

enum class RowPrecision { kFp32, kFp16, kInt8 };

// "fp32", "fp16" or "int8"; anything else is InvalidArgument naming the value.
absl::StatusOr<RowPrecision> ParseRowPrecision(const std::string& name);
const char* RowPrecisionName(RowPrecision precision);

// The int8 row-wise parameters of a row: codes 0..qmax, value = float(double(code) * scale +
// offset) (one rounding, to float). Chosen so that the row's minimum and maximum decode to
// themselves exactly: offset is one of them (code 0), and scale and qmax (255, or slightly less
// when 255 cannot hit the other end exactly) make code qmax decode to the other. A row of
// equal values gets scale 0.
struct Int8Params {
  float scale = 0;
  float offset = 0;
  int qmax = 255;
};
Int8Params ChooseInt8Params(const float* row, int dim);
inline float DecodeInt8(uint8_t code, float scale, float offset) {
  return static_cast<float>(static_cast<double>(code) * scale + offset);
}

// IEEE binary16 <-> float: float → half rounds to nearest even, saturating at ±65504 (a weight
// beyond fp16's range keeps the largest finite half, not infinity); half → float is exact.
uint16_t FloatToHalf(float value);
float HalfToFloat(uint16_t half);

class RowCodec {
 public:
  RowCodec(RowPrecision precision, int dim);

  RowPrecision precision() const { return precision_; }
  int dim() const { return dim_; }
  // 4-byte words per stored row: dim (fp32), ceil(dim / 2) (fp16), ceil(dim / 4) + 2 (int8:
  // the codes, padded to a word, then scale and offset as floats).
  int words() const { return words_; }
  // Bytes of a stored row before padding to words: 4 dim, 2 dim, dim + 8.
  int payload_bytes() const;

  // Writes row (dim floats) as words() words into out.
  void Encode(const float* row, float* out) const;
  // Writes the dim floats that words (as Encode wrote them) stand for into out.
  void Decode(const float* words, float* out) const;

 private:
  RowPrecision precision_;
  int dim_;
  int words_;
};

}  // namespace parasol
