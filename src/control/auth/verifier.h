// Checks a SigV4-signed request (sigv4.h) the way the control service does: the Authorization
// header and X-Amz-Date are present and well formed, the scope names this service and region,
// host and x-amz-date are signed, the time is within the allowed clock skew, the key is known,
// the body matches its X-Amz-Content-Sha256 when sent, the signature matches (constant-time
// compare), and the signature has not been seen before (a bounded replay cache). Failures are
// Unauthenticated (401: not signed, malformed, expired) or PermissionDenied (403: unknown key,
// wrong signature, changed body, replay), with a message naming what failed and never a secret.
// Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <unordered_set>

#include "absl/status/statusor.h"
#include "control/auth/sigv4.h"

namespace parasol::auth {

struct VerifierOptions {
  std::string region = "local";
  std::string service = kService;
  int64_t max_skew_seconds = 15 * 60;
  // Signatures remembered for replay detection (each until its time leaves the skew window).
  // When full, the one that expires first is forgotten.
  size_t replay_capacity = 100000;
};

class SigV4Verifier {
 public:
  // `secret_for(access_key)`: the key's secret, NotFound when the key is unknown or revoked.
  using SecretLookup = std::function<absl::StatusOr<std::string>(const std::string&)>;
  SigV4Verifier(VerifierOptions options, SecretLookup secret_for);

  // The access key that signed `request`, checked at `now` (seconds since the epoch).
  absl::StatusOr<std::string> Verify(const HttpRequestParts& request, int64_t now);

  const VerifierOptions& options() const { return options_; }

 private:
  // False when `signature` was seen (a replay); otherwise remembers it until `expires`.
  bool Remember(const std::string& signature, int64_t expires, int64_t now);

  const VerifierOptions options_;
  const SecretLookup secret_for_;
  std::mutex mu_;
  std::unordered_set<std::string> seen_;          // guarded by mu_
  std::multimap<int64_t, std::string> expiries_;  // guarded by mu_; expiry → signature
};

}  // namespace parasol::auth
