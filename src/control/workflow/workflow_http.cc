#include "control/workflow/workflow_http.h"

#include <httplib.h>

#include <nlohmann/json.hpp>

#include "common/config_reader.h"
#include "control/http_api.h"
#include "control/http_reply.h"
#include "control/workflow/workflow_engine.h"

namespace parasol::control {
namespace {

using nlohmann::json;

// The body as a JSON object read by `read` (config_reader: unknown keys refused, fields named).
absl::Status ReadBody(const httplib::Request& req,
                      const std::function<void(const config::Map&)>& read) {
  const json body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return absl::InvalidArgumentError("request body: not JSON");
  return config::ReadJson(body, "request body",
                          [&](const config::Node& root) { read(root.AsMap()); });
}

void SendRun(httplib::Response& res, int status, const absl::StatusOr<WorkflowRun>& run) {
  if (!run.ok()) return SendError(res, run.status());
  SendJson(res, status, WorkflowRunToJson(*run).dump());
}

}  // namespace

void AddWorkflowRoutes(httplib::Server& s, WorkflowEngine& engine) {
  s.Post("/api/v1/workflows/runs", [&engine](const httplib::Request& req, httplib::Response& res) {
    std::string spec, source = "request body", dir;
    std::map<std::string, std::string> sets;
    auto st = ReadBody(req, [&](const config::Map& m) {
      spec = m.Get<std::string>("spec");
      m.Read("source", &source);
      m.Read("workingDir", &dir);
      if (auto set = m.Find("set")) {
        for (const auto& [k, v] : set->Entries()) sets[k] = v.As<std::string>();
      }
    });
    if (!st.ok()) return SendError(res, st);
    if (source.empty() || source.size() > 200 ||
        source.find_first_of("\r\n\"") != std::string::npos) {
      source = "request body";
    }
    SendRun(res, 201, engine.Run(spec, source, sets, dir));
  });
  s.Get("/api/v1/workflows/runs", [&engine](const httplib::Request&, httplib::Response& res) {
    auto runs = engine.List();
    if (!runs.ok()) return SendError(res, runs.status());
    json out = {{"runs", json::array()}};
    for (const auto& r : *runs) out["runs"].push_back(WorkflowRunToJson(r));
    SendJson(res, 200, out.dump());
  });
  s.Get(R"(/api/v1/workflows/runs/([^/]+))",
        [&engine](const httplib::Request& req, httplib::Response& res) {
          SendRun(res, 200, engine.Get(req.matches[1]));
        });
  s.Post(R"(/api/v1/workflows/runs/([^/]+)/rerun)", [&engine](const httplib::Request& req,
                                                              httplib::Response& res) {
    std::string from;
    auto st = ReadBody(req, [&](const config::Map& m) { from = m.Get<std::string>("from"); });
    if (!st.ok()) return SendError(res, st);
    SendRun(res, 200, engine.Rerun(req.matches[1], from));
  });
  s.Post(R"(/api/v1/workflows/runs/([^/]+)/bless)",
         [&engine](const httplib::Request& req, httplib::Response& res) {
           std::string step, reason;
           auto st = ReadBody(req, [&](const config::Map& m) {
             step = m.Get<std::string>("step");
             reason = m.Get<std::string>("reason");
           });
           if (!st.ok()) return SendError(res, st);
           SendRun(res, 200, engine.Bless(req.matches[1], step, reason));
         });
}

}  // namespace parasol::control
