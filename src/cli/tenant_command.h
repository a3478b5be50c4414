// `parasol tenant create|list|delete`, `parasol key create|revoke`, `parasol quota show` and
// `parasol audit`: the control service's tenants, access keys, quotas and audit log
// (control --auth), through control/control_client.h, signed like `parasol job`. Registered by
// commands.cc; single-threaded.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

namespace parasol {

struct TenantFlags {
  std::string endpoint;  // --endpoint, else $PARASOL_ENDPOINT, else the default
  std::string name;      // tenant create/delete NAME, key revoke ACCESS_KEY
  std::string tenant;    // key create --tenant, quota show --tenant, audit --tenant
  std::string cpu, memory;
  int64_t gpu = -1, jobs = -1;
  int64_t limit = 100;  // audit --limit
  bool json = false;
};

// Adds the `tenant`, `key`, `quota` and `audit` commands; RunTenant runs whichever was given
// (-1: none of them).
void AddTenantCommands(CLI::App& app, TenantFlags& flags);
int RunTenant(const CLI::App& app, const TenantFlags& flags);

}  // namespace parasol
