// Tenants, their quotas and their access keys, in SQLite (DIR/auth.db). A key's secret is needed
// in plain text to check a SigV4 signature, so it is stored encrypted: AES-256-GCM under a
// master key kept in a separate 0600 file outside the state directory (`--master-key`), with
// the access key id as associated data; a copied state directory alone reveals no secret. The
// tenant "admin" is created on first open with one key and may manage tenants and keys.
// Thread-safe.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "control/auth/credentials.h"
#include "control/auth/quota.h"

struct sqlite3;

namespace parasol::auth {

inline constexpr char kAdminTenant[] = "admin";

struct Tenant {
  std::string name;
  Quota quota;
  double created_at = 0;
};

struct KeyInfo {
  std::string access_key;
  std::string tenant;
  double created_at = 0;
};

// Who signed a request.
struct Caller {
  std::string tenant;
  std::string access_key;
  bool admin = false;
};

class TenantStore {
 public:
  // Opens (creating) the database at `db_path` and the master key at `master_key_path` (32
  // random bytes, hex, written 0600 when missing). `first_admin_key` receives the admin key when
  // this open created it (the only time its secret exists outside the encrypted store), else
  // nullopt.
  static absl::StatusOr<std::unique_ptr<TenantStore>> Open(const std::string& db_path,
                                                           const std::string& master_key_path,
                                                           std::optional<KeyPair>* first_admin_key);
  ~TenantStore();

  // `name`: a DNS label ([a-z0-9-], at most 63), InvalidArgument otherwise; AlreadyExists.
  absl::Status CreateTenant(const std::string& name, const Quota& quota);
  absl::StatusOr<std::vector<Tenant>> ListTenants();
  absl::StatusOr<Tenant> GetTenant(const std::string& name);  // NotFound
  // Removes the tenant and revokes its keys; FailedPrecondition for "admin".
  absl::Status DeleteTenant(const std::string& name);

  // A new key of `tenant` (NotFound when there is no such tenant).
  absl::StatusOr<KeyPair> CreateKey(const std::string& tenant);
  // NotFound when the key is unknown or already revoked.
  absl::Status RevokeKey(const std::string& access_key);
  absl::StatusOr<std::vector<KeyInfo>> ListKeys(const std::string& tenant);

  // The decrypted secret of a live key; NotFound when unknown or revoked; DataLoss when it does
  // not decrypt (another master key).
  absl::StatusOr<std::string> SecretFor(const std::string& access_key);
  // The caller a live key stands for; NotFound when unknown or revoked.
  absl::StatusOr<Caller> CallerFor(const std::string& access_key);

 private:
  TenantStore(sqlite3* db, std::string master_key);
  absl::StatusOr<KeyPair> CreateKeyLocked(const std::string& tenant);
  absl::Status Exec(const std::string& sql);

  sqlite3* db_;
  const std::string master_key_;  // 32 raw bytes
  std::mutex mu_;
};

}  // namespace parasol::auth
