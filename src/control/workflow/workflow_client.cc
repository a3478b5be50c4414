#include "control/workflow/workflow_client.h"

#include "common/config_reader.h"
#include "wire/http_status.h"

namespace parasol::control {
namespace {

using config::Map;
using config::Node;
using nlohmann::json;

RunView ReadRun(const Node& node) {
  const Map m = node.AsMap();
  m.AllowOtherKeys();
  RunView run;
  run.name = m.Get<std::string>("name");
  run.workflow = m.Get<std::string>("workflow");
  run.state = m.Get<std::string>("state");
  run.reason = m.Get<std::string>("reason");
  for (const Node& item : m.Get("steps").Items()) {
    const Map s = item.AsMap();
    s.AllowOtherKeys();
    StepView step;
    step.name = s.Get<std::string>("name");
    step.type = s.Get<std::string>("type");
    step.state = s.Get<std::string>("state");
    step.reason = s.Get<std::string>("reason");
    step.job = s.Get<std::string>("job");
    step.attempts = static_cast<int64_t>(s.Get("attempts").Items().size());
    if (auto verdict = s.Find("verdict")) step.verdict = verdict->As<std::string>();
    run.steps.push_back(step);
  }
  return run;
}

absl::StatusOr<RunView> ToRun(const absl::StatusOr<json>& reply, const std::string& request) {
  if (!reply.ok()) return reply.status();
  RunView run;
  auto st = config::ReadJson(*reply, "the control service sent a malformed reply to " + request,
                             [&](const Node& root) { run = ReadRun(root); });
  if (!st.ok()) return absl::InternalError(st.message());
  run.json = *reply;
  return run;
}

}  // namespace

absl::StatusOr<std::unique_ptr<WorkflowClient>> WorkflowClient::Create(
    const std::string& endpoint) {
  auto client = ControlClient::Create(endpoint);
  if (!client.ok()) return client.status();
  return std::unique_ptr<WorkflowClient>(new WorkflowClient(*std::move(client)));
}

WorkflowClient::~WorkflowClient() = default;

absl::StatusOr<json> WorkflowClient::Call(const std::string& method, const std::string& path,
                                          const json* body, int ok_status) {
  const std::string text = body == nullptr ? "" : body->dump();
  auto reply = client_->Call(method, path, body == nullptr ? nullptr : &text, ok_status);
  if (!reply.ok()) return reply.status();
  json j = json::parse(*reply, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InternalError("the control service sent bad JSON to " + method + " " + path);
  }
  return j;
}

absl::StatusOr<RunView> WorkflowClient::Run(const std::string& spec_text, const std::string& source,
                                            const std::map<std::string, std::string>& sets,
                                            const std::string& working_dir) {
  const json body = {
      {"spec", spec_text}, {"source", source}, {"set", sets}, {"workingDir", working_dir}};
  const std::string path = "/api/v1/workflows/runs";
  return ToRun(Call("POST", path, &body, 201), "POST " + path);
}

absl::StatusOr<RunView> WorkflowClient::Get(const std::string& run) {
  const std::string path = "/api/v1/workflows/runs/" + EscapePathSegment(run);
  return ToRun(Call("GET", path, nullptr, 200), "GET " + path);
}

absl::StatusOr<std::vector<RunView>> WorkflowClient::List() {
  const std::string path = "/api/v1/workflows/runs";
  auto reply = Call("GET", path, nullptr, 200);
  if (!reply.ok()) return reply.status();
  if (!reply->contains("runs") || !(*reply)["runs"].is_array()) {
    return absl::InternalError("the control service sent a malformed reply to GET " + path +
                               ": runs: expected a list");
  }
  std::vector<RunView> out;
  for (const auto& r : (*reply)["runs"]) {
    auto run = ToRun(r, "GET " + path);
    if (!run.ok()) return run.status();
    out.push_back(*std::move(run));
  }
  return out;
}

absl::StatusOr<RunView> WorkflowClient::Rerun(const std::string& run, const std::string& from) {
  const json body = {{"from", from}};
  const std::string path = "/api/v1/workflows/runs/" + EscapePathSegment(run) + "/rerun";
  return ToRun(Call("POST", path, &body, 200), "POST " + path);
}

absl::StatusOr<RunView> WorkflowClient::Bless(const std::string& run, const std::string& step,
                                              const std::string& reason) {
  const json body = {{"step", step}, {"reason", reason}};
  const std::string path = "/api/v1/workflows/runs/" + EscapePathSegment(run) + "/bless";
  return ToRun(Call("POST", path, &body, 200), "POST " + path);
}

}  // namespace parasol::control
