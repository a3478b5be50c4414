#include "control/auth/tenant_store.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sqlite3.h>

#include <chrono>
#include <filesystem>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/files.h"

namespace parasol::auth {
namespace {

constexpr size_t kKeyBytes = 32, kNonceBytes = 12, kTagBytes = 16;

double Now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string Unhex(const std::string& hex) {
  std::string out;
  if (hex.size() % 2 != 0) return out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    auto d = [](char c) {
      return absl::ascii_isdigit(c) ? c - '0' : absl::ascii_tolower(c) - 'a' + 10;
    };
    if (!absl::ascii_isxdigit(hex[i]) || !absl::ascii_isxdigit(hex[i + 1])) return "";
    out += static_cast<char>(d(hex[i]) * 16 + d(hex[i + 1]));
  }
  return out;
}

// nonce | ciphertext | tag, AES-256-GCM with `aad` bound in.
std::string Seal(const std::string& key, const std::string& plain, const std::string& aad) {
  unsigned char nonce[kNonceBytes];
  RAND_bytes(nonce, sizeof(nonce));
  std::string out(reinterpret_cast<char*>(nonce), kNonceBytes);
  out.resize(kNonceBytes + plain.size() + kTagBytes);
  auto* p = reinterpret_cast<unsigned char*>(out.data());
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  int len = 0;
  EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr,
                     reinterpret_cast<const unsigned char*>(key.data()), nonce);
  EVP_EncryptUpdate(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(aad.data()),
                    static_cast<int>(aad.size()));
  EVP_EncryptUpdate(ctx, p + kNonceBytes, &len,
                    reinterpret_cast<const unsigned char*>(plain.data()),
                    static_cast<int>(plain.size()));
  EVP_EncryptFinal_ex(ctx, p + kNonceBytes + len, &len);
  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, kTagBytes, p + kNonceBytes + plain.size());
  EVP_CIPHER_CTX_free(ctx);
  return out;
}

std::optional<std::string> Unseal(const std::string& key, const std::string& sealed,
                                  const std::string& aad) {
  if (sealed.size() < kNonceBytes + kTagBytes) return std::nullopt;
  const auto* p = reinterpret_cast<const unsigned char*>(sealed.data());
  const size_t n = sealed.size() - kNonceBytes - kTagBytes;
  std::string plain(n, '\0');
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  int len = 0;
  EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr,
                     reinterpret_cast<const unsigned char*>(key.data()), p);
  EVP_DecryptUpdate(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(aad.data()),
                    static_cast<int>(aad.size()));
  EVP_DecryptUpdate(ctx, reinterpret_cast<unsigned char*>(plain.data()), &len, p + kNonceBytes,
                    static_cast<int>(n));
  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, kTagBytes,
                      const_cast<unsigned char*>(p + kNonceBytes + n));
  const bool ok =
      EVP_DecryptFinal_ex(ctx, reinterpret_cast<unsigned char*>(plain.data()) + len, &len) == 1;
  EVP_CIPHER_CTX_free(ctx);
  if (!ok) return std::nullopt;
  return plain;
}

absl::StatusOr<std::string> LoadOrCreateMasterKey(const std::string& path) {
  if (std::filesystem::exists(path)) {
    auto text = ReadFileToString(path);
    if (!text) return absl::UnavailableError("cannot read the master key " + path);
    const std::string key = Unhex(std::string(absl::StripAsciiWhitespace(*text)));
    if (key.size() != kKeyBytes) {
      return absl::DataLossError(path + ": expected a master key of 64 hex digits");
    }
    return key;
  }
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  unsigned char key[kKeyBytes];
  if (RAND_bytes(key, sizeof(key)) != 1) return absl::InternalError("no random bytes for a key");
  const std::string raw(reinterpret_cast<char*>(key), kKeyBytes);
  if (auto st = WriteSecretFile(path, Hex(raw) + "\n"); !st.ok()) return st;
  return raw;
}

bool IsDnsLabel(const std::string& s) {
  if (s.empty() || s.size() > 63 || s.front() == '-' || s.back() == '-') return false;
  for (char c : s) {
    if (!(absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '-')) return false;
  }
  return true;
}

// A prepared statement, finalized on scope exit.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) { sqlite3_prepare_v2(db, sql, -1, &s_, nullptr); }
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt& Bind(int i, const std::string& v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& Bind(int i, double v) {
    sqlite3_bind_double(s_, i, v);
    return *this;
  }
  Stmt& Bind(int i, int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  int Step() { return s_ == nullptr ? SQLITE_ERROR : sqlite3_step(s_); }
  std::string Text(int col) {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, col));
    return p == nullptr ? "" : std::string(p, sqlite3_column_bytes(s_, col));
  }
  double Double(int col) { return sqlite3_column_double(s_, col); }
  int64_t Int(int col) { return sqlite3_column_int64(s_, col); }

 private:
  sqlite3_stmt* s_ = nullptr;
};

absl::Status SqlError(sqlite3* db, const std::string& what) {
  return absl::InternalError(absl::StrCat("tenant store: ", what, ": ", sqlite3_errmsg(db)));
}

Tenant ReadTenant(Stmt& s) {
  Tenant t;
  t.name = s.Text(0);
  t.quota.cpu = s.Double(1);
  t.quota.memory_bytes = s.Int(2);
  t.quota.gpu = s.Int(3);
  t.quota.jobs = s.Int(4);
  t.created_at = s.Double(5);
  return t;
}

}  // namespace

absl::StatusOr<std::unique_ptr<TenantStore>> TenantStore::Open(
    const std::string& db_path, const std::string& master_key_path,
    std::optional<KeyPair>* first_admin_key) {
  auto master = LoadOrCreateMasterKey(master_key_path);
  if (!master.ok()) return master.status();
  sqlite3* db = nullptr;
  if (sqlite3_open(db_path.c_str(), &db) != SQLITE_OK) {
    const std::string why = db != nullptr ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return absl::UnavailableError("cannot open " + db_path + ": " + why);
  }
  std::unique_ptr<TenantStore> store(new TenantStore(db, *std::move(master)));
  if (auto st = store->Exec(
          "PRAGMA journal_mode=WAL;"
          "CREATE TABLE IF NOT EXISTS tenants (name TEXT PRIMARY KEY, cpu REAL, memory INTEGER,"
          " gpu INTEGER, jobs INTEGER, created REAL);"
          "CREATE TABLE IF NOT EXISTS keys (access_key TEXT PRIMARY KEY, tenant TEXT NOT NULL,"
          " sealed_secret BLOB NOT NULL, created REAL, revoked INTEGER NOT NULL DEFAULT 0);");
      !st.ok()) {
    return st;
  }
  first_admin_key->reset();
  std::lock_guard<std::mutex> lock(store->mu_);
  Stmt has(db, "SELECT COUNT(*) FROM tenants WHERE name = ?");
  has.Bind(1, std::string(kAdminTenant));
  if (has.Step() == SQLITE_ROW && has.Int(0) == 0) {
    Stmt add(db, "INSERT INTO tenants VALUES (?, -1, -1, -1, -1, ?)");
    add.Bind(1, std::string(kAdminTenant)).Bind(2, Now());
    if (add.Step() != SQLITE_DONE) return SqlError(db, "creating the admin tenant");
    auto key = store->CreateKeyLocked(kAdminTenant);
    if (!key.ok()) return key.status();
    *first_admin_key = *std::move(key);
  }
  return store;
}

TenantStore::TenantStore(sqlite3* db, std::string master_key)
    : db_(db), master_key_(std::move(master_key)) {}

TenantStore::~TenantStore() { sqlite3_close(db_); }

absl::Status TenantStore::Exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    const std::string why = err != nullptr ? err : "unknown error";
    sqlite3_free(err);
    return absl::InternalError("tenant store: " + why);
  }
  return absl::OkStatus();
}

absl::Status TenantStore::CreateTenant(const std::string& name, const Quota& quota) {
  if (!IsDnsLabel(name)) {
    return absl::InvalidArgumentError(
        "tenant name '" + name.substr(0, 80) +
        "': expected a DNS label (lowercase letters, digits and '-', at most 63)");
  }
  std::lock_guard<std::mutex> lock(mu_);
  Stmt add(db_, "INSERT INTO tenants VALUES (?, ?, ?, ?, ?, ?)");
  add.Bind(1, name).Bind(2, quota.cpu).Bind(3, quota.memory_bytes).Bind(4, quota.gpu);
  add.Bind(5, quota.jobs).Bind(6, Now());
  const int rc = add.Step();
  if (rc == SQLITE_CONSTRAINT) {
    return absl::AlreadyExistsError("a tenant named '" + name + "' exists");
  }
  if (rc != SQLITE_DONE) return SqlError(db_, "creating tenant " + name);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Tenant>> TenantStore::ListTenants() {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt s(db_, "SELECT name, cpu, memory, gpu, jobs, created FROM tenants ORDER BY name");
  std::vector<Tenant> out;
  while (s.Step() == SQLITE_ROW) out.push_back(ReadTenant(s));
  return out;
}

absl::StatusOr<Tenant> TenantStore::GetTenant(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt s(db_, "SELECT name, cpu, memory, gpu, jobs, created FROM tenants WHERE name = ?");
  s.Bind(1, name);
  if (s.Step() != SQLITE_ROW) return absl::NotFoundError("no tenant named '" + name + "'");
  return ReadTenant(s);
}

absl::Status TenantStore::DeleteTenant(const std::string& name) {
  if (name == kAdminTenant) {
    return absl::FailedPreconditionError("the admin tenant cannot be deleted");
  }
  std::lock_guard<std::mutex> lock(mu_);
  Stmt del(db_, "DELETE FROM tenants WHERE name = ?");
  del.Bind(1, name);
  if (del.Step() != SQLITE_DONE) return SqlError(db_, "deleting tenant " + name);
  if (sqlite3_changes(db_) == 0) return absl::NotFoundError("no tenant named '" + name + "'");
  Stmt revoke(db_, "UPDATE keys SET revoked = 1 WHERE tenant = ?");
  revoke.Bind(1, name);
  if (revoke.Step() != SQLITE_DONE) return SqlError(db_, "revoking the keys of " + name);
  return absl::OkStatus();
}

absl::StatusOr<KeyPair> TenantStore::CreateKey(const std::string& tenant) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt has(db_, "SELECT COUNT(*) FROM tenants WHERE name = ?");
  has.Bind(1, tenant);
  if (has.Step() != SQLITE_ROW || has.Int(0) == 0) {
    return absl::NotFoundError("no tenant named '" + tenant + "'");
  }
  return CreateKeyLocked(tenant);
}

absl::StatusOr<KeyPair> TenantStore::CreateKeyLocked(const std::string& tenant) {
  const KeyPair key = GenerateKeyPair();
  Stmt add(db_, "INSERT INTO keys (access_key, tenant, sealed_secret, created) VALUES (?,?,?,?)");
  add.Bind(1, key.access_key).Bind(2, tenant);
  add.Bind(3, Hex(Seal(master_key_, key.secret_key, key.access_key))).Bind(4, Now());
  if (add.Step() != SQLITE_DONE) return SqlError(db_, "creating a key of " + tenant);
  return key;
}

absl::Status TenantStore::RevokeKey(const std::string& access_key) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt revoke(db_, "UPDATE keys SET revoked = 1 WHERE access_key = ? AND revoked = 0");
  revoke.Bind(1, access_key);
  if (revoke.Step() != SQLITE_DONE) return SqlError(db_, "revoking " + access_key);
  if (sqlite3_changes(db_) == 0) {
    return absl::NotFoundError("no live access key '" + access_key.substr(0, 64) + "'");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<KeyInfo>> TenantStore::ListKeys(const std::string& tenant) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt s(db_,
         "SELECT access_key, tenant, created FROM keys WHERE revoked = 0 AND (? = '' OR tenant = ?)"
         " ORDER BY created");
  s.Bind(1, tenant).Bind(2, tenant);
  std::vector<KeyInfo> out;
  while (s.Step() == SQLITE_ROW) out.push_back({s.Text(0), s.Text(1), s.Double(2)});
  return out;
}

absl::StatusOr<std::string> TenantStore::SecretFor(const std::string& access_key) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt s(db_, "SELECT sealed_secret FROM keys WHERE access_key = ? AND revoked = 0");
  s.Bind(1, access_key);
  if (s.Step() != SQLITE_ROW) return absl::NotFoundError("unknown or revoked access key");
  auto secret = Unseal(master_key_, Unhex(s.Text(0)), access_key);
  if (!secret) {
    return absl::DataLossError("the secret of access key '" + access_key +
                               "' does not decrypt with this master key (--master-key)");
  }
  return *secret;
}

absl::StatusOr<Caller> TenantStore::CallerFor(const std::string& access_key) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt s(db_, "SELECT tenant FROM keys WHERE access_key = ? AND revoked = 0");
  s.Bind(1, access_key);
  if (s.Step() != SQLITE_ROW) return absl::NotFoundError("unknown or revoked access key");
  Caller c;
  c.tenant = s.Text(0);
  c.access_key = access_key;
  c.admin = c.tenant == kAdminTenant;
  return c;
}

}  // namespace parasol::auth
