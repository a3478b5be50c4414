#include "control/control_client.h"

#include <httplib.h>

#include <ctime>
#include <type_traits>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/config_reader.h"
#include "control/auth/credentials.h"
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

absl::StatusOr<std::unique_ptr<ControlClient>> ControlClient::Create(
    const std::string& endpoint, std::optional<auth::SigningCredentials> credentials) {
  std::string base = endpoint;
  while (!base.empty() && base.back() == '/') base.pop_back();
  if (base.rfind("http://", 0) != 0 || base.size() <= 7 || base.find('/', 7) != std::string::npos) {
    return absl::InvalidArgumentError("endpoint '" + endpoint +
                                      "': expected http://HOST:PORT, e.g. " + kDefaultEndpoint);
  }
  auto client = std::make_unique<httplib::Client>(base);
  client->set_connection_timeout(5, 0);
  client->set_read_timeout(30, 0);
  return std::unique_ptr<ControlClient>(
      new ControlClient(base, std::move(client), std::move(credentials)));
}

ControlClient::ControlClient(std::string endpoint, std::unique_ptr<httplib::Client> client,
                             std::optional<auth::SigningCredentials> credentials)
    : endpoint_(std::move(endpoint)),
      client_(std::move(client)),
      credentials_(std::move(credentials)) {}

httplib::Result ControlClient::Send(
    const std::string& method, const std::string& target, const std::string& body,
    const std::string& content_type,
    const std::vector<std::pair<std::string, std::string>>& headers) {
  httplib::Request req;
  req.method = method;
  req.path = target;
  req.body = body;
  for (const auto& [name, value] : headers) req.headers.emplace(name, value);
  if (!content_type.empty()) req.headers.emplace("Content-Type", content_type);
  if (credentials_) {
    auth::HttpRequestParts parts;
    parts.method = method;
    const size_t q = target.find('?');
    parts.path = target.substr(0, q);
    if (q != std::string::npos) parts.query = target.substr(q + 1);
    parts.headers = headers;
    parts.headers.emplace_back("Host", endpoint_.substr(7));  // what httplib would send
    parts.headers.emplace_back("X-Parasol-Nonce", auth::GenerateKeyPair().access_key);
    parts.body = body;
    const absl::Status signed_ok =
        auth::SignRequest(parts, *credentials_, static_cast<int64_t>(std::time(nullptr)));
    if (signed_ok.ok()) {
      req.headers.clear();
      for (const auto& [name, value] : parts.headers) req.headers.emplace(name, value);
      if (!content_type.empty()) req.headers.emplace("Content-Type", content_type);
    }
  }
  return client_->send(req);
}

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

NewKeyView ReadNewKey(const Node& node) {
  const Map m = node.AsMap();
  m.AllowOtherKeys();
  NewKeyView key;
  key.tenant = m.Get<std::string>("tenant");
  key.access_key = m.Get<std::string>("accessKeyId");
  key.secret_key = m.Get<std::string>("secretAccessKey");
  return key;
}

// A limit: null (none) → -1.
template <typename T>
T ReadLimit(const Map& m, const char* key) {
  const std::optional<Node> n = m.Find(key);
  return !n || n->IsNull() ? T(-1) : n->As<T>();
}

TenantView ReadTenant(const Node& node) {
  const Map m = node.AsMap();
  m.AllowOtherKeys();
  TenantView t;
  t.name = m.Get<std::string>("name");
  const Map q = m.Get("quota").AsMap();
  q.AllowOtherKeys();
  t.cpu_limit = ReadLimit<double>(q, "cpu");
  t.memory_limit = ReadLimit<int64_t>(q, "memoryBytes");
  t.gpu_limit = ReadLimit<int64_t>(q, "gpu");
  t.jobs_limit = ReadLimit<int64_t>(q, "jobs");
  const Map u = m.Get("usage").AsMap();
  u.AllowOtherKeys();
  t.cpu_used = u.Get<double>("cpu");
  t.memory_used = u.Get<int64_t>("memoryBytes");
  t.gpu_used = u.Get<int64_t>("gpu");
  t.jobs_used = u.Get<int64_t>("jobs");
  return t;
}

TenantListView ReadTenantList(const Node& node) {
  const Map m = node.AsMap();
  m.AllowOtherKeys();
  TenantListView list;
  for (const Node& t : m.Get("tenants").Items()) list.tenants.push_back(ReadTenant(t));
  return list;
}

AuditView ReadAudit(const Node& node) {
  const Map m = node.AsMap();
  m.AllowOtherKeys();
  AuditView audit;
  for (const Node& e : m.Get("entries").Items()) {
    const Map em = e.AsMap();
    em.AllowOtherKeys();
    AuditEntryView v;
    v.time = em.Get<double>("time");
    v.tenant = em.Get<std::string>("tenant");
    v.access_key = em.Get<std::string>("accessKey");
    v.action = em.Get<std::string>("action");
    v.target = em.Get<std::string>("target");
    v.result = em.Get<int64_t>("result");
    v.message = em.Get<std::string>("message");
    audit.entries.push_back(std::move(v));
  }
  return audit;
}

bool ReadRevoked(const Node& node) {
  const Map m = node.AsMap();
  m.AllowOtherKeys();
  return m.Get<bool>("revoked");
}

}  // namespace

absl::StatusOr<NewKeyView> ControlClient::CreateTenant(const std::string& name,
                                                       const nlohmann::json& quota_json) {
  const std::string body = json{{"name", name}, {"quota", quota_json}}.dump();
  auto r = Send("POST", "/api/v1/tenants", body, "application/json");
  PARASOL_CALL(r);
  return ReadReply(r, 201, "POST /api/v1/tenants", ReadNewKey);
}

absl::StatusOr<TenantListView> ControlClient::ListTenants() {
  auto r = Send("GET", "/api/v1/tenants");
  PARASOL_CALL(r);
  return ReadReply(r, 200, "GET /api/v1/tenants", ReadTenantList);
}

absl::StatusOr<bool> ControlClient::DeleteTenant(const std::string& name) {
  const std::string path = "/api/v1/tenants/" + Escape(name);
  auto r = Send("DELETE", path);
  PARASOL_CALL(r);
  return ReadReply(r, 200, "DELETE " + path, ReadDeleted);
}

absl::StatusOr<NewKeyView> ControlClient::CreateKey(const std::string& tenant) {
  const std::string path = "/api/v1/tenants/" + Escape(tenant) + "/keys";
  auto r = Send("POST", path);
  PARASOL_CALL(r);
  return ReadReply(r, 201, "POST " + path, ReadNewKey);
}

absl::StatusOr<bool> ControlClient::RevokeKey(const std::string& access_key) {
  const std::string path = "/api/v1/keys/" + Escape(access_key);
  auto r = Send("DELETE", path);
  PARASOL_CALL(r);
  return ReadReply(r, 200, "DELETE " + path, ReadRevoked);
}

absl::StatusOr<TenantView> ControlClient::Quota(const std::string& tenant) {
  const std::string path =
      tenant.empty() ? "/api/v1/quota" : "/api/v1/quota?tenant=" + Escape(tenant);
  auto r = Send("GET", path);
  PARASOL_CALL(r);
  return ReadReply(r, 200, "GET " + path, ReadTenant);
}

absl::StatusOr<AuditView> ControlClient::Audit(const std::string& tenant, int64_t limit) {
  std::string path = absl::StrCat("/api/v1/audit?limit=", limit);
  if (!tenant.empty()) path += "&tenant=" + Escape(tenant);
  auto r = Send("GET", path);
  PARASOL_CALL(r);
  return ReadReply(r, 200, "GET " + path, ReadAudit);
}

absl::StatusOr<JobView> ControlClient::Submit(const std::string& spec_text,
                                              const std::string& source,
                                              const std::string& working_dir) {
  std::vector<std::pair<std::string, std::string>> headers = {{"X-Parasol-Source", source}};
  if (!working_dir.empty()) headers.emplace_back("X-Parasol-Working-Dir", working_dir);
  auto r = Send("POST", "/api/v1/jobs", spec_text, "application/yaml", headers);
  PARASOL_CALL(r);
  return ReadReply(r, 201, "POST /api/v1/jobs", ReadJob);
}

absl::StatusOr<JobListView> ControlClient::List() {
  auto r = Send("GET", "/api/v1/jobs");
  PARASOL_CALL(r);
  return ReadReply(r, 200, "GET /api/v1/jobs", ReadJobList);
}

absl::StatusOr<JobView> ControlClient::Get(const std::string& name) {
  const std::string path = "/api/v1/jobs/" + Escape(name);
  auto r = Send("GET", path);
  PARASOL_CALL(r);
  return ReadReply(r, 200, "GET " + path, ReadJob);
}

absl::StatusOr<JobView> ControlClient::Stop(const std::string& name) {
  const std::string path = "/api/v1/jobs/" + Escape(name) + "/stop";
  auto r = Send("POST", path);
  PARASOL_CALL(r);
  return ReadReply(r, 200, "POST " + path, ReadJob);
}

absl::StatusOr<MetricsView> ControlClient::Metrics(const std::string& name) {
  const std::string path = "/api/v1/jobs/" + Escape(name) + "/metrics";
  auto r = Send("GET", path);
  PARASOL_CALL(r);
  return ReadReply(r, 200, "GET " + path, ReadMetrics);
}

absl::StatusOr<bool> ControlClient::Delete(const std::string& name) {
  const std::string path = "/api/v1/jobs/" + Escape(name);
  auto r = Send("DELETE", path);
  PARASOL_CALL(r);
  return ReadReply(r, 200, "DELETE " + path, ReadDeleted);
}

absl::StatusOr<LogChunk> ControlClient::Logs(const std::string& name, const std::string& replica,
                                             uint64_t offset) {
  auto r = Send("GET", absl::StrCat("/api/v1/jobs/", Escape(name),
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
  auto r = json_body == nullptr ? Send("GET", path)  // signed, as every request
                                : Send("POST", path, *json_body, "application/json");
  PARASOL_CALL(r);
  if (r->status != ok_status) return StatusFromHttp(r->status, r->body);
  return r->body;
}

#undef PARASOL_CALL

}  // namespace parasol::control
