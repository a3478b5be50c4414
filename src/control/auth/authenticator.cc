#include "control/auth/authenticator.h"

namespace parasol::auth {

Authenticator::Authenticator(TenantStore& tenants, VerifierOptions options)
    : tenants_(tenants), verifier_(std::move(options), [this](const std::string& key) {
        return tenants_.SecretFor(key);
      }) {}

absl::StatusOr<Caller> Authenticator::Authenticate(const HttpRequestParts& request, int64_t now) {
  auto key = verifier_.Verify(request, now);
  if (!key.ok()) return key.status();
  auto caller = tenants_.CallerFor(*key);
  if (!caller.ok()) {  // revoked between the two reads
    return absl::PermissionDeniedError("unknown or revoked access key '" + *key + "'");
  }
  return caller;
}

}  // namespace parasol::auth
