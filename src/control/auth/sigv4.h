// AWS Signature Version 4 (header form), written from AWS's published description: the canonical
// request (method, URI-encoded path, sorted canonical query, lowercase trimmed headers, signed
// header list, payload hash), the string to sign (AWS4-HMAC-SHA256, X-Amz-Date, scope
// DATE/REGION/SERVICE/aws4_request, hash of the canonical request) and the HMAC-SHA256 key chain
// date → region → service → "aws4_request". Used by the control service to verify callers and by
// `parasol` commands to sign. Pure functions (OpenSSL hashes); thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace parasol::auth {

inline constexpr char kSigV4Algorithm[] = "AWS4-HMAC-SHA256";
inline constexpr char kService[] = "parasol";

// One HTTP request as the signature sees it. `path` is the path as sent on the wire
// (percent-encoded), `query` the raw text after '?' (may be empty); header names in any case.
struct HttpRequestParts {
  std::string method;
  std::string path;
  std::string query;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// Lowercase hex of SHA-256(data) / of HMAC-SHA256(key, data) (the raw 32 bytes for Hmac).
std::string Sha256Hex(absl::string_view data);
std::string HmacSha256(absl::string_view key, absl::string_view data);
std::string Hex(absl::string_view bytes);

// RFC 3986 percent-encoding as SigV4 wants it: unreserved A-Z a-z 0-9 - _ . ~ kept, every other
// byte %XX in uppercase hex; '/' kept when `keep_slash`.
std::string UriEncode(absl::string_view s, bool keep_slash);
// Percent-decoding ('+' stays '+'); a malformed %XX is kept as written.
std::string UriDecode(absl::string_view s);

// The signing key: HMAC chain "AWS4"+secret → date (YYYYMMDD) → region → service →
// "aws4_request" (32 raw bytes).
std::string SigningKey(absl::string_view secret, absl::string_view date, absl::string_view region,
                       absl::string_view service);

// The canonical request over `signed_headers` (lowercase names; each must be present in
// `request`, else InvalidArgument naming it). The path is decoded then encoded once per segment
// (so "/a%20b" and "/a b" mean the same), empty → "/"; query parameters are decoded, re-encoded
// and sorted by name then value; header values are trimmed with inner runs of spaces collapsed,
// several values of one name joined by ','. `payload_hash` is the hex SHA-256 of the body.
absl::StatusOr<std::string> CanonicalRequest(const HttpRequestParts& request,
                                             const std::vector<std::string>& signed_headers,
                                             absl::string_view payload_hash);

// "AWS4-HMAC-SHA256\n" AMZ_DATE "\n" SCOPE "\n" hex(SHA-256(canonical_request)).
std::string StringToSign(absl::string_view amz_date, absl::string_view scope,
                         absl::string_view canonical_request);

// What an Authorization header of the form
// "AWS4-HMAC-SHA256 Credential=AK/DATE/REGION/SERVICE/aws4_request, SignedHeaders=a;b,
// Signature=HEX" holds.
struct Authorization {
  std::string access_key;
  std::string date;  // YYYYMMDD of the scope
  std::string region;
  std::string service;
  std::vector<std::string> signed_headers;  // as listed (lowercase, sorted by the signer)
  std::string signature;                    // 64 lowercase hex digits
  std::string scope() const;                // DATE/REGION/SERVICE/aws4_request
};
// Unauthenticated naming the part at fault (never echoing more than the header's own text).
absl::StatusOr<Authorization> ParseAuthorization(absl::string_view header);

// "YYYYMMDDTHHMMSSZ" ↔ seconds since the epoch (UTC). InvalidArgument for any other form.
absl::StatusOr<int64_t> ParseAmzDate(absl::string_view amz_date);
std::string FormatAmzDate(int64_t unix_seconds);

struct SigningCredentials {
  std::string access_key;
  std::string secret_key;
  std::string region = "local";
  std::string service = kService;
};

// Signs `request` at time `now` (seconds since the epoch): adds X-Amz-Date,
// X-Amz-Content-Sha256 and Authorization headers, signing every header the request has (a Host
// header is required: the server checks what the client connected to). InvalidArgument when
// Host is missing.
absl::Status SignRequest(HttpRequestParts& request, const SigningCredentials& credentials,
                         int64_t now);

}  // namespace parasol::auth
