#include "control/k8s_api.h"

#include <httplib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/config_reader.h"
#include "common/files.h"
#include "common/status_macros.h"
#include "wire/http_status.h"

namespace parasol::control {
namespace {

std::string ReadText(const std::string& path) { return ReadFileToString(path).value_or(""); }

// The `field` mapping of the entry named `name` in kubeconfig list `list` (clusters, contexts,
// users); Fails naming "list[name].field" when there is none. Kubeconfig files carry more than
// Parasol reads (preferences, extensions, exec plugins): other keys are accepted.
config::Map Named(const config::Map& root, const std::string& list, const std::string& name,
                  const std::string& field, const std::string& what) {
  if (std::optional<config::Node> entries = root.Find(list)) {
    for (const config::Node& item : entries->Items()) {
      const config::Map entry = item.AsMap();
      entry.AllowOtherKeys();
      if (entry.Get<std::string>("name") != name) continue;
      if (std::optional<config::Node> value = entry.Find(field)) {
        const config::Map inner = value->AsMap();
        inner.AllowOtherKeys();
        return inner;
      }
    }
  }
  root.node().Fail(absl::StrCat(list, "[", name, "].", field, ": ", what));
}

// The server's answer as a Status: its Status object's message when it sent one.
absl::Status ApiError(const std::string& what, int http_status, const std::string& body) {
  std::string message = body.substr(0, 500);
  try {
    const auto j = nlohmann::json::parse(body);
    if (j.contains("message")) message = j["message"].get<std::string>();
  } catch (const nlohmann::json::exception&) {
  }
  return absl::Status(StatusCodeFromHttp(http_status),
                      absl::StrCat(what, ": HTTP ", http_status, ": ", message));
}

std::string ObjectPath(const std::string& collection, const std::string& name) {
  return collection + "/" + name;
}

}  // namespace

absl::StatusOr<K8sConnection> LoadKubeconfig(const std::string& path, const std::string& context,
                                             const std::string& ca_dir) {
  const std::optional<std::string> text = ReadFileToString(path);
  if (!text) return absl::InvalidArgumentError(absl::StrCat(path, ": cannot read kubeconfig"));
  K8sConnection c;
  std::string ca_pem, ca_name, token_file;
  RETURN_IF_ERROR(config::ReadYaml(*text, path, [&](const config::Node& node) {
    const config::Map root = node.AsMap();
    root.AllowOtherKeys();
    const std::string ctx_name =
        context.empty() ? root.Require("current-context", "or pass a context").As<std::string>()
                        : context;
    const config::Map ctx =
        Named(root, "contexts", ctx_name, "context", "expected cluster and user");
    const std::string cluster_name =
        ctx.Require("cluster", "the cluster of this context").As<std::string>();
    const std::string user_name = ctx.Require("user", "the user of this context").As<std::string>();
    c.kube_namespace = "default";
    ctx.Read("namespace", &c.kube_namespace);
    const config::Map cluster = Named(root, "clusters", cluster_name, "cluster", "missing");
    c.server = cluster.Require("server", "the API server's URL").As<std::string>();
    cluster.Read("insecure-skip-tls-verify", &c.insecure_skip_tls_verify);
    if (!cluster.Read("certificate-authority", &c.ca_file)) {
      if (std::optional<config::Node> data = cluster.Find("certificate-authority-data")) {
        if (!absl::Base64Unescape(data->As<std::string>(), &ca_pem)) data->Fail("not base64");
        ca_name = cluster_name;
      }
    }
    if (std::optional<config::Node> users = root.Find("users")) {
      for (const config::Node& item : users->Items()) {
        const config::Map entry = item.AsMap();
        entry.AllowOtherKeys();
        if (entry.Get<std::string>("name") != user_name || !entry.Has("user")) continue;
        const config::Map user = entry.Get("user").AsMap();
        user.AllowOtherKeys();
        if (!user.Read("token", &c.token) && !user.Read("tokenFile", &token_file) &&
            !user.node().Entries().empty()) {
          user.node().Fail(absl::StrCat("users[", user_name,
                                        "].user: only token authentication is supported "
                                        "(token or tokenFile)"));
        }
      }
    }
  }));
  if (!ca_name.empty()) {
    std::filesystem::create_directories(ca_dir);
    c.ca_file = (std::filesystem::path(ca_dir) / (ca_name + "-ca.crt")).string();
    std::ofstream(c.ca_file, std::ios::binary) << ca_pem;
  }
  if (!token_file.empty()) c.token = ReadText(token_file);
  while (!c.token.empty() && (c.token.back() == '\n' || c.token.back() == '\r')) c.token.pop_back();
  return c;
}

absl::StatusOr<K8sConnection> InClusterConnection(const std::string& sa_dir) {
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
  if (host == nullptr || port == nullptr) {
    return absl::FailedPreconditionError(
        "not inside a Kubernetes pod (KUBERNETES_SERVICE_HOST/PORT unset); pass --kubeconfig");
  }
  K8sConnection c;
  const std::string h = host;
  c.server =
      absl::StrCat("https://", h.find(':') == std::string::npos ? h : "[" + h + "]", ":", port);
  c.token = ReadText(sa_dir + "/token");
  if (c.token.empty()) return absl::FailedPreconditionError("no token in " + sa_dir + "/token");
  c.ca_file = sa_dir + "/ca.crt";
  c.kube_namespace = ReadText(sa_dir + "/namespace");
  if (c.kube_namespace.empty()) c.kube_namespace = "default";
  return c;
}

absl::StatusOr<std::string> CollectionPath(const std::string& api_version, const std::string& kind,
                                           const std::string& ns) {
  const std::string prefix = api_version == "v1" ? "/api/v1" : "/apis/" + api_version;
  std::string plural;
  if (api_version == "v1" && kind == "Service") plural = "services";
  if (api_version == "v1" && kind == "Pod") plural = "pods";
  if (api_version == "apps/v1" && kind == "StatefulSet") plural = "statefulsets";
  if (api_version == "batch/v1" && kind == "Job") plural = "jobs";
  if (plural.empty()) {
    return absl::InvalidArgumentError("no API path known for " + api_version + " " + kind);
  }
  return absl::StrCat(prefix, "/namespaces/", ns, "/", plural);
}

absl::StatusOr<std::unique_ptr<K8sApi>> K8sApi::Connect(const K8sConnection& c) {
  if (c.server.rfind("https://", 0) != 0 && c.server.rfind("http://", 0) != 0) {
    return absl::InvalidArgumentError("Kubernetes server '" + c.server +
                                      "': expected https://HOST:PORT");
  }
  auto client = std::make_unique<httplib::Client>(c.server);
  if (!client->is_valid()) return absl::InvalidArgumentError("bad server URL " + c.server);
  client->set_connection_timeout(10, 0);
  client->set_read_timeout(30, 0);
  if (!c.token.empty()) client->set_bearer_token_auth(c.token);
  if (!c.ca_file.empty()) client->set_ca_cert_path(c.ca_file);
  client->enable_server_certificate_verification(!c.insecure_skip_tls_verify);
  return std::unique_ptr<K8sApi>(new K8sApi(c.server, std::move(client)));
}

K8sApi::K8sApi(std::string server, std::unique_ptr<httplib::Client> client)
    : server_(std::move(server)), client_(std::move(client)) {}

K8sApi::~K8sApi() = default;

namespace {

// The body of an answer whose status is in `ok`; otherwise the failure, named by `what`.
absl::StatusOr<std::string> Answer(const httplib::Result& r, const std::string& what,
                                   const std::string& server, std::initializer_list<int> ok) {
  if (!r) {
    return absl::UnavailableError(
        absl::StrCat(what, ": cannot reach ", server, " (", httplib::to_string(r.error()), ")"));
  }
  for (int code : ok) {
    if (r->status == code) return r->body;
  }
  return ApiError(what, r->status, r->body);
}

absl::StatusOr<nlohmann::json> JsonAnswer(const httplib::Result& r, const std::string& what,
                                          const std::string& server) {
  auto body = Answer(r, what, server, {200});
  if (!body.ok()) return body.status();
  try {
    return nlohmann::json::parse(*body);
  } catch (const nlohmann::json::exception& e) {
    return absl::UnavailableError(what + ": the API server sent bad JSON: " + e.what());
  }
}

}  // namespace

absl::Status K8sApi::Create(const nlohmann::ordered_json& manifest) {
  const std::string kind = manifest.value("kind", "");
  const std::string name = manifest["metadata"].value("name", "");
  auto path = CollectionPath(manifest.value("apiVersion", ""), kind,
                             manifest["metadata"].value("namespace", "default"));
  if (!path.ok()) return path.status();
  return Answer(client_->Post(*path, manifest.dump(), "application/json"),
                "create " + kind + "/" + name, server_, {200, 201, 202})
      .status();
}

absl::StatusOr<nlohmann::json> K8sApi::Get(const std::string& api_version, const std::string& kind,
                                           const std::string& ns, const std::string& name) {
  auto path = CollectionPath(api_version, kind, ns);
  if (!path.ok()) return path.status();
  return JsonAnswer(client_->Get(ObjectPath(*path, name)), "get " + kind + "/" + name, server_);
}

absl::StatusOr<nlohmann::json> K8sApi::ListPods(const std::string& ns,
                                                const std::string& label_selector) {
  const std::string path =
      absl::StrCat("/api/v1/namespaces/", ns,
                   "/pods?labelSelector=", httplib::detail::encode_query_param(label_selector));
  return JsonAnswer(client_->Get(path), "list pods " + label_selector, server_);
}

absl::StatusOr<std::string> K8sApi::PodLog(const std::string& ns, const std::string& pod) {
  return Answer(client_->Get(absl::StrCat("/api/v1/namespaces/", ns, "/pods/", pod, "/log")),
                "log of pod " + pod, server_, {200});
}

absl::Status K8sApi::Delete(const std::string& api_version, const std::string& kind,
                            const std::string& ns, const std::string& name) {
  auto path = CollectionPath(api_version, kind, ns);
  if (!path.ok()) return path.status();
  const std::string body = R"({"kind":"DeleteOptions","apiVersion":"v1",)"
                           R"("propagationPolicy":"Background"})";
  return Answer(client_->Delete(ObjectPath(*path, name), body, "application/json"),
                "delete " + kind + "/" + name, server_, {200, 202})
      .status();
}

absl::Status ApplyManifests(K8sApi& api, const std::vector<nlohmann::ordered_json>& manifests) {
  for (const auto& m : manifests) {
    if (auto st = api.Create(m); !st.ok()) return st;
  }
  return absl::OkStatus();
}

std::string JobCondition(const nlohmann::json& job, std::string* reason) {
  if (!job.contains("status") || !job["status"].contains("conditions")) return "";
  for (const auto& c : job["status"]["conditions"]) {
    if (c.value("status", "") != "True") continue;
    const std::string type = c.value("type", "");
    if (type == "Complete" || type == "Failed") {
      if (reason != nullptr) *reason = c.value("message", c.value("reason", ""));
      return type;
    }
  }
  return "";
}

}  // namespace parasol::control
