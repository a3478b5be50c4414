// The REST routes of tenants, keys, quotas and the audit log (http_api.h lists them), on the
// tenant store and audit log of control/auth/. Part of ControlHttpServer.
#include <httplib.h>

#include <nlohmann/json.hpp>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/config_reader.h"
#include "control/auth/audit_log.h"
#include "control/auth/authenticator.h"
#include "control/http_api.h"
#include "control/http_reply.h"

namespace parasol::control {
namespace {

using nlohmann::ordered_json;

ordered_json Limit(double v) { return v < 0 ? ordered_json(nullptr) : ordered_json(v); }
ordered_json Limit(int64_t v) { return v < 0 ? ordered_json(nullptr) : ordered_json(v); }

ordered_json TenantJson(const auth::Tenant& t, const auth::Usage& used) {
  ordered_json j;
  j["name"] = t.name;
  j["quota"] = {{"cpu", Limit(t.quota.cpu)},
                {"memoryBytes", Limit(t.quota.memory_bytes)},
                {"gpu", Limit(t.quota.gpu)},
                {"jobs", Limit(t.quota.jobs)}};
  j["usage"] = {{"cpu", used.cpu},
                {"memoryBytes", used.memory_bytes},
                {"gpu", used.gpu},
                {"jobs", used.jobs}};
  j["createdAt"] = t.created_at;
  return j;
}

std::string KeyJson(const std::string& tenant, const auth::KeyPair& key) {
  ordered_json j;
  j["tenant"] = tenant;
  j["accessKeyId"] = key.access_key;
  j["secretAccessKey"] = key.secret_key;
  return j.dump();
}

// {"name": "team-a", "quota": {"cpu": "4", "memory": "8Gi", "gpu": 1, "jobs": 3}}; quota keys
// absent or null: no limit.
absl::Status ReadTenantRequest(const std::string& body, std::string* name, auth::Quota* quota) {
  const auto j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return absl::InvalidArgumentError("request body: expected JSON");
  return config::ReadJson(j, "request body", [&](const config::Node& root) {
    const config::Map m = root.AsMap();
    *name = m.Get<std::string>("name");
    if (auto q = m.Find("quota")) {
      const config::Map qm = q->AsMap();
      if (auto v = qm.Find("cpu"); v && !v->IsNull()) quota->cpu = ReadCpuQuantity(*v);
      if (auto v = qm.Find("memory"); v && !v->IsNull()) {
        quota->memory_bytes = ReadMemoryQuantity(*v);
      }
      if (auto v = qm.Find("gpu"); v && !v->IsNull()) {
        quota->gpu = v->As<int64_t>();
        if (quota->gpu < 0) v->Fail("expected a whole number >= 0");
      }
      if (auto v = qm.Find("jobs"); v && !v->IsNull()) {
        quota->jobs = v->As<int64_t>();
        if (quota->jobs < 0) v->Fail("expected a whole number >= 0");
      }
    }
  });
}

absl::Status RequireAdmin(const auth::Caller& caller) {
  if (caller.admin) return absl::OkStatus();
  return absl::PermissionDeniedError("only the admin may manage tenants and keys (tenant '" +
                                     caller.tenant + "' may not)");
}

}  // namespace

void ControlHttpServer::AddAuthRoutes() {
  httplib::Server& s = *server_;
  auth::Authenticator* authn = security_.authenticator;
  const absl::Status off = absl::FailedPreconditionError(
      "authentication is off: tenants, keys, quotas and the audit log need 'parasol control "
      "--auth'");
  s.Post("/api/v1/tenants",
         Authed("tenant.create", [this, authn, off](const httplib::Request& req,
                                                    httplib::Response& res, RequestContext& ctx) {
           if (authn == nullptr) return SendError(res, off);
           if (auto st = RequireAdmin(ctx.caller); !st.ok()) return SendError(res, st);
           std::string name;
           auth::Quota quota;
           if (auto st = ReadTenantRequest(req.body, &name, &quota); !st.ok()) {
             return SendError(res, st);
           }
           ctx.target = name;
           if (auto st = authn->tenants().CreateTenant(name, quota); !st.ok()) {
             return SendError(res, st);
           }
           auto key = authn->tenants().CreateKey(name);
           if (!key.ok()) return SendError(res, key.status());
           auto tenant = authn->tenants().GetTenant(name);
           if (!tenant.ok()) return SendError(res, tenant.status());
           ordered_json j = ordered_json::parse(KeyJson(name, *key));
           j["quota"] = TenantJson(*tenant, {})["quota"];
           SendJson(res, 201, j.dump());
         }));
  s.Get("/api/v1/tenants",
        Authed("tenant.list", [this, authn, off](const httplib::Request&, httplib::Response& res,
                                                 RequestContext& ctx) {
          if (authn == nullptr) return SendError(res, off);
          if (auto st = RequireAdmin(ctx.caller); !st.ok()) return SendError(res, st);
          auto tenants = authn->tenants().ListTenants();
          if (!tenants.ok()) return SendError(res, tenants.status());
          ordered_json list = ordered_json::array();
          for (const auth::Tenant& t : *tenants) {
            list.push_back(TenantJson(t, service_.UsageOf(t.name)));
          }
          SendJson(res, 200, ordered_json{{"tenants", list}}.dump());
        }));
  s.Delete(R"(/api/v1/tenants/([^/]+))",
           Authed("tenant.delete", [authn, off](const httplib::Request& req, httplib::Response& res,
                                                RequestContext& ctx) {
             if (authn == nullptr) return SendError(res, off);
             if (auto st = RequireAdmin(ctx.caller); !st.ok()) return SendError(res, st);
             if (auto st = authn->tenants().DeleteTenant(req.matches[1]); !st.ok()) {
               return SendError(res, st);
             }
             SendJson(res, 200, "{\"deleted\":true}");
           }));
  s.Post(R"(/api/v1/tenants/([^/]+)/keys)",
         Authed("key.create", [authn, off](const httplib::Request& req, httplib::Response& res,
                                           RequestContext& ctx) {
           if (authn == nullptr) return SendError(res, off);
           if (auto st = RequireAdmin(ctx.caller); !st.ok()) return SendError(res, st);
           auto key = authn->tenants().CreateKey(req.matches[1]);
           if (!key.ok()) return SendError(res, key.status());
           ctx.target = absl::StrCat(std::string(req.matches[1]), "/", key->access_key);
           SendJson(res, 201, KeyJson(req.matches[1], *key));
         }));
  s.Delete(R"(/api/v1/keys/([^/]+))",
           Authed("key.revoke", [authn, off](const httplib::Request& req, httplib::Response& res,
                                             RequestContext& ctx) {
             if (authn == nullptr) return SendError(res, off);
             if (auto st = RequireAdmin(ctx.caller); !st.ok()) return SendError(res, st);
             if (auto st = authn->tenants().RevokeKey(req.matches[1]); !st.ok()) {
               return SendError(res, st);
             }
             SendJson(res, 200, "{\"revoked\":true}");
           }));
  s.Get("/api/v1/quota",
        Authed("quota.show", [this, authn, off](const httplib::Request& req, httplib::Response& res,
                                                RequestContext& ctx) {
          if (authn == nullptr) return SendError(res, off);
          std::string name = ctx.caller.tenant;
          if (req.has_param("tenant") && req.get_param_value("tenant") != name) {
            if (!ctx.caller.admin) {
              return SendError(res, absl::PermissionDeniedError(
                                        "a tenant sees its own quota only (leave out ?tenant=)"));
            }
            name = req.get_param_value("tenant");
          }
          auto tenant = authn->tenants().GetTenant(name);
          if (!tenant.ok()) return SendError(res, tenant.status());
          SendJson(res, 200, TenantJson(*tenant, service_.UsageOf(name)).dump());
        }));
  s.Get("/api/v1/audit",
        Authed("audit.read", [this, off](const httplib::Request& req, httplib::Response& res,
                                         RequestContext& ctx) {
          if (security_.audit == nullptr) return SendError(res, off);
          std::string tenant = ctx.caller.admin ? "" : ctx.caller.tenant;
          if (ctx.caller.admin && req.has_param("tenant")) tenant = req.get_param_value("tenant");
          size_t limit = 100;
          if (req.has_param("limit") && !absl::SimpleAtoi(req.get_param_value("limit"), &limit)) {
            return SendError(res, absl::InvalidArgumentError("limit: expected a count"));
          }
          auto entries = security_.audit->Read(tenant, limit);
          if (!entries.ok()) return SendError(res, entries.status());
          std::string out = "{\"entries\":[";
          for (size_t i = 0; i < entries->size(); ++i) {
            if (i > 0) out += ",";
            out += auth::AuditEntryToJson((*entries)[i]);
          }
          SendJson(res, 200, out + "]}");
        }));
}

}  // namespace parasol::control
