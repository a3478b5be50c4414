#include "cli/tenant_command.h"

#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/exit_codes.h"
#include "cli/job_command.h"
#include "control/auth/credentials.h"
#include "control/auth/quota.h"

namespace parasol {
namespace {

int FailStatus(const absl::Status& st) {
  return Fail(absl::IsInvalidArgument(st) ? kExitUsage : kExitRuntime, st);
}

void PrintKey(const control::NewKeyView& key) {
  std::printf("# tenant %s: the secret is shown once; save it as ~/.parasol/credentials\n%s",
              key.tenant.c_str(),
              auth::FormatCredentials({key.access_key, key.secret_key}).c_str());
}

std::string Limited(const std::string& used, bool unlimited, const std::string& limit) {
  return unlimited ? used + " / -" : used + " / " + limit;
}

std::vector<std::string> QuotaRow(const control::TenantView& t) {
  return {t.name,
          Limited(absl::StrFormat("%g", t.cpu_used), t.cpu_limit < 0,
                  absl::StrFormat("%g", t.cpu_limit)),
          Limited(auth::FormatBytes(t.memory_used), t.memory_limit < 0,
                  auth::FormatBytes(t.memory_limit)),
          Limited(absl::StrCat(t.gpu_used), t.gpu_limit < 0, absl::StrCat(t.gpu_limit)),
          Limited(absl::StrCat(t.jobs_used), t.jobs_limit < 0, absl::StrCat(t.jobs_limit))};
}

const std::vector<std::string> kQuotaHeader = {"TENANT", "CPU", "MEMORY", "GPU", "JOBS"};

int CreateTenant(control::ControlClient& c, const TenantFlags& f) {
  nlohmann::json quota = nlohmann::json::object();
  if (!f.cpu.empty()) quota["cpu"] = f.cpu;
  if (!f.memory.empty()) quota["memory"] = f.memory;
  if (f.gpu >= 0) quota["gpu"] = f.gpu;
  if (f.jobs >= 0) quota["jobs"] = f.jobs;
  auto key = c.CreateTenant(f.name, quota);
  if (!key.ok()) return FailStatus(key.status());
  PrintKey(*key);
  return kExitOk;
}

int ListTenants(control::ControlClient& c, const TenantFlags& f) {
  auto list = c.ListTenants();
  if (!list.ok()) return FailStatus(list.status());
  if (f.json) {
    std::printf("%s\n", list->json.dump().c_str());
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows = {kQuotaHeader};
  rows[0].push_back("(used / quota)");
  for (const auto& t : list->tenants) rows.push_back(QuotaRow(t));
  PrintTable(rows, "");
  return kExitOk;
}

int ShowQuota(control::ControlClient& c, const TenantFlags& f) {
  auto quota = c.Quota(f.tenant);
  if (!quota.ok()) return FailStatus(quota.status());
  if (f.json) {
    std::printf("%s\n", quota->json.dump().c_str());
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows = {{"RESOURCE", "USED", "QUOTA"}};
  const std::vector<std::string> row = QuotaRow(*quota);
  for (size_t i = 1; i < row.size(); ++i) {
    const size_t slash = row[i].find(" / ");
    std::string limit = row[i].substr(slash + 3);
    rows.push_back({absl::AsciiStrToLower(kQuotaHeader[i]), row[i].substr(0, slash),
                    limit == "-" ? "no limit" : limit});
  }
  std::printf("tenant %s\n", quota->name.c_str());
  PrintTable(rows, "  ");
  return kExitOk;
}

int ShowAudit(control::ControlClient& c, const TenantFlags& f) {
  auto audit = c.Audit(f.tenant, f.limit);
  if (!audit.ok()) return FailStatus(audit.status());
  if (f.json) {
    std::printf("%s\n", audit->json.dump().c_str());
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows = {
      {"TIME", "TENANT", "KEY", "ACTION", "TARGET", "RESULT", "MESSAGE"}};
  for (const auto& e : audit->entries) {
    const std::time_t t = static_cast<std::time_t>(e.time);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char when[32];
    std::strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    rows.push_back({when, e.tenant.empty() ? "-" : e.tenant,
                    e.access_key.empty() ? "-" : e.access_key, e.action,
                    e.target.empty() ? "-" : e.target, absl::StrCat(e.result), e.message});
  }
  PrintTable(rows, "");
  return kExitOk;
}

}  // namespace

void AddTenantCommands(CLI::App& app, TenantFlags& f) {
  const std::string endpoint_help = "Control service URL (default $PARASOL_ENDPOINT)";
  auto* tenant = app.add_subcommand("tenant", "Manage tenants (admin; control --auth)");
  tenant->add_option("--endpoint", f.endpoint, endpoint_help);
  tenant->require_subcommand(1);
  auto* create = tenant->add_subcommand(
      "create", "Create a tenant with quotas and print its first key (credentials format)");
  create->add_option("name", f.name, "Tenant name (a DNS label)")->required();
  create->add_option("--cpu", f.cpu, "Cores its unfinished jobs may reserve (default: no limit)");
  create->add_option("--memory", f.memory, "Memory they may reserve, e.g. 8Gi (default: no limit)");
  create->add_option("--gpu", f.gpu, "GPUs they may reserve (default: no limit)");
  create->add_option("--jobs", f.jobs, "Unfinished jobs at once (default: no limit)");
  auto* list = tenant->add_subcommand("list", "List tenants with their quota and usage");
  list->add_flag("--json", f.json, "Print as JSON");
  auto* del = tenant->add_subcommand("delete", "Delete a tenant and revoke its keys");
  del->add_option("name", f.name, "Tenant name")->required();

  auto* key = app.add_subcommand("key", "Manage access keys (admin; control --auth)");
  key->add_option("--endpoint", f.endpoint, endpoint_help);
  key->require_subcommand(1);
  auto* key_create =
      key->add_subcommand("create", "Create a key for a tenant (printed once, credentials format)");
  key_create->add_option("--tenant", f.tenant, "Tenant the key belongs to")->required();
  auto* revoke = key->add_subcommand("revoke", "Revoke an access key");
  revoke->add_option("access_key", f.name, "Access key id")->required();

  auto* quota = app.add_subcommand("quota", "Show your quota and usage (control --auth)");
  quota->add_option("--endpoint", f.endpoint, endpoint_help);
  quota->require_subcommand(1);
  auto* show = quota->add_subcommand("show", "Your tenant's quota and what its jobs use");
  show->add_option("--tenant", f.tenant, "Another tenant's (admin only)");
  show->add_flag("--json", f.json, "Print as JSON");

  auto* audit = app.add_subcommand(
      "audit", "Print the audit log: changes and refused requests (yours; the admin's: all)");
  audit->add_option("--endpoint", f.endpoint, endpoint_help);
  audit->add_option("--tenant", f.tenant, "Only this tenant's entries (admin)");
  audit->add_option("--limit", f.limit, "The newest N entries (default 100; 0: all)");
  audit->add_flag("--json", f.json, "Print as JSON");
  for (auto* sub : {create, list, del, key_create, revoke, show}) sub->fallthrough();
}

int RunTenant(const CLI::App& app, const TenantFlags& f) {
  const char* commands[] = {"tenant", "key", "quota", "audit"};
  const CLI::App* cmd = nullptr;
  for (const char* name : commands) {
    if (app.got_subcommand(name)) cmd = app.get_subcommand(name);
  }
  if (cmd == nullptr) return -1;
  auto client = ConnectControl(f.endpoint);
  if (!client.ok()) return Fail(kExitUsage, client.status());
  control::ControlClient& c = **client;
  const std::string name = cmd->get_name();
  if (name == "audit") return ShowAudit(c, f);
  if (name == "quota") return ShowQuota(c, f);
  if (name == "tenant" && cmd->got_subcommand("create")) return CreateTenant(c, f);
  if (name == "tenant" && cmd->got_subcommand("list")) return ListTenants(c, f);
  if (name == "tenant" && cmd->got_subcommand("delete")) {
    auto gone = c.DeleteTenant(f.name);
    if (!gone.ok()) return FailStatus(gone.status());
    std::printf("tenant %s deleted; its keys are revoked\n", f.name.c_str());
    return kExitOk;
  }
  if (name == "key" && cmd->got_subcommand("create")) {
    auto key = c.CreateKey(f.tenant);
    if (!key.ok()) return FailStatus(key.status());
    PrintKey(*key);
    return kExitOk;
  }
  if (name == "key" && cmd->got_subcommand("revoke")) {
    auto revoked = c.RevokeKey(f.name);
    if (!revoked.ok()) return FailStatus(revoked.status());
    std::printf("key %s revoked\n", f.name.c_str());
    return kExitOk;
  }
  return kExitUsage;
}

}  // namespace parasol
