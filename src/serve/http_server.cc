#include "serve/http_server.h"

#include <httplib.h>

#include <chrono>

#include "absl/strings/str_cat.h"

namespace parasol {
namespace {

void Send(const HttpResponse& from, httplib::Response* to) {
  to->status = from.status;
  for (const auto& [name, value] : from.headers) to->set_header(name, value);
  to->set_content(from.body, from.content_type.c_str());
}

}  // namespace

HttpServer::HttpServer(const RestApi* api, HttpServerOptions options)
    : api_(api), options_(std::move(options)), server_(std::make_unique<httplib::Server>()) {}

HttpServer::~HttpServer() { Stop(); }

absl::StatusOr<int> HttpServer::Start() {
  httplib::Server& s = *server_;
  const int threads = options_.threads;
  s.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  // Bodies over the bound are refused while reading (httplib answers 413 and the error handler
  // below writes the JSON body); RestApi checks again for transports without this.
  s.set_payload_max_length(api_->max_body_bytes());
  s.set_keep_alive_max_count(100000);
  s.set_keep_alive_timeout(30);
  s.set_tcp_nodelay(true);
  // httplib's default sets SO_REUSEPORT, which lets a second server bind a port that is in use
  // and silently share its traffic; SO_REUSEADDR alone still allows a quick restart.
  s.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  auto handle = [this](const httplib::Request& req, httplib::Response& res) {
    Send(api_->Handle(HttpRequest{req.method, req.path, req.body}), &res);
  };
  s.Get(".*", handle);
  // Every body we take is JSON, whatever its declared type: TF Serving's own docs post it with
  // `curl -d` (Content-Type application/x-www-form-urlencoded). httplib's plain handlers parse
  // such a body as a form and refuse it over 8 KiB (CPPHTTPLIB_FORM_URL_ENCODED_PAYLOAD_MAX_LENGTH,
  // compiled into Debian's libcpp-httplib, so no define of ours changes it); a content reader
  // gets the bytes as sent, bounded only by set_payload_max_length above.
  s.Post(".*", [this](const httplib::Request& req, httplib::Response& res,
                      const httplib::ContentReader& read) {
    std::string body;
    bool ok;
    if (req.is_multipart_form_data()) {
      // httplib splits such a body into parts; none of it is a JSON document. Read and drop it
      // (keeping the connection usable), then refuse it.
      ok = read([](const httplib::MultipartFormData&) { return true; },
                [](const char*, size_t) { return true; });
      if (ok) {
        Send(RestApi::Error(absl::InvalidArgumentError(
                 "request body is multipart/form-data; send the JSON document itself as the "
                 "body (curl -d @FILE or --data-binary @FILE)")),
             &res);
        return;
      }
    } else {
      ok = read([&body](const char* data, size_t n) {
        body.append(data, n);
        return true;
      });
    }
    // A failed read has set the status (413 over the bound, 400 a bad body; else the connection
    // broke): the error handler below writes the body.
    if (!ok) {
      if (res.status < 400) res.status = 400;
      return;
    }
    Send(api_->Handle(HttpRequest{req.method, req.path, std::move(body)}), &res);
  });
  s.set_error_handler(httplib::Server::HandlerWithResponse(
      [this](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        absl::Status status;
        if (res.status == 413) {
          status = absl::ResourceExhaustedError(absl::StrCat("request body is over the limit of ",
                                                             api_->max_body_bytes(),
                                                             " bytes (--max-body-bytes)"));
        } else {
          status = absl::Status(
              res.status == 404 ? absl::StatusCode::kNotFound : absl::StatusCode::kInvalidArgument,
              absl::StrCat("cannot serve ", req.method, " ", req.path, " (HTTP ", res.status, ")"));
        }
        const int code = res.status;
        Send(RestApi::Error(status), &res);
        res.status = code;  // keep the transport's own code (e.g. 405, 414)
        return httplib::Server::HandlerResponse::Handled;
      }));
  s.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown";
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        Send(RestApi::Error(absl::InternalError("internal error: " + what)), &res);
      });
  int port = options_.port;
  if (port == 0) {
    port = s.bind_to_any_port(options_.host);
    if (port < 0) port = 0;
  } else if (!s.bind_to_port(options_.host, port)) {
    port = 0;
  }
  if (port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options_.host, ":",
                                               options_.port, " (in use, or a bad address)"));
  }
  thread_ = std::thread([this, &s] {
    s.listen_after_bind();
    listen_returned_ = true;
  });
  // httplib's stop() does nothing until the accept loop runs, so a Stop() right after Start()
  // (e.g. the gRPC port turned out busy) would wait forever: return only once it runs.
  while (!s.is_running() && !listen_returned_) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (!s.is_running()) {
    thread_.join();
    return absl::UnavailableError(absl::StrCat("cannot serve on ", options_.host, ":", port));
  }
  return port;
}

void HttpServer::Stop() {
  if (server_ != nullptr) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace parasol
