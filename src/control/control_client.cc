#include "control/control_client.h"

#include <httplib.h>

#include <type_traits>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/config_reader.h"
#include "wire/http_status.h"

namespace parasol::control {
namespace {

std::string Escape(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.') {
      out += static_cast<char>(c);
    } else {
      out += absl::StrFormat("%%%02X", c);
    }
  }
  return out;
}

}  // namespace

std::string EscapePathSegment(const std::string& s) { return Escape(s); }

absl::StatusOr<std::unique_ptr<ControlClient>> ControlClient::Create(const std::string& endpoint) {
  std::string base = endpoint;
  while (!base.empty() && base.back() == '/') base.pop_back();
  if (base.rfind("http://", 0) != 0 || base.size() <= 7 || base.find('/', 7) != std::string::npos) {
    return absl::InvalidArgumentError("endpoint '" + endpoint +
                                      "': expected http://HOST:PORT, e.g. " + kDefaultEndpoint);
  }
  auto client = std::make_unique<httplib::Client>(base);
  client->set_connection_timeout(5, 0);
  client->set_read_timeout(30, 0);
  return std::unique_ptr<ControlClient>(new ControlClient(base, std::move(client)));
}

ControlClient::ControlClient(std::string endpoint, std::unique_ptr<httplib::Client> client)
    : endpoint_(std::move(endpoint)), client_(std::move(client)) {}

ControlClient::~ControlClient() = default;

#define PARASOL_CALL(result)                                                                  \
  if (!(result)) {                                                                            \
    return absl::UnavailableError("cannot reach the control service at " + endpoint_ + " (" + \
                                  httplib::to_string((result).error()) +                      \
                                  "); start it with 'parasol control' or set --endpoint "     \
                                  "or PARASOL_ENDPOINT");                                     \
  }

namespace {

using config::Map;
using config::Node;
using nlohmann::json;

ReplicaView ReadReplica(const Node& node) {
  const Map m = node.AsMap();
  m.AllowOtherKeys();
  ReplicaView r;
  r.name = m.Get<std::string>("name");
  r.state = m.Get<std::string>("state");
  r.reason = m.Get<std::string>("reason");
  r.restarts = m.Get<int64_t>("restarts");
  r.pid = m.Get<int64_t>("pid");
  r.port = m.Get<int64_t>("port");
  if (auto code = m.Find("exitCode")) r.exit_code = code->As<int64_t>();
  return r;
}

JobView ReadJob(const Node& node) {
  const Map m = node.AsMap();
  m.AllowOtherKeys();
  JobView job;
  job.name = m.Get<std::string>("name");
  job.kind = m.Get<std::string>("kind");
  job.state = m.Get<std::string>("state");
  job.reason = m.Get<std::string>("reason");
  job.created_at = m.Get<double>("createdAt");
  job.started_at = m.Get<double>("startedAt");
  job.finished_at = m.Get<double>("finishedAt");
  job.restarts = m.Get<int64_t>("restarts");
  const Map spec = m.Get("spec").AsMap();
  spec.AllowOtherKeys();
  job.restart_policy = spec.Get<std::string>("restartPolicy");
  job.backoff_limit = spec.Get<int64_t>("backoffLimit");
  spec.Read("workingDir", &job.working_dir);
  for (const Node& r : m.Get("replicas").Items()) job.replicas.push_back(ReadReplica(r));
  return job;
}

MetricsView ReadMetrics(const Node& node) {
  const Map m = node.AsMap();
  m.AllowOtherKeys();
  MetricsView metrics;
  for (const Node& s : m.Get("series").Items()) {
    const Map sm = s.AsMap();
    sm.AllowOtherKeys();
    MetricSeriesView series;
    series.replica = sm.Get<std::string>("replica");
    series.name = sm.Get<std::string>("name");
    for (const Node& p : sm.Get("points").Items()) {
      const std::vector<Node> items = p.Items();
      if (items.size() < 2) {
        p.Fail(absl::StrCat("expected [step, value, ...], got ", items.size(), " item(s)"));
      }
      series.points.emplace_back(items[0].As<double>(), items[1].As<double>());
    }
    metrics.series.push_back(std::move(series));
  }
  return metrics;
}

// The reply as `read` makes it, once it is JSON of the expected shape; otherwise
// Internal, naming the request and the field.
template <typename T>
absl::StatusOr<T> ReadReply(const httplib::Result& r, int ok_status, const std::string& request,
                            T (*read)(const Node&)) {
  if (r->status != ok_status && !(ok_status == 200 && r->status == 202)) {
    return StatusFromHttp(r->status, r->body);
  }
  json j;
  try {
    j = json::parse(r->body);
  } catch (const json::exception& e) {
    return absl::InternalError(
        absl::StrCat("the control service sent bad JSON to ", request, ": ", e.what()));
  }
  T out;
  const absl::Status st =
      config::ReadJson(j, "the control service sent a malformed reply to " + request,
                       [&](const Node& root) { out = read(root); });
  if (!st.ok()) return absl::InternalError(st.message());
  if constexpr (!std::is_same_v<T, bool>) out.json = std::move(j);
  return out;
}

JobListView ReadJobList(const Node& node) {
  const Map m = node.AsMap();
  m.AllowOtherKeys();
  JobListView list;
  for (const Node& job : m.Get("jobs").Items()) list.jobs.push_back(ReadJob(job));
  return list;
}

bool ReadDeleted(const Node& node) {
  const Map m = node.AsMap();
  m.AllowOtherKeys();
  return m.Get<bool>("deleted");
}

}  // namespace

absl::StatusOr<JobView> ControlClient::Submit(const std::string& spec_text,
                                              const std::string& source,
                                              const std::string& working_dir) {
  httplib::Headers headers = {{"X-Parasol-Source", source}};
  if (!working_dir.empty()) headers.emplace("X-Parasol-Working-Dir", working_dir);
  auto r = client_->Post("/api/v1/jobs", headers, spec_text, "application/yaml");
  PARASOL_CALL(r);
  return ReadReply(r, 201, "POST /api/v1/jobs", ReadJob);
}

absl::StatusOr<JobListView> ControlClient::List() {
  auto r = client_->Get("/api/v1/jobs");
  PARASOL_CALL(r);
  return ReadReply(r, 200, "GET /api/v1/jobs", ReadJobList);
}

absl::StatusOr<JobView> ControlClient::Get(const std::string& name) {
  const std::string path = "/api/v1/jobs/" + Escape(name);
  auto r = client_->Get(path);
  PARASOL_CALL(r);
  return ReadReply(r, 200, "GET " + path, ReadJob);
}

absl::StatusOr<JobView> ControlClient::Stop(const std::string& name) {
  const std::string path = "/api/v1/jobs/" + Escape(name) + "/stop";
  auto r = client_->Post(path);
  PARASOL_CALL(r);
  return ReadReply(r, 200, "POST " + path, ReadJob);
}

absl::StatusOr<MetricsView> ControlClient::Metrics(const std::string& name) {
  const std::string path = "/api/v1/jobs/" + Escape(name) + "/metrics";
  auto r = client_->Get(path);
  PARASOL_CALL(r);
  return ReadReply(r, 200, "GET " + path, ReadMetrics);
}

absl::StatusOr<bool> ControlClient::Delete(const std::string& name) {
  const std::string path = "/api/v1/jobs/" + Escape(name);
  auto r = client_->Delete(path);
  PARASOL_CALL(r);
  return ReadReply(r, 200, "DELETE " + path, ReadDeleted);
}

absl::StatusOr<LogChunk> ControlClient::Logs(const std::string& name, const std::string& replica,
                                             uint64_t offset) {
  auto r = client_->Get(absl::StrCat("/api/v1/jobs/", Escape(name),
                                     "/logs?replica=", Escape(replica), "&offset=", offset));
  PARASOL_CALL(r);
  if (r->status != 200) return StatusFromHttp(r->status, r->body);
  LogChunk chunk;
  chunk.data = r->body;
  chunk.done = r->get_header_value("X-Parasol-Done") == "1";
  if (!absl::SimpleAtoi(r->get_header_value("X-Parasol-Next-Offset"), &chunk.next_offset)) {
    chunk.next_offset = offset + chunk.data.size();
  }
  return chunk;
}

absl::StatusOr<std::string> ControlClient::Call(const std::string& method, const std::string& path,
                                                const std::string* json_body, int ok_status) {
  auto r = json_body == nullptr ? client_->Get(path)
                                : client_->Post(path, *json_body, "application/json");
  PARASOL_CALL(r);
  if (r->status != ok_status) return StatusFromHttp(r->status, r->body);
  return r->body;
}

#undef PARASOL_CALL

}  // namespace parasol::control
