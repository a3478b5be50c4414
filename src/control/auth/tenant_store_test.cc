// Tenants, keys, encrypted secrets, credentials files, quotas and the audit log, on real files
// and a real SQLite database in a temporary directory.
#include "control/auth/tenant_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "control/auth/audit_log.h"
#include "control/auth/credentials.h"
#include "control/auth/quota.h"

namespace parasol::auth {
namespace {

namespace fs = std::filesystem;

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class TenantStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("tenant_store_" +
            std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "_" +
            std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "state");
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::unique_ptr<TenantStore> OpenStore(const std::string& master = "master.key",
                                         std::optional<KeyPair>* admin = nullptr) {
    std::optional<KeyPair> ignored;
    auto store = TenantStore::Open((dir_ / "state/auth.db").string(), (dir_ / master).string(),
                                   admin != nullptr ? admin : &ignored);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }
  fs::path dir_;
};

TEST_F(TenantStoreTest, AdminKeyIsCreatedOnceAndSecretsAreEncrypted) {
  std::optional<KeyPair> admin;
  auto store = OpenStore("master.key", &admin);
  ASSERT_TRUE(admin.has_value());
  EXPECT_EQ(admin->access_key.size(), 20u);
  EXPECT_EQ(admin->secret_key.size(), 40u);
  struct stat st;
  ASSERT_EQ(stat((dir_ / "master.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  auto caller = store->CallerFor(admin->access_key);
  ASSERT_TRUE(caller.ok());
  EXPECT_TRUE(caller->admin);
  ASSERT_TRUE(store->CreateTenant("team-a", Quota{4, 1 << 30, 0, 2}).ok());
  auto key = store->CreateKey("team-a");
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(*store->SecretFor(key->access_key), key->secret_key);
  EXPECT_EQ(store->CallerFor(key->access_key)->tenant, "team-a");
  EXPECT_FALSE(store->CallerFor(key->access_key)->admin);
  store.reset();

  // Nothing in the state directory holds a secret in plain text.
  for (const auto& f : fs::directory_iterator(dir_ / "state")) {
    const std::string bytes = Slurp(f.path());
    EXPECT_EQ(bytes.find(key->secret_key), std::string::npos) << f.path();
    EXPECT_EQ(bytes.find(admin->secret_key), std::string::npos) << f.path();
  }
  // Reopened: no second admin key; the secrets still decrypt.
  std::optional<KeyPair> again;
  store = OpenStore("master.key", &again);
  EXPECT_FALSE(again.has_value());
  EXPECT_EQ(*store->SecretFor(key->access_key), key->secret_key);
  store.reset();
  // A copied state directory with another master key cannot decrypt them.
  store = OpenStore("other.key");
  auto secret = store->SecretFor(key->access_key);
  EXPECT_EQ(secret.status().code(), absl::StatusCode::kDataLoss) << secret.status();
}

TEST_F(TenantStoreTest, TenantsAndKeysLifecycle) {
  auto store = OpenStore();
  EXPECT_EQ(store->CreateTenant("Bad_Name", {}).code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(store->CreateTenant("team-b", {}).ok());
  EXPECT_EQ(store->CreateTenant("team-b", {}).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(store->CreateKey("nobody").status().code(), absl::StatusCode::kNotFound);
  auto k1 = store->CreateKey("team-b");
  auto k2 = store->CreateKey("team-b");
  ASSERT_TRUE(k1.ok() && k2.ok());
  EXPECT_NE(k1->access_key, k2->access_key);
  EXPECT_EQ(store->ListKeys("team-b")->size(), 2u);
  ASSERT_TRUE(store->RevokeKey(k1->access_key).ok());
  EXPECT_EQ(store->SecretFor(k1->access_key).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store->RevokeKey(k1->access_key).code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(store->DeleteTenant("team-b").ok());
  EXPECT_EQ(store->SecretFor(k2->access_key).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store->DeleteTenant("team-b").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store->DeleteTenant(kAdminTenant).code(), absl::StatusCode::kFailedPrecondition);
  auto tenants = store->ListTenants();
  ASSERT_TRUE(tenants.ok());
  ASSERT_EQ(tenants->size(), 1u);
  EXPECT_EQ((*tenants)[0].name, kAdminTenant);
}

TEST(CredentialsTest, FormatParsesBackAndSecretFilesAreOwnerOnly) {
  const KeyPair key = GenerateKeyPair();
  const std::string text = FormatCredentials(key);
  EXPECT_EQ(text.rfind("[default]\naws_access_key_id = PK", 0), 0u) << text;
  auto parsed = ParseCredentials(
      "# comment\n[other]\naws_access_key_id = x\n" + text + "region = eu-1\n", "creds");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->access_key, key.access_key);
  EXPECT_EQ(parsed->secret_key, key.secret_key);
  EXPECT_EQ(parsed->region, "eu-1");
  EXPECT_EQ(ParseCredentials("[x]\n", "f").status().code(), absl::StatusCode::kNotFound);
  auto bad = ParseCredentials("[default]\nnot a pair\n", "f");
  EXPECT_EQ(bad.status().message(), "f:2: expected KEY = VALUE");

  const std::string path = ::testing::TempDir() + "/creds_" + std::to_string(getpid());
  std::remove(path.c_str());
  ASSERT_TRUE(WriteSecretFile(path, text).ok());
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(WriteSecretFile(path, "x").code(), absl::StatusCode::kAlreadyExists);
  std::remove(path.c_str());

  auto env = ResolveCredentials("AK", "SK", "r1", "/nonexistent");
  ASSERT_TRUE(env.ok() && env->has_value());
  EXPECT_EQ((*env)->region, "r1");
  EXPECT_FALSE(ResolveCredentials("AK", nullptr, nullptr, nullptr).ok());
  auto none = ResolveCredentials(nullptr, nullptr, nullptr, "/nonexistent");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TEST(QuotaTest, BoundariesAndMessages) {
  const Quota q{8, int64_t{4} << 30, 1, 2};
  EXPECT_TRUE(CheckQuota("t", q, Usage{4, 1 << 30, 0, 1}, Usage{4, 1 << 30, 1, 1}).ok());
  auto cpu = CheckQuota("t", q, Usage{6, 0, 0, 1}, Usage{4, 1 << 30, 0, 1});
  EXPECT_EQ(cpu.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(cpu.message(),
            "tenant 't': quota exceeded for cpu: the job asks 4 cpu, 6 in use by the tenant's "
            "unfinished jobs, the quota is 8 cpu (see 'parasol quota show')");
  auto jobs = CheckQuota("t", q, Usage{0, 0, 0, 2}, Usage{1, 1, 0, 1});
  EXPECT_NE(jobs.message().find("jobs: the job asks 1 job, 2 in use"), std::string::npos) << jobs;
  auto mem = CheckQuota("t", q, Usage{0, int64_t{3} << 30, 0, 0}, Usage{1, int64_t{2} << 30, 0, 1});
  EXPECT_NE(mem.message().find("memory: the job asks 2Gi, 3Gi in use"), std::string::npos) << mem;
  auto gpu = CheckQuota("t", q, Usage{0, 0, 1, 0}, Usage{1, 1, 1, 1});
  EXPECT_NE(gpu.message().find("gpu: the job asks 1 gpu, 1 in use"), std::string::npos) << gpu;
  auto unstated = CheckQuota("t", q, Usage{}, Usage{0, 1, 0, 1});
  EXPECT_EQ(unstated.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(unstated.message().find("must state resources.cpu"), std::string::npos);
  EXPECT_TRUE(CheckQuota("t", Quota{}, Usage{100, 1, 9, 99}, Usage{}).ok());  // no limits
}

TEST(AuditLogTest, AppendsAndReadsBackPerTenant) {
  const std::string path = ::testing::TempDir() + "/audit_" + std::to_string(getpid());
  std::remove(path.c_str());
  {
    auto log = AuditLog::Open(path);
    ASSERT_TRUE(log.ok());
    ASSERT_TRUE((*log)->Append({1, "a", "PKA", "job.submit", "j1", 201, ""}).ok());
    ASSERT_TRUE((*log)->Append({2, "b", "PKB", "job.get", "j1", 404, "no job named 'j1'"}).ok());
  }
  std::ofstream(path, std::ios::app) << "{torn";
  auto log = AuditLog::Open(path);
  ASSERT_TRUE((*log)->Append({3, "a", "PKA", "job.stop", "j1", 200, ""}).ok());
  auto all = (*log)->Read("", 0);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);  // the torn line is skipped, the next entry kept
  auto mine = (*log)->Read("a", 0);
  ASSERT_EQ(mine->size(), 2u);
  EXPECT_EQ((*mine)[0].action, "job.submit");
  EXPECT_EQ((*mine)[1].action, "job.stop");
  EXPECT_EQ((*log)->Read("", 1)->back().action, "job.stop");
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace parasol::auth
