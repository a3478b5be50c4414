#include "control/http_api.h"

#include <arpa/inet.h>
#include <httplib.h>

#include <ctime>
#include <nlohmann/json.hpp>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "control/auth/audit_log.h"
#include "control/auth/authenticator.h"
#include "control/http_reply.h"
#include "control/web_assets.h"

namespace parasol::control {
namespace {

std::string RecordsJson(const std::vector<JobRecord>& jobs) {
  std::string out = "{\"jobs\":[";
  for (size_t i = 0; i < jobs.size(); ++i) {
    if (i > 0) out += ",";
    out += JobRecordToJson(jobs[i]);
  }
  return out + "]}";
}

}  // namespace

absl::StatusOr<HostPort> ParseHostPort(const std::string& text, const std::string& flag) {
  const size_t colon = text.rfind(':');
  HostPort hp;
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(text.substr(colon + 1), &hp.port) || hp.port < 0 || hp.port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, " '", text, "': expected HOST:PORT, e.g. 127.0.0.1:7900"));
  }
  hp.host = text.substr(0, colon);
  if (hp.host.size() > 2 && hp.host.front() == '[' && hp.host.back() == ']') {
    hp.host = hp.host.substr(1, hp.host.size() - 2);
  }
  return hp;
}

absl::Status CheckLoopback(const std::string& host) {
  in_addr v4;
  in6_addr v6;
  if (host == "localhost" ||
      (inet_pton(AF_INET, host.c_str(), &v4) == 1 && (ntohl(v4.s_addr) >> 24) == 127) ||
      (inet_pton(AF_INET6, host.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6))) {
    return absl::OkStatus();
  }
  return absl::FailedPreconditionError(
      "refusing to listen on '" + host +
      "': the control service starts commands, so without --auth it listens on loopback only "
      "(127.0.0.1, ::1 or localhost)");
}

std::function<void(const httplib::Request&, httplib::Response&)> ControlHttpServer::Authed(
    std::string action, AuthedHandler handler) {
  return [this, action = std::move(action), handler = std::move(handler)](
             const httplib::Request& req, httplib::Response& res) {
    RequestContext ctx;
    if (req.matches.size() > 1) ctx.target = req.matches[1];
    if (security_.authenticator == nullptr) {  // no --auth: loopback callers are trusted
      ctx.caller.admin = true;
      return handler(req, res, ctx);
    }
    auto caller = security_.authenticator->Authenticate(RequestParts(req), std::time(nullptr));
    if (!caller.ok()) {
      // The key the request claims, so refusals can be traced (it is not a secret).
      if (auto claimed = auth::ParseAuthorization(req.get_header_value("Authorization"));
          claimed.ok()) {
        ctx.caller.access_key = claimed->access_key.substr(0, 64);
      }
      SendError(res, caller.status());
      Audit(ctx, "auth", res.status, std::string(caller.status().message()));
      return;
    }
    ctx.caller = *caller;
    handler(req, res, ctx);
    // Reads that succeed are not logged (the CLI polls); every change and refusal is.
    // A handler that did not answer (AddRoutes' check before routing, passed) is not logged here.
    if (res.status >= 0 && (req.method != "GET" || res.status >= 400)) {
      std::string message;
      if (res.status >= 400) {
        message = std::string(StatusFromHttp(res.status, res.body).message());
      }
      Audit(ctx, action, res.status, message);
    }
  };
}

void ControlHttpServer::Audit(const RequestContext& ctx, const std::string& action, int result,
                              const std::string& message) {
  if (security_.audit == nullptr) return;
  auth::AuditEntry e{
      NowSeconds(), ctx.caller.tenant, ctx.caller.access_key, action, ctx.target, result, message};
  if (auto st = security_.audit->Append(e); !st.ok()) {
    std::fprintf(stderr, "parasol control: %s\n", std::string(st.message()).c_str());
  }
}

absl::Status ControlHttpServer::CheckOwner(const RequestContext& ctx, const std::string& job) {
  if (ctx.caller.admin) return absl::OkStatus();
  auto record = service_.Get(job);
  if (!record.ok()) return record.status();
  // Another tenant's job is answered as a missing one: its existence is not revealed.
  if (record->tenant != ctx.caller.tenant) {
    return absl::NotFoundError("no job named '" + job + "'");
  }
  return absl::OkStatus();
}

ControlHttpServer::ControlHttpServer(JobService& service, ControlSecurity security)
    : service_(service), security_(security), server_(std::make_unique<httplib::Server>()) {
  httplib::Server& s = *server_;
  s.set_payload_max_length(kMaxRequestBytes);
  s.set_read_timeout(10, 0);
  s.set_write_timeout(10, 0);
  s.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown error";
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        SendError(res, absl::InternalError("internal error: " + what));
      });
  s.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    const absl::Status st =
        res.status == 413 ? absl::ResourceExhaustedError(absl::StrCat("request body larger than ",
                                                                      kMaxRequestBytes, " bytes"))
        : res.status == 404
            ? absl::NotFoundError("no such endpoint: " + req.method + " " + req.path)
            : absl::InvalidArgumentError(absl::StrCat("bad request (HTTP ", res.status, ")"));
    const int code = res.status;
    SendError(res, st);
    res.status = code;
  });

  // The dashboard: static files compiled into the binary; nothing is read from disk.
  s.Get(R"(/|/[a-z]+\.(html|js|css))", [](const httplib::Request& req, httplib::Response& res) {
    const WebAsset* asset = FindWebAsset(req.path);
    if (asset == nullptr) {
      return SendError(res, absl::NotFoundError("no such page: " + req.path));
    }
    res.status = 200;
    res.set_header("Cache-Control", "no-cache");
    res.set_content(std::string(asset->body), std::string(asset->content_type));
  });
  s.Get("/api/v1/healthz", [](const httplib::Request&, httplib::Response& res) {
    SendJson(res, 200, "{\"ok\":true}");
  });
  s.Get("/api/v1/jobs", Authed("job.list", [this](const httplib::Request&, httplib::Response& res,
                                                  RequestContext& ctx) {
          auto jobs = service_.List();
          if (!jobs.ok()) return SendError(res, jobs.status());
          if (!ctx.caller.admin) {
            std::erase_if(*jobs, [&](const JobRecord& j) { return j.tenant != ctx.caller.tenant; });
          }
          SendJson(res, 200, RecordsJson(*jobs));
        }));
  s.Post("/api/v1/jobs", Authed("job.submit", [this](const httplib::Request& req,
                                                     httplib::Response& res, RequestContext& ctx) {
           // The client may name its file for error messages; only a plain name is kept.
           std::string source = req.get_header_value("X-Parasol-Source");
           if (source.empty() || source.size() > 200 ||
               source.find_first_of("\r\n\"") != std::string::npos) {
             source = "request body";
           }
           std::string dir = req.get_header_value("X-Parasol-Working-Dir");
           if (dir.find('\0') != std::string::npos) dir.clear();
           Submitter submitter;
           submitter.tenant = ctx.caller.tenant;
           if (security_.authenticator != nullptr && !ctx.caller.admin) {
             auto tenant = security_.authenticator->tenants().GetTenant(ctx.caller.tenant);
             if (!tenant.ok()) return SendError(res, tenant.status());
             submitter.quota = tenant->quota;
           }
           auto job = service_.Submit(req.body, source, dir, submitter);
           if (!job.ok()) return SendError(res, job.status());
           ctx.target = job->name();
           SendJson(res, 201, JobRecordToJson(*job));
         }));
  s.Get(R"(/api/v1/jobs/([^/]+))",
        Authed("job.get",
               [this](const httplib::Request& req, httplib::Response& res, RequestContext& ctx) {
                 if (auto st = CheckOwner(ctx, req.matches[1]); !st.ok()) return SendError(res, st);
                 auto job = service_.Get(req.matches[1]);
                 if (!job.ok()) return SendError(res, job.status());
                 SendJson(res, 200, JobRecordToJson(*job));
               }));
  s.Post(R"(/api/v1/jobs/([^/]+)/stop)",
         Authed("job.stop",
                [this](const httplib::Request& req, httplib::Response& res, RequestContext& ctx) {
                  if (auto st = CheckOwner(ctx, req.matches[1]); !st.ok())
                    return SendError(res, st);
                  auto job = service_.Stop(req.matches[1]);
                  if (!job.ok()) return SendError(res, job.status());
                  SendJson(res, 200, JobRecordToJson(*job));
                }));
  s.Delete(R"(/api/v1/jobs/([^/]+))",
           Authed("job.delete", [this](const httplib::Request& req, httplib::Response& res,
                                       RequestContext& ctx) {
             if (auto st = CheckOwner(ctx, req.matches[1]); !st.ok()) return SendError(res, st);
             auto gone = service_.Delete(req.matches[1]);
             if (!gone.ok()) return SendError(res, gone.status());
             SendJson(res, *gone ? 200 : 202, *gone ? "{\"deleted\":true}" : "{\"deleted\":false}");
           }));
  s.Get(R"(/api/v1/jobs/([^/]+)/metrics)",
        Authed("job.metrics",
               [this](const httplib::Request& req, httplib::Response& res, RequestContext& ctx) {
                 if (auto st = CheckOwner(ctx, req.matches[1]); !st.ok()) return SendError(res, st);
                 auto metrics = service_.MetricsJson(req.matches[1]);
                 if (!metrics.ok()) return SendError(res, metrics.status());
                 SendJson(res, 200, *metrics);
               }));
  s.Post(R"(/api/v1/jobs/([^/]+)/metrics)",
         Authed("job.report-metrics",
                [this](const httplib::Request& req, httplib::Response& res, RequestContext& ctx) {
                  if (auto st = CheckOwner(ctx, req.matches[1]); !st.ok())
                    return SendError(res, st);
                  if (auto st = service_.ReportMetrics(req.matches[1], req.body); !st.ok()) {
                    return SendError(res, st);
                  }
                  SendJson(res, 200, "{\"ok\":true}");
                }));
  s.Get(
      R"(/api/v1/jobs/([^/]+)/logs)",
      Authed("job.logs", [this](const httplib::Request& req, httplib::Response& res,
                                RequestContext& ctx) {
        if (auto st = CheckOwner(ctx, req.matches[1]); !st.ok()) return SendError(res, st);
        if (!req.has_param("replica")) {
          return SendError(res, absl::InvalidArgumentError("replica: required query parameter"));
        }
        uint64_t offset = 0;
        size_t max = kMaxLogChunkBytes;
        if (req.has_param("offset") && !absl::SimpleAtoi(req.get_param_value("offset"), &offset)) {
          return SendError(res, absl::InvalidArgumentError("offset: expected a byte offset"));
        }
        if (req.has_param("max") &&
            (!absl::SimpleAtoi(req.get_param_value("max"), &max) || max == 0)) {
          return SendError(res, absl::InvalidArgumentError("max: expected a positive byte count"));
        }
        auto chunk = service_.Logs(req.matches[1], req.get_param_value("replica"), offset,
                                   std::min(max, kMaxLogChunkBytes));
        if (!chunk.ok()) return SendError(res, chunk.status());
        res.status = 200;
        res.set_header("X-Parasol-Next-Offset", absl::StrCat(chunk->next_offset));
        res.set_header("X-Parasol-Done", chunk->done ? "1" : "0");
        res.set_content(chunk->data, "text/plain; charset=utf-8");
      }));
  AddAuthRoutes();
}

ControlHttpServer::~ControlHttpServer() = default;

void ControlHttpServer::AddRoutes(const std::string& prefix,
                                  const std::function<void(httplib::Server&)>& add) {
  add(*server_);
  if (security_.authenticator == nullptr) return;
  // With --auth, every request under `prefix` is authenticated before routing and allowed to
  // the admin only; each change or refusal is audited as for the job routes.
  auto guard =
      Authed(prefix, [](const httplib::Request&, httplib::Response& res, RequestContext& ctx) {
        if (!ctx.caller.admin) {
          SendError(res, absl::PermissionDeniedError("only the admin may use this endpoint"));
        }
      });
  server_->set_pre_routing_handler(
      [prefix, guard](const httplib::Request& req, httplib::Response& res) {
        if (req.path.rfind(prefix, 0) != 0) return httplib::Server::HandlerResponse::Unhandled;
        guard(req, res);
        return res.status >= 400 ? httplib::Server::HandlerResponse::Handled
                                 : httplib::Server::HandlerResponse::Unhandled;
      });
}

absl::StatusOr<int> ControlHttpServer::Bind(const HostPort& address) {
  if (security_.authenticator == nullptr) {
    if (auto st = CheckLoopback(address.host); !st.ok()) return st;
  }
  int port = address.port;
  if (port == 0) {
    port = server_->bind_to_any_port(address.host);
    if (port < 0) port = 0;
  } else if (!server_->bind_to_port(address.host, port)) {
    port = 0;
  }
  if (port == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", address.host, ":", address.port, ": ", strerror(errno)));
  }
  return port;
}

absl::Status ControlHttpServer::Serve() {
  if (!server_->listen_after_bind()) return absl::UnavailableError("HTTP server stopped");
  return absl::OkStatus();
}

void ControlHttpServer::Stop() { server_->stop(); }

}  // namespace parasol::control
