#include "serve/http_server.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "http/server.h"

namespace parasol {
namespace {

http::Response ToHttp(HttpResponse from) {
  http::Response to;
  to.status = from.status;
  to.content_type = std::move(from.content_type);
  to.body = std::move(from.body);
  to.headers = std::move(from.headers);
  return to;
}

}  // namespace

HttpServer::HttpServer(const RestApi* api, HttpServerOptions options)
    : api_(api), options_(std::move(options)) {}

HttpServer::~HttpServer() { Stop(); }

absl::StatusOr<int> HttpServer::Start() {
  http::ServerOptions o;
  o.host = options_.host;
  o.port = options_.port;
  o.threads = options_.threads;
  o.max_body_bytes = api_->max_body_bytes();
  auto handle = [this](const http::Request& req) {
    // Every body we take is JSON, whatever its declared type (TF Serving's own docs post it with
    // `curl -d`, i.e. as a form); a multipart body is parts, none of them the document.
    if (absl::StartsWithIgnoreCase(req.Header("content-type"), "multipart/form-data")) {
      return ToHttp(RestApi::Error(absl::InvalidArgumentError(
          "request body is multipart/form-data; send the JSON document itself as the body "
          "(curl -d @FILE or --data-binary @FILE)")));
    }
    return ToHttp(api_->Handle(HttpRequest{req.method, req.path, req.body}));
  };
  // Requests refused by the transport (too large, malformed, too slow) keep its status and get
  // the REST API's JSON error body.
  auto refuse = [](int status, const absl::Status& why) {
    absl::Status reason = why;
    if (status == 413) {
      reason = absl::ResourceExhaustedError(absl::StrCat(why.message(), " (--max-body-bytes)"));
    }
    http::Response res = ToHttp(RestApi::Error(reason));
    res.status = status;
    return res;
  };
  server_ = std::make_unique<http::Server>(handle, refuse, o);
  auto port = server_->Start();
  if (!port.ok()) server_.reset();
  return port;
}

void HttpServer::Stop() {
  if (server_ != nullptr) server_->Stop();
}

}  // namespace parasol
