// Value parsing shared by the config reader (boundaries), the plan (positive labels) and the
// encoder's hot loop (labels, numeric columns). Inline so the encoder compiles them into its
// loop, as it did when everything sat in one file. Pure functions; thread-safe.
#pragma once

#include <cfloat>
#include <cmath>
#include <string_view>
#include <system_error>

#include "absl/strings/ascii.h"
#include "absl/strings/charconv.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace parasol::transform {

// Debian's Abseil is built with its own absl::string_view (not an alias of std::string_view),
// so values cross into absl::strings functions through Av().
inline absl::string_view Av(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// absl::StripAsciiWhitespace for std::string_view.
inline std::string_view Strip(std::string_view s) {
  while (!s.empty() && absl::ascii_isspace(static_cast<unsigned char>(s.front()))) {
    s.remove_prefix(1);
  }
  while (!s.empty() && absl::ascii_isspace(static_cast<unsigned char>(s.back()))) {
    s.remove_suffix(1);
  }
  return s;
}

// 'value', for error messages.
inline std::string Quoted(std::string_view s) { return absl::StrCat("'", Av(s), "'"); }

enum class NumberParse { kOk, kMissing, kBad, kOutOfRange };

// Empty, "?", or NA, N/A, NaN, NULL in any case.
inline bool IsMissingToken(std::string_view s) {
  const absl::string_view a = Av(s);
  return a.empty() || a == "?" || absl::EqualsIgnoreCase(a, "NA") ||
         absl::EqualsIgnoreCase(a, "N/A") || absl::EqualsIgnoreCase(a, "NaN") ||
         absl::EqualsIgnoreCase(a, "NULL");
}

// Parses a whole (already stripped) value as a finite double within float range. On kOk stores
// the number in *x; on kOutOfRange *x holds what was parsed (possibly infinite).
inline NumberParse ParseNumber(std::string_view s, double* x) {
  const char* begin = s.data();
  const char* const end = begin + s.size();
  if (begin != end && *begin == '+') ++begin;  // absl::from_chars never matches '+'.
  if (begin != end && (*begin == '+' || *begin == '-') && begin != s.data()) {
    return NumberParse::kBad;  // "+-1", "++1"
  }
  const absl::from_chars_result r = absl::from_chars(begin, end, *x);
  if (r.ptr == end && r.ec == std::errc() && std::isfinite(*x)) {
    return std::fabs(*x) <= FLT_MAX ? NumberParse::kOk : NumberParse::kOutOfRange;
  }
  if (IsMissingToken(s)) return NumberParse::kMissing;
  if (r.ptr == end && r.ec == std::errc::result_out_of_range) return NumberParse::kOutOfRange;
  return NumberParse::kBad;
}

}  // namespace parasol::transform
