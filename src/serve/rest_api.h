// The REST front end, without a transport: TF Serving's /v1 API, KServe V2's /v2 API and
// /metrics, as a function from (method, path, body) to (status, content type, body). The HTTP
// server (http_server.h) only moves bytes, so every endpoint is unit-testable in-process.
// Endpoints are a route table; model endpoints go through the call path every front end shares
// (serving_core.h), /metrics is rendered by metrics_page.h. Errors become {"error": "..."} with
// the status from wire/http_status.h. Never throws, never aborts on request input. Thread-safe:
// requests only read the repository's current snapshot.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "serve/batcher.h"
#include "serve/model_repository.h"
#include "serve/serve_metrics.h"
#include "serve/serving_core.h"

namespace parasol {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // decoded, without the query string
  std::string body;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // e.g. Parasol-Model-Version
};

class RestApi {
 public:
  // `repository` (and `batcher`, when given) must outlive this object. Bodies over
  // `max_body_bytes` get 413. With a batcher, predict/classify/regress/infer rows are scored in
  // dynamic batches.
  RestApi(const ModelRepository* repository, size_t max_body_bytes, Batcher* batcher = nullptr);

  HttpResponse Handle(const HttpRequest& request) const;

  // The answer for a request the transport rejected before it reached Handle (e.g. a body over
  // the limit while still reading it): `status` as an absl::Status, rendered like any error.
  static HttpResponse Error(const absl::Status& status);

  size_t max_body_bytes() const { return max_body_bytes_; }

 private:
  const ServingCore core_;
  const size_t max_body_bytes_;
};

}  // namespace parasol
