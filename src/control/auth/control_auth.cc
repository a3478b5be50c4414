#include "control/auth/control_auth.h"

#include <cstdlib>

#include "control/auth/credentials.h"

namespace parasol::auth {

absl::StatusOr<ControlAuth> OpenControlAuth(const std::string& state_dir,
                                            const std::string& master_key,
                                            const std::string& region) {
  std::string key_file = master_key;
  const char* home = std::getenv("HOME");
  if (key_file.empty() && home != nullptr && *home != '\0') {
    key_file = std::string(home) + "/.parasol/control-master.key";
  }
  if (key_file.empty()) {
    return absl::InvalidArgumentError("--auth needs --master-key FILE (no $HOME)");
  }
  ControlAuth out;
  std::optional<KeyPair> admin;
  auto tenants = TenantStore::Open(state_dir + "/auth.db", key_file, &admin);
  if (!tenants.ok()) return tenants.status();
  out.tenants = *std::move(tenants);
  out.admin_credentials_path = state_dir + "/admin.credentials";
  if (admin) {
    if (auto st = WriteSecretFile(out.admin_credentials_path, FormatCredentials(*admin));
        !st.ok()) {
      return st;
    }
    out.new_admin_key = admin->access_key;
  }
  auto audit = AuditLog::Open(state_dir + "/audit.log");
  if (!audit.ok()) return audit.status();
  out.audit = *std::move(audit);
  VerifierOptions options;
  options.region = region;
  out.authenticator = std::make_unique<Authenticator>(*out.tenants, options);
  return out;
}

}  // namespace parasol::auth
