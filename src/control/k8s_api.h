// A small Kubernetes API client: where the API server is and how to authenticate (a kubeconfig,
// or the in-cluster service account), and the calls the Kubernetes backend needs — create the
// rendered manifests, read a Job's status, delete what a job created. JSON over HTTPS (HTTP for
// tests), bearer-token authentication. Thread-compatible.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace httplib {
class Client;
}

namespace parasol::control {

struct K8sConnection {
  std::string server;   // https://host:port
  std::string token;    // bearer token; empty: none
  std::string ca_file;  // CA bundle for the server's certificate; empty: system CAs
  bool insecure_skip_tls_verify = false;
  std::string kube_namespace;  // the context's namespace ("default" when unset)
};

// The current (or named) context of a kubeconfig file. Errors name the file and the field
// (e.g. "users[alice].user: only token authentication is supported").
// certificate-authority-data is written to `ca_dir`/NAME-ca.crt.
absl::StatusOr<K8sConnection> LoadKubeconfig(const std::string& path, const std::string& context,
                                             const std::string& ca_dir);
// Inside a pod: KUBERNETES_SERVICE_HOST/_PORT and the service account's token, ca.crt and
// namespace under `service_account_dir` (/var/run/secrets/kubernetes.io/serviceaccount).
absl::StatusOr<K8sConnection> InClusterConnection(const std::string& service_account_dir);

// The REST path of a manifest's collection, e.g. /apis/batch/v1/namespaces/NS/jobs;
// InvalidArgument for a kind this client does not know.
absl::StatusOr<std::string> CollectionPath(const std::string& api_version, const std::string& kind,
                                           const std::string& kube_namespace);

class K8sApi {
 public:
  static absl::StatusOr<std::unique_ptr<K8sApi>> Connect(const K8sConnection& connection);
  ~K8sApi();

  // POSTs the manifest to its collection (its metadata.namespace). AlreadyExists when an object
  // of that name exists; the API server's message otherwise.
  absl::Status Create(const nlohmann::ordered_json& manifest);
  // The object, or NotFound.
  absl::StatusOr<nlohmann::json> Get(const std::string& api_version, const std::string& kind,
                                     const std::string& kube_namespace, const std::string& name);
  // Pods of `kube_namespace` matching `label_selector` ("a=b,c=d"): a v1 PodList.
  absl::StatusOr<nlohmann::json> ListPods(const std::string& kube_namespace,
                                          const std::string& label_selector);
  // The log of a pod's only (or first) container.
  absl::StatusOr<std::string> PodLog(const std::string& kube_namespace, const std::string& pod);
  // Deletes the object and (in the background) what it owns; NotFound when absent.
  absl::Status Delete(const std::string& api_version, const std::string& kind,
                      const std::string& kube_namespace, const std::string& name);

 private:
  K8sApi(std::string server, std::unique_ptr<httplib::Client> client);
  std::string server_;
  std::unique_ptr<httplib::Client> client_;
};

// Creates every manifest in order (the Service first); stops at the first failure, naming it.
absl::Status ApplyManifests(K8sApi& api, const std::vector<nlohmann::ordered_json>& manifests);

// A Job's outcome from its status conditions: "Complete", "Failed" (with the condition's
// message in *reason) or "" while it runs.
std::string JobCondition(const nlohmann::json& job, std::string* reason);

}  // namespace parasol::control
