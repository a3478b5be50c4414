// Who sent a request: the SigV4 verifier (verifier.h) over the tenant store's live keys, giving
// the tenant and key that signed it. Thread-safe.
#pragma once

#include <cstdint>

#include "absl/status/statusor.h"
#include "control/auth/tenant_store.h"
#include "control/auth/verifier.h"

namespace parasol::auth {

class Authenticator {
 public:
  Authenticator(TenantStore& tenants, VerifierOptions options);

  // The caller that signed `request` at `now`; the verifier's 401/403 statuses otherwise.
  absl::StatusOr<Caller> Authenticate(const HttpRequestParts& request, int64_t now);

  TenantStore& tenants() { return tenants_; }
  const VerifierOptions& options() const { return verifier_.options(); }

 private:
  TenantStore& tenants_;
  SigV4Verifier verifier_;
};

}  // namespace parasol::auth
