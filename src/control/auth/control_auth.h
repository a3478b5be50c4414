// What `parasol control --auth` runs with, opened from its state folder in one call: the tenant
// store (STATE/auth.db, secrets sealed under the master key), the audit log (STATE/audit.log)
// and the authenticator over them. On the first start the admin's key is created and written to
// STATE/admin.credentials (mode 0600, AWS credentials format).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "control/auth/audit_log.h"
#include "control/auth/authenticator.h"
#include "control/auth/tenant_store.h"

namespace parasol::auth {

struct ControlAuth {
  std::unique_ptr<TenantStore> tenants;
  std::unique_ptr<AuditLog> audit;
  std::unique_ptr<Authenticator> authenticator;  // over *tenants
  // Set on the first start: the admin's access key and the file its credentials went to.
  std::optional<std::string> new_admin_key;
  std::string admin_credentials_path;
};

// `master_key`: the master key file; empty means $HOME/.parasol/control-master.key
// (InvalidArgument naming --master-key when there is no $HOME). The errors of TenantStore::Open,
// WriteSecretFile and AuditLog::Open otherwise.
absl::StatusOr<ControlAuth> OpenControlAuth(const std::string& state_dir,
                                            const std::string& master_key,
                                            const std::string& region);

}  // namespace parasol::auth
