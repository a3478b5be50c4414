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
absl::StatusOr<nlohmann::json> JsonBody(const httplib::Result& r, int ok_status) {
  if (r->status != ok_status && !(ok_status == 200 && r->status == 202)) {
    return StatusFromHttp(r->status, r->body);
  }
  try {
    return nlohmann::json::parse(r->body);
  } catch (const nlohmann::json::exception& e) {
    return absl::InternalError(std::string("the control service sent bad JSON: ") + e.what());
  }
}
}  // namespace

absl::StatusOr<nlohmann::json> ControlClient::Submit(const std::string& spec_text,
                                                     const std::string& source,
                                                     const std::string& working_dir) {
  httplib::Headers headers = {{"X-Parasol-Source", source}};
  if (!working_dir.empty()) headers.emplace("X-Parasol-Working-Dir", working_dir);
  auto r = client_->Post("/api/v1/jobs", headers, spec_text, "application/yaml");
  PARASOL_CALL(r);
  return JsonBody(r, 201);
}

absl::StatusOr<nlohmann::json> ControlClient::List() {
  auto r = client_->Get("/api/v1/jobs");
  PARASOL_CALL(r);
  return JsonBody(r, 200);
}

absl::StatusOr<nlohmann::json> ControlClient::Get(const std::string& name) {
  auto r = client_->Get("/api/v1/jobs/" + Escape(name));
  PARASOL_CALL(r);
  return JsonBody(r, 200);
}

absl::StatusOr<nlohmann::json> ControlClient::Stop(const std::string& name) {
  auto r = client_->Post("/api/v1/jobs/" + Escape(name) + "/stop");
  PARASOL_CALL(r);
  return JsonBody(r, 200);
}

absl::StatusOr<nlohmann::json> ControlClient::Metrics(const std::string& name) {
  auto r = client_->Get("/api/v1/jobs/" + Escape(name) + "/metrics");
  PARASOL_CALL(r);
  return JsonBody(r, 200);
}

absl::StatusOr<bool> ControlClient::Delete(const std::string& name) {
  auto r = client_->Delete("/api/v1/jobs/" + Escape(name));
  PARASOL_CALL(r);
  auto body = JsonBody(r, 200);
  if (!body.ok()) return body.status();
  return body->value("deleted", false);
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
