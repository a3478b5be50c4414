// libsvm / libffm line parsing. A hot path: one pass over the bytes, no allocation unless the
// line is malformed, integers parsed inline, value "1" (the common case) special-cased.
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/hash.h"
#include "data/line_parsers.h"
#include "data/reader.h"

namespace parasol {
namespace {

// Character classes for the token scanner.
enum : uint8_t { kOther = 0, kSpace = 1, kColon = 2 };

constexpr auto kCharClass = [] {
  std::array<uint8_t, 256> t{};
  t[static_cast<uint8_t>(' ')] = kSpace;
  t[static_cast<uint8_t>('\t')] = kSpace;
  t[static_cast<uint8_t>('\r')] = kSpace;
  t[static_cast<uint8_t>('\n')] = kSpace;
  t[static_cast<uint8_t>('\v')] = kSpace;
  t[static_cast<uint8_t>('\f')] = kSpace;
  t[static_cast<uint8_t>(':')] = kColon;
  return t;
}();

inline bool IsSpace(char c) { return kCharClass[static_cast<uint8_t>(c)] == kSpace; }

// Parses a decimal integer that spans all of [b, e). False on anything else (sign, overflow).
inline bool ParseUint(const char* b, const char* e, uint64_t* out) {
  const ptrdiff_t n = e - b;
  if (n <= 0) return false;
  if (n > 19) {  // may overflow: let from_chars check
    auto r = std::from_chars(b, e, *out);
    return r.ec == std::errc() && r.ptr == e;
  }
  uint64_t v = 0;
  for (; b < e; ++b) {
    const unsigned d = static_cast<unsigned char>(*b) - '0';
    if (d > 9) return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

// Parses a finite float spanning all of [b, e); a leading '+' is allowed.
inline bool ParseFloat(const char* b, const char* e, float* out) {
  if (e - b == 1 && *b == '1') {
    *out = 1.0f;
    return true;
  }
  if (b < e && *b == '+') ++b;
  if (b == e) return false;
  auto r = std::from_chars(b, e, *out);
  return r.ec == std::errc() && r.ptr == e && std::isfinite(*out);
}

// 'token' for messages (absl here has its own string_view, so std::string_view is appended by
// hand); long tokens are cut.
std::string Quote(std::string_view token) {
  constexpr size_t kMax = 64;
  std::string out = "'";
  out.append(token.substr(0, kMax));
  if (token.size() > kMax) out += "...";
  out += "'";
  return out;
}

bool LabelError(std::string_view token, LineError* error) {
  error->kind = "bad label";
  error->message = absl::StrCat(
      "bad label ", Quote(token), ": expected 0/1 or -1/+1 (also 1.0, -1.0, ...)",
      token.find(':') != std::string_view::npos ? "; the line starts with a feature, not a label"
                                                : "");
  return false;
}

bool FeatureError(std::string_view token, std::string_view why, LineError* error) {
  error->kind = "bad feature";
  error->message = absl::StrCat("bad feature ", Quote(token), ": ", std::string(why));
  return false;
}

bool RawLabelError(std::string_view token, LineError* error) {
  error->kind = "bad label";
  error->message = absl::StrCat("bad label ", Quote(token), ": expected a finite number",
                                token.find(':') != std::string_view::npos
                                    ? "; the line starts with a feature, not a label"
                                    : "");
  return false;
}

// Label token → the finite number as written (raw_labels).
inline bool ParseRawLabel(const char* b, const char* e, float* label, LineError* error) {
  if (!ParseFloat(b, e, label)) return RawLabelError({b, size_t(e - b)}, error);
  return true;
}

// Label token → 1 or 0.
inline bool ParseLabel(const char* b, const char* e, float* label, LineError* error) {
  const ptrdiff_t n = e - b;
  if (n == 1) {
    if (*b == '1') {
      *label = 1.0f;
      return true;
    }
    if (*b == '0') {
      *label = 0.0f;
      return true;
    }
  } else if (n == 2 && b[1] == '1' && (b[0] == '+' || b[0] == '-')) {
    *label = b[0] == '+' ? 1.0f : 0.0f;
    return true;
  }
  const char* p = b;
  if (p < e && *p == '+') ++p;
  double v = 0;
  auto r = std::from_chars(p, e, v);
  if (p == e || r.ec != std::errc() || r.ptr != e) return LabelError({b, size_t(n)}, error);
  if (v == 1.0) {
    *label = 1.0f;
  } else if (v == 0.0 || v == -1.0) {
    *label = 0.0f;
  } else {
    return LabelError({b, size_t(n)}, error);
  }
  return true;
}

}  // namespace

bool IsBlankLibsvmLine(std::string_view line) {
  for (char c : line) {
    if (c == '#') return true;
    if (!IsSpace(c)) return false;
  }
  return true;
}

namespace {

// The parser proper; kRawIds is a template argument so that the hashing path pays nothing for
// the option.
template <bool kRawIds>
bool ParseLibsvmImpl(std::string_view line, const LibsvmOptions& options, ExampleBlock* out,
                     LineError* error) {
  const LibsvmLabel label_mode = options.label_mode;
  const int hash_bits = options.hash_bits;
  const char* p = line.data();
  const char* end = p + line.size();
  if (const void* hash = std::memchr(p, '#', line.size())) end = static_cast<const char*>(hash);

  float label = 0.0f;
  if (label_mode != LibsvmLabel::kAbsent) {
    while (p < end && IsSpace(*p)) ++p;
    const char* e = p;
    bool colon = false;
    for (; e < end; ++e) {
      const uint8_t cls = kCharClass[static_cast<uint8_t>(*e)];
      if (cls == kSpace) break;
      colon |= cls == kColon;
    }
    if (p == e) {
      error->kind = "bad label";
      error->message = "bad label '': the line has no label";
      return false;
    }
    if (!colon || label_mode == LibsvmLabel::kRequired) {
      if (options.raw_labels ? !ParseRawLabel(p, e, &label, error)
                             : !ParseLabel(p, e, &label, error)) {
        return false;
      }
      p = e;
    }  // else the line has no label: the token is read as a feature below
  }

  while (true) {
    while (p < end && IsSpace(*p)) ++p;
    if (p == end) break;
    // Fast path for the most common token, "idx:1" with idx of at most 19 digits.
    {
      const char* q = p;
      const char* const digits_end = end - p > 19 ? p + 19 : end;
      uint64_t id = 0;
      for (; q < digits_end; ++q) {
        const unsigned d = static_cast<unsigned char>(*q) - '0';
        if (d > 9) break;
        id = id * 10 + d;
      }
      if (q != p && end - q >= 2 && q[0] == ':' && q[1] == '1' && (end - q == 2 || IsSpace(q[2]))) {
        out->AddFeature(kRawIds ? id : MaskKey(FeatureKey(0u, id), hash_bits), 0, 1.0f);
        p = q + 2;
        continue;
      }
    }
    // Any token: [p, e) with its first two colons at c1 and c2 (nullptr when absent).
    const char* c1 = nullptr;
    const char* c2 = nullptr;
    bool extra_colon = false;
    const char* e = p;
    for (; e < end; ++e) {
      const uint8_t cls = kCharClass[static_cast<uint8_t>(*e)];
      if (cls == kOther) continue;
      if (cls == kSpace) break;
      if (c1 == nullptr) {
        c1 = e;
      } else if (c2 == nullptr) {
        c2 = e;
      } else {
        extra_colon = true;
      }
    }
    const std::string_view token(p, static_cast<size_t>(e - p));
    if (c1 == nullptr || extra_colon) {
      out->AbandonExample();
      return FeatureError(token, "expected idx:value or field:idx:value", error);
    }
    uint64_t field = 0;
    uint64_t id;
    const char* value_begin;
    if (c2 == nullptr) {
      if (!ParseUint(p, c1, &id)) {
        out->AbandonExample();
        return FeatureError(token, "index is not a non-negative integer", error);
      }
      value_begin = c1 + 1;
    } else {
      if (!ParseUint(p, c1, &field) || field > std::numeric_limits<uint32_t>::max()) {
        out->AbandonExample();
        return FeatureError(token, "field is not an integer in [0, 2^32)", error);
      }
      if (!ParseUint(c1 + 1, c2, &id)) {
        out->AbandonExample();
        return FeatureError(token, "index is not a non-negative integer", error);
      }
      value_begin = c2 + 1;
    }
    float value;
    if (!ParseFloat(value_begin, e, &value)) {
      out->AbandonExample();
      return FeatureError(token, "value is not a finite number", error);
    }
    const uint32_t f = static_cast<uint32_t>(field);
    out->AddFeature(kRawIds ? id : MaskKey(FeatureKey(f, id), hash_bits), f, value);
    p = e;
  }
  out->FinishExample(label);
  return true;
}

}  // namespace

bool ParseLibsvm(std::string_view line, const LibsvmOptions& options, ExampleBlock* out,
                 LineError* error) {
  return options.raw_feature_ids ? ParseLibsvmImpl<true>(line, options, out, error)
                                 : ParseLibsvmImpl<false>(line, options, out, error);
}

absl::Status ParseLibsvmLine(std::string_view line, bool has_label, int hash_bits,
                             ExampleBlock* out) {
  if (hash_bits < 0 || hash_bits > 63) {
    return absl::InvalidArgumentError(
        absl::StrCat("hash_bits must be in [0, 63], got ", hash_bits));
  }
  LineError error;
  LibsvmOptions options;
  options.label_mode = has_label ? LibsvmLabel::kRequired : LibsvmLabel::kAbsent;
  options.hash_bits = hash_bits;
  if (!ParseLibsvm(line, options, out, &error)) {
    return absl::InvalidArgumentError(error.message);
  }
  return absl::OkStatus();
}

}  // namespace parasol
