#include "control/auth/sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace parasol::auth {

std::string Hex(absl::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

std::string Sha256Hex(absl::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  return Hex(absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

std::string HmacSha256(absl::string_view key, absl::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest, &len);
  return std::string(reinterpret_cast<const char*>(digest), len);
}

std::string UriEncode(absl::string_view s, bool keep_slash) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
        (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kDigits[c >> 4];
      out += kDigits[c & 15];
    }
  }
  return out;
}

std::string UriDecode(absl::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    int hi, lo;
    auto digit = [](char c) {
      return absl::ascii_isxdigit(c) ? (absl::ascii_isdigit(c) ? c - '0' : (c | 0x20) - 'a' + 10)
                                     : -1;
    };
    if (s[i] == '%' && i + 2 < s.size() && (hi = digit(s[i + 1])) >= 0 &&
        (lo = digit(s[i + 2])) >= 0) {
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string SigningKey(absl::string_view secret, absl::string_view date, absl::string_view region,
                       absl::string_view service) {
  std::string key = HmacSha256(absl::StrCat("AWS4", secret), date);
  key = HmacSha256(key, region);
  key = HmacSha256(key, service);
  return HmacSha256(key, "aws4_request");
}

namespace {

// Trims and collapses runs of spaces, as SigV4's canonical header values want.
std::string CanonicalValue(absl::string_view v) {
  std::string out;
  bool space = false;
  for (char c : absl::StripAsciiWhitespace(v)) {
    if (c == ' ' || c == '\t') {
      space = true;
      continue;
    }
    if (space && !out.empty()) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

std::string CanonicalQuery(absl::string_view query) {
  std::vector<std::pair<std::string, std::string>> params;
  for (absl::string_view part : absl::StrSplit(query, '&', absl::SkipEmpty())) {
    const size_t eq = part.find('=');
    const absl::string_view name = part.substr(0, eq);
    const absl::string_view value = eq == absl::string_view::npos ? "" : part.substr(eq + 1);
    params.emplace_back(UriEncode(UriDecode(name), false), UriEncode(UriDecode(value), false));
  }
  std::sort(params.begin(), params.end());
  std::vector<std::string> joined;
  joined.reserve(params.size());
  for (const auto& [name, value] : params) joined.push_back(name + "=" + value);
  return absl::StrJoin(joined, "&");
}

}  // namespace

absl::StatusOr<std::string> CanonicalRequest(const HttpRequestParts& request,
                                             const std::vector<std::string>& signed_headers,
                                             absl::string_view payload_hash) {
  std::map<std::string, std::vector<std::string>> headers;
  for (const auto& [name, value] : request.headers) {
    headers[absl::AsciiStrToLower(name)].push_back(CanonicalValue(value));
  }
  std::string canonical_headers;
  for (const std::string& name : signed_headers) {
    auto it = headers.find(name);
    if (it == headers.end()) {
      return absl::InvalidArgumentError("signed header '" + name + "' is not in the request");
    }
    absl::StrAppend(&canonical_headers, name, ":", absl::StrJoin(it->second, ","), "\n");
  }
  const std::string path = request.path.empty() ? "/" : UriEncode(UriDecode(request.path), true);
  return absl::StrCat(request.method, "\n", path, "\n", CanonicalQuery(request.query), "\n",
                      canonical_headers, "\n", absl::StrJoin(signed_headers, ";"), "\n",
                      payload_hash);
}

std::string StringToSign(absl::string_view amz_date, absl::string_view scope,
                         absl::string_view canonical_request) {
  return absl::StrCat(kSigV4Algorithm, "\n", amz_date, "\n", scope, "\n",
                      Sha256Hex(canonical_request));
}

std::string Authorization::scope() const {
  return absl::StrCat(date, "/", region, "/", service, "/aws4_request");
}

absl::StatusOr<Authorization> ParseAuthorization(absl::string_view header) {
  auto fail = [](absl::string_view what) {
    return absl::UnauthenticatedError(absl::StrCat("Authorization header: ", what));
  };
  absl::string_view rest = absl::StripAsciiWhitespace(header);
  if (!absl::ConsumePrefix(&rest, kSigV4Algorithm) || rest.empty() || rest.front() != ' ') {
    return fail(absl::StrCat("expected the algorithm ", kSigV4Algorithm));
  }
  Authorization auth;
  std::string credential;
  bool have_headers = false;
  for (absl::string_view part : absl::StrSplit(rest, ',')) {
    part = absl::StripAsciiWhitespace(part);
    const size_t eq = part.find('=');
    if (eq == absl::string_view::npos) return fail("expected KEY=VALUE parts");
    const absl::string_view key = part.substr(0, eq);
    const absl::string_view value = part.substr(eq + 1);
    if (key == "Credential") {
      credential = std::string(value);
    } else if (key == "SignedHeaders") {
      auth.signed_headers = absl::StrSplit(value, ';', absl::SkipEmpty());
      have_headers = true;
    } else if (key == "Signature") {
      auth.signature = std::string(value);
    } else {
      return fail("unknown part '" + std::string(key.substr(0, 40)) + "'");
    }
  }
  std::vector<std::string> scope = absl::StrSplit(credential, '/');
  if (scope.size() != 5 || scope[0].empty() || scope[4] != "aws4_request") {
    return fail("Credential: expected ACCESS_KEY/YYYYMMDD/REGION/SERVICE/aws4_request");
  }
  if (scope[1].size() != 8 || !std::all_of(scope[1].begin(), scope[1].end(), ::isdigit)) {
    return fail("Credential: the scope's date is not YYYYMMDD");
  }
  auth.access_key = scope[0];
  auth.date = scope[1];
  auth.region = scope[2];
  auth.service = scope[3];
  if (!have_headers || auth.signed_headers.empty()) return fail("SignedHeaders missing");
  for (const std::string& h : auth.signed_headers) {
    if (h != absl::AsciiStrToLower(h)) return fail("SignedHeaders must be lowercase");
  }
  if (auth.signature.size() != 64 ||
      !std::all_of(auth.signature.begin(), auth.signature.end(),
                   [](char c) { return absl::ascii_isdigit(c) || (c >= 'a' && c <= 'f'); })) {
    return fail("Signature: expected 64 lowercase hex digits");
  }
  return auth;
}

absl::StatusOr<int64_t> ParseAmzDate(absl::string_view s) {
  auto bad = [&] {
    return absl::InvalidArgumentError("X-Amz-Date: expected YYYYMMDDTHHMMSSZ, got '" +
                                      std::string(s.substr(0, 32)) + "'");
  };
  if (s.size() != 16 || s[8] != 'T' || s[15] != 'Z') return bad();
  int year, month, day, hour, minute, second;
  if (!absl::SimpleAtoi(s.substr(0, 4), &year) || !absl::SimpleAtoi(s.substr(4, 2), &month) ||
      !absl::SimpleAtoi(s.substr(6, 2), &day) || !absl::SimpleAtoi(s.substr(9, 2), &hour) ||
      !absl::SimpleAtoi(s.substr(11, 2), &minute) || !absl::SimpleAtoi(s.substr(13, 2), &second) ||
      month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60 ||
      year < 1970 || !std::all_of(s.begin(), s.begin() + 8, ::isdigit)) {
    return bad();
  }
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  return static_cast<int64_t>(timegm(&tm));
}

std::string FormatAmzDate(int64_t unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

absl::Status SignRequest(HttpRequestParts& request, const SigningCredentials& credentials,
                         int64_t now) {
  const std::string amz_date = FormatAmzDate(now);
  const std::string payload_hash = Sha256Hex(request.body);
  request.headers.emplace_back("X-Amz-Date", amz_date);
  request.headers.emplace_back("X-Amz-Content-Sha256", payload_hash);
  std::vector<std::string> names;
  for (const auto& [name, value] : request.headers) names.push_back(absl::AsciiStrToLower(name));
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  if (!std::binary_search(names.begin(), names.end(), "host")) {
    return absl::InvalidArgumentError("a signed request needs a Host header");
  }
  auto canonical = CanonicalRequest(request, names, payload_hash);
  if (!canonical.ok()) return canonical.status();
  const std::string date = amz_date.substr(0, 8);
  const std::string scope =
      absl::StrCat(date, "/", credentials.region, "/", credentials.service, "/aws4_request");
  const std::string signature = Hex(
      HmacSha256(SigningKey(credentials.secret_key, date, credentials.region, credentials.service),
                 StringToSign(amz_date, scope, *canonical)));
  request.headers.emplace_back(
      "Authorization",
      absl::StrCat(kSigV4Algorithm, " Credential=", credentials.access_key, "/", scope,
                   ", SignedHeaders=", absl::StrJoin(names, ";"), ", Signature=", signature));
  return absl::OkStatus();
}

}  // namespace parasol::auth
