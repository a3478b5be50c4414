#include "control/control_client.h"

#include <httplib.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
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

using nlohmann::json;

enum class Want { kString, kNumber, kInteger, kBool, kObject, kArray, kIntegerOrNull };

const char* WantName(Want want) {
  switch (want) {
    case Want::kString:
      return "a string";
    case Want::kNumber:
      return "a number";
    case Want::kInteger:
      return "an integer";
    case Want::kBool:
      return "true or false";
    case Want::kObject:
      return "an object";
    case Want::kArray:
      return "an array";
    case Want::kIntegerOrNull:
      return "an integer or null";
  }
  return "?";
}

bool Matches(const json& v, Want want) {
  switch (want) {
    case Want::kString:
      return v.is_string();
    case Want::kNumber:
      return v.is_number();
    case Want::kInteger:
      return v.is_number_integer();
    case Want::kBool:
      return v.is_boolean();
    case Want::kObject:
      return v.is_object();
    case Want::kArray:
      return v.is_array();
    case Want::kIntegerOrNull:
      return v.is_null() || v.is_number_integer();
  }
  return false;
}

// The reply's value at `path` must be `want`: "replicas[1].exitCode: expected an integer or
// null, got "x"".
absl::Status Expect(const json& v, Want want, const std::string& path) {
  if (Matches(v, want)) return absl::OkStatus();
  std::string got = v.dump(-1, ' ', false, json::error_handler_t::replace);
  if (got.size() > 60) got = got.substr(0, 57) + "...";
  return absl::InternalError(absl::StrCat(path.empty() ? "the reply" : path, ": expected ",
                                          WantName(want), ", got ", got));
}

// `object` (already checked to be an object) must have `key`, of `want` unless `optional`.
absl::Status ExpectField(const json& object, const std::string& path, const char* key, Want want,
                         bool optional = false) {
  const std::string at = path.empty() ? key : absl::StrCat(path, ".", key);
  const auto it = object.find(key);
  if (it == object.end()) {
    return optional ? absl::OkStatus() : absl::InternalError(at + ": missing");
  }
  return Expect(*it, want, at);
}

#define PARASOL_RETURN_IF_ERROR(expr)       \
  if (absl::Status st = (expr); !st.ok()) { \
    return st;                              \
  }

absl::Status CheckReplica(const json& r, const std::string& path) {
  PARASOL_RETURN_IF_ERROR(Expect(r, Want::kObject, path));
  for (const char* key : {"name", "state", "reason"}) {
    PARASOL_RETURN_IF_ERROR(ExpectField(r, path, key, Want::kString));
  }
  for (const char* key : {"restarts", "pid", "port"}) {
    PARASOL_RETURN_IF_ERROR(ExpectField(r, path, key, Want::kInteger));
  }
  return ExpectField(r, path, "exitCode", Want::kIntegerOrNull);
}

// A job record as the CLI reads it (JobRecordToJson's form).
absl::Status CheckJob(const json& j, const std::string& path) {
  PARASOL_RETURN_IF_ERROR(Expect(j, Want::kObject, path));
  for (const char* key : {"name", "kind", "state", "reason"}) {
    PARASOL_RETURN_IF_ERROR(ExpectField(j, path, key, Want::kString));
  }
  for (const char* key : {"createdAt", "startedAt", "finishedAt"}) {
    PARASOL_RETURN_IF_ERROR(ExpectField(j, path, key, Want::kNumber));
  }
  PARASOL_RETURN_IF_ERROR(ExpectField(j, path, "restarts", Want::kInteger));
  PARASOL_RETURN_IF_ERROR(ExpectField(j, path, "spec", Want::kObject));
  const std::string spec = path.empty() ? "spec" : path + ".spec";
  PARASOL_RETURN_IF_ERROR(ExpectField(j["spec"], spec, "restartPolicy", Want::kString));
  PARASOL_RETURN_IF_ERROR(ExpectField(j["spec"], spec, "backoffLimit", Want::kInteger));
  PARASOL_RETURN_IF_ERROR(
      ExpectField(j["spec"], spec, "workingDir", Want::kString, /*optional=*/true));
  PARASOL_RETURN_IF_ERROR(ExpectField(j, path, "replicas", Want::kArray));
  const std::string replicas = path.empty() ? "replicas" : path + ".replicas";
  for (size_t i = 0; i < j["replicas"].size(); ++i) {
    PARASOL_RETURN_IF_ERROR(CheckReplica(j["replicas"][i], absl::StrCat(replicas, "[", i, "]")));
  }
  return absl::OkStatus();
}

absl::Status CheckJobList(const json& j) {
  PARASOL_RETURN_IF_ERROR(Expect(j, Want::kObject, ""));
  PARASOL_RETURN_IF_ERROR(ExpectField(j, "", "jobs", Want::kArray));
  for (size_t i = 0; i < j["jobs"].size(); ++i) {
    PARASOL_RETURN_IF_ERROR(CheckJob(j["jobs"][i], absl::StrCat("jobs[", i, "]")));
  }
  return absl::OkStatus();
}

// {"series": [{"replica", "name", "points": [[step, value, ...], ...]}, ...]}.
absl::Status CheckMetrics(const json& j) {
  PARASOL_RETURN_IF_ERROR(Expect(j, Want::kObject, ""));
  PARASOL_RETURN_IF_ERROR(ExpectField(j, "", "series", Want::kArray));
  for (size_t i = 0; i < j["series"].size(); ++i) {
    const json& s = j["series"][i];
    const std::string path = absl::StrCat("series[", i, "]");
    PARASOL_RETURN_IF_ERROR(Expect(s, Want::kObject, path));
    PARASOL_RETURN_IF_ERROR(ExpectField(s, path, "replica", Want::kString));
    PARASOL_RETURN_IF_ERROR(ExpectField(s, path, "name", Want::kString));
    PARASOL_RETURN_IF_ERROR(ExpectField(s, path, "points", Want::kArray));
    for (size_t k = 0; k < s["points"].size(); ++k) {
      const json& p = s["points"][k];
      const std::string at = absl::StrCat(path, ".points[", k, "]");
      if (!p.is_array() || p.size() < 2) {
        return absl::InternalError(at + ": expected [step, value, ...], got " + p.dump());
      }
      PARASOL_RETURN_IF_ERROR(Expect(p[0], Want::kNumber, at + "[0]"));
      PARASOL_RETURN_IF_ERROR(Expect(p[1], Want::kNumber, at + "[1]"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckDeleted(const json& j) {
  PARASOL_RETURN_IF_ERROR(Expect(j, Want::kObject, ""));
  return ExpectField(j, "", "deleted", Want::kBool);
}

#undef PARASOL_RETURN_IF_ERROR

// The reply's JSON once `check` accepts it; a reply that is not JSON or not of the expected
// shape is Internal, naming the request and the field.
absl::StatusOr<json> JsonBody(const httplib::Result& r, int ok_status, const std::string& request,
                              absl::Status (*check)(const json&)) {
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
  if (absl::Status st = check(j); !st.ok()) {
    return absl::InternalError(absl::StrCat("the control service sent a malformed reply to ",
                                            request, ": ", st.message()));
  }
  return j;
}

absl::Status CheckOneJob(const json& j) { return CheckJob(j, ""); }

}  // namespace

absl::StatusOr<nlohmann::json> ControlClient::Submit(const std::string& spec_text,
                                                     const std::string& source,
                                                     const std::string& working_dir) {
  httplib::Headers headers = {{"X-Parasol-Source", source}};
  if (!working_dir.empty()) headers.emplace("X-Parasol-Working-Dir", working_dir);
  auto r = client_->Post("/api/v1/jobs", headers, spec_text, "application/yaml");
  PARASOL_CALL(r);
  return JsonBody(r, 201, "POST /api/v1/jobs", CheckOneJob);
}

absl::StatusOr<nlohmann::json> ControlClient::List() {
  auto r = client_->Get("/api/v1/jobs");
  PARASOL_CALL(r);
  return JsonBody(r, 200, "GET /api/v1/jobs", CheckJobList);
}

absl::StatusOr<nlohmann::json> ControlClient::Get(const std::string& name) {
  const std::string path = "/api/v1/jobs/" + Escape(name);
  auto r = client_->Get(path);
  PARASOL_CALL(r);
  return JsonBody(r, 200, "GET " + path, CheckOneJob);
}

absl::StatusOr<nlohmann::json> ControlClient::Stop(const std::string& name) {
  const std::string path = "/api/v1/jobs/" + Escape(name) + "/stop";
  auto r = client_->Post(path);
  PARASOL_CALL(r);
  return JsonBody(r, 200, "POST " + path, CheckOneJob);
}

absl::StatusOr<nlohmann::json> ControlClient::Metrics(const std::string& name) {
  const std::string path = "/api/v1/jobs/" + Escape(name) + "/metrics";
  auto r = client_->Get(path);
  PARASOL_CALL(r);
  return JsonBody(r, 200, "GET " + path, CheckMetrics);
}

absl::StatusOr<bool> ControlClient::Delete(const std::string& name) {
  const std::string path = "/api/v1/jobs/" + Escape(name);
  auto r = client_->Delete(path);
  PARASOL_CALL(r);
  auto body = JsonBody(r, 200, "DELETE " + path, CheckDeleted);
  if (!body.ok()) return body.status();
  return (*body)["deleted"].get<bool>();
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

#undef PARASOL_CALL

}  // namespace parasol::control
