#include "control/auth/verifier.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace parasol::auth {
namespace {

// The value of header `name` (lowercase); empty with *found false when absent.
std::string Header(const HttpRequestParts& r, absl::string_view name, bool* found) {
  *found = false;
  for (const auto& [n, v] : r.headers) {
    if (absl::AsciiStrToLower(n) == name) {
      *found = true;
      return v;
    }
  }
  return "";
}

}  // namespace

SigV4Verifier::SigV4Verifier(VerifierOptions options, SecretLookup secret_for)
    : options_(std::move(options)), secret_for_(std::move(secret_for)) {}

absl::StatusOr<std::string> SigV4Verifier::Verify(const HttpRequestParts& request, int64_t now) {
  bool found = false;
  const std::string header = Header(request, "authorization", &found);
  if (!found) {
    return absl::UnauthenticatedError(absl::StrCat(
        "the request is not signed: no Authorization header (sign it with AWS Signature Version "
        "4, region '",
        options_.region, "', service '", options_.service, "')"));
  }
  auto auth = ParseAuthorization(header);
  if (!auth.ok()) return auth.status();
  const std::string amz_date = Header(request, "x-amz-date", &found);
  if (!found) return absl::UnauthenticatedError("X-Amz-Date header missing");
  auto when = ParseAmzDate(amz_date);
  if (!when.ok()) return absl::UnauthenticatedError(when.status().message());
  if (auth->date != amz_date.substr(0, 8)) {
    return absl::UnauthenticatedError(absl::StrCat("Credential: the scope's date ", auth->date,
                                                   " is not the day of X-Amz-Date ", amz_date));
  }
  if (auth->service != options_.service) {
    return absl::UnauthenticatedError(
        absl::StrCat("Credential: service '", auth->service, "' is not '", options_.service, "'"));
  }
  if (auth->region != options_.region) {
    return absl::UnauthenticatedError(absl::StrCat("Credential: region '", auth->region,
                                                   "' is not this service's region '",
                                                   options_.region, "'"));
  }
  for (const char* required : {"host", "x-amz-date"}) {
    if (std::find(auth->signed_headers.begin(), auth->signed_headers.end(), required) ==
        auth->signed_headers.end()) {
      return absl::UnauthenticatedError(
          absl::StrCat("SignedHeaders must include '", required, "'"));
    }
  }
  const int64_t skew = *when - now;
  if (std::llabs(skew) > options_.max_skew_seconds) {
    return absl::UnauthenticatedError(
        absl::StrCat("X-Amz-Date ", amz_date, " is ", std::llabs(skew), " s in the ",
                     skew < 0 ? "past" : "future", "; at most ", options_.max_skew_seconds,
                     " s of clock skew are allowed (expired or future request)"));
  }
  auto secret = secret_for_(auth->access_key);
  if (!secret.ok()) {
    if (!absl::IsNotFound(secret.status())) return secret.status();
    return absl::PermissionDeniedError("unknown or revoked access key '" +
                                       auth->access_key.substr(0, 64) + "'");
  }
  const std::string payload_hash = Sha256Hex(request.body);
  const std::string sent_hash = Header(request, "x-amz-content-sha256", &found);
  if (found && sent_hash != payload_hash) {
    return absl::PermissionDeniedError(
        "X-Amz-Content-Sha256 does not match the SHA-256 of the request body (the body was "
        "changed or truncated)");
  }
  auto canonical = CanonicalRequest(request, auth->signed_headers, payload_hash);
  if (!canonical.ok()) return absl::UnauthenticatedError(canonical.status().message());
  const std::string expected =
      Hex(HmacSha256(SigningKey(*secret, auth->date, auth->region, auth->service),
                     StringToSign(amz_date, auth->scope(), *canonical)));
  if (CRYPTO_memcmp(expected.data(), auth->signature.data(), expected.size()) != 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("the signature does not match for access key '", auth->access_key,
                     "' (check the secret key, region '", options_.region, "', service '",
                     options_.service, "', and that the request was not changed on the way)"));
  }
  if (!Remember(auth->signature, *when + options_.max_skew_seconds, now)) {
    return absl::PermissionDeniedError(
        "replayed request: this signature was already used (sign each request anew)");
  }
  return auth->access_key;
}

bool SigV4Verifier::Remember(const std::string& signature, int64_t expires, int64_t now) {
  std::lock_guard<std::mutex> lock(mu_);
  while (!expiries_.empty() && expiries_.begin()->first < now) {
    seen_.erase(expiries_.begin()->second);
    expiries_.erase(expiries_.begin());
  }
  if (seen_.count(signature) > 0) return false;
  while (!expiries_.empty() && seen_.size() >= options_.replay_capacity) {
    seen_.erase(expiries_.begin()->second);
    expiries_.erase(expiries_.begin());
  }
  seen_.insert(signature);
  expiries_.emplace(expires, signature);
  return true;
}

}  // namespace parasol::auth
