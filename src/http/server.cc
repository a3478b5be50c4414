#include "http/server.h"

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace parasol::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

std::string Request::Header(const std::string& name) const {
  for (const auto& [key, value] : headers) {
    if (absl::EqualsIgnoreCase(key, name)) return value;
  }
  return "";
}

namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// %XX decoded; a malformed escape stays as sent.
std::string PercentDecode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size()) {
      const int hi = HexValue(in[i + 1]), lo = HexValue(in[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(in[i]);
  }
  return out;
}

}  // namespace

class Session;

struct Server::Impl {
  Impl(Handler h, ErrorResponder e, ServerOptions o)
      : handler(std::move(h)), error(std::move(e)), options(std::move(o)) {}

  Handler handler;
  ErrorResponder error;
  ServerOptions options;
  std::atomic<int> open{0};
  std::mutex mu;
  std::unordered_set<Session*> sessions;  // guarded by mu
  bool stopping = false;                  // guarded by mu
  // Declared last: destroyed first, with the handlers (and sessions) it still holds.
  net::io_context ioc;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::optional<tcp::acceptor> acceptor;
  std::vector<std::thread> threads;

  void Accept();
};

// One connection: read a head (deadline), maybe its body (deadline), handle, write, repeat while
// the client keeps the connection alive. Runs on its own strand.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Server::Impl& server) : stream_(std::move(socket)), server_(server) {}

  ~Session() {
    std::lock_guard<std::mutex> lock(server_.mu);
    server_.sessions.erase(this);
    --server_.open;
  }

  void Start() {
    beast::error_code ec;
    const auto endpoint = stream_.socket().remote_endpoint(ec);
    peer_ = ec ? "" : endpoint.address().to_string();
    stream_.socket().set_option(tcp::no_delay(true), ec);
    ReadHead(server_.options.header_timeout);
  }

  // From Stop(): a connection waiting for a request is closed now; one being handled is closed
  // once its answer is written.
  // REQUIRES: the caller holds a reference (Stop()).
  void Shutdown() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      self->close_after_write_ = true;
      if (!self->handling_) self->Close();
    });
  }

 private:
  void ReadHead(std::chrono::milliseconds deadline) {
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(server_.options.max_header_bytes));
    parser_->body_limit(server_.options.max_body_bytes);
    stream_.expires_after(deadline);
    bhttp::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnHead(ec); });
  }

  void OnHead(beast::error_code ec) {
    if (ec) return Refuse(ec, "request head");
    const auto& head = parser_->get();
    const auto length = parser_->content_length();
    if (length && *length > server_.options.max_body_bytes) {
      return Fail(413, absl::ResourceExhaustedError(
                           absl::StrCat("request body of ", *length, " bytes is over the limit of ",
                                        server_.options.max_body_bytes, " bytes")));
    }
    if (parser_->is_done()) return Handle();
    stream_.expires_after(server_.options.body_timeout);
    if (absl::EqualsIgnoreCase(std::string(head[bhttp::field::expect]), "100-continue")) {
      auto cont = std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::continue_,
                                                                       head.version());
      bhttp::async_write(stream_, *cont,
                         [self = shared_from_this(), cont](beast::error_code ec, size_t) {
                           if (ec) return self->Close();
                           self->ReadBody();
                         });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = shared_from_this()](beast::error_code ec, size_t) {
                        if (ec) return self->Refuse(ec, "request body");
                        self->Handle();
                      });
  }

  // A read that failed: closed by the client or by its deadline (nothing to answer), or a
  // request we refuse with a status.
  void Refuse(beast::error_code ec, const char* what) {
    if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout ||
        ec == net::error::operation_aborted || ec == net::error::connection_reset ||
        ec == net::error::eof) {
      return Close();
    }
    if (ec == bhttp::error::body_limit) {
      return Fail(413, absl::ResourceExhaustedError(
                           absl::StrCat("request body is over the limit of ",
                                        server_.options.max_body_bytes, " bytes")));
    }
    if (ec == bhttp::error::header_limit) {
      return Fail(431, absl::InvalidArgumentError(absl::StrCat(
                           "request head is over ", server_.options.max_header_bytes, " bytes")));
    }
    Fail(400, absl::InvalidArgumentError(absl::StrCat("malformed ", what, ": ", ec.message())));
  }

  void Fail(int status, const absl::Status& why) {
    close_after_write_ = true;
    Write(server_.error(status, why), /*keep_alive=*/false, 11);
  }

  void Handle() {
    bhttp::request<bhttp::string_body> req = parser_->release();
    Request request;
    request.method = std::string(req.method_string());
    request.target = std::string(req.target());
    const size_t q = request.target.find('?');
    request.path = PercentDecode(std::string_view(request.target).substr(0, q));
    if (q != std::string::npos) request.query = request.target.substr(q + 1);
    for (const auto& field : req) {
      request.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    request.body = std::move(req.body());
    request.peer = peer_;
    handling_ = true;
    Response response;
    try {
      response = server_.handler(request);
    } catch (const std::exception& e) {
      response =
          server_.error(500, absl::InternalError(absl::StrCat("internal error: ", e.what())));
    } catch (...) {
      response = server_.error(500, absl::InternalError("internal error"));
    }
    Write(std::move(response), req.keep_alive(), req.version());
  }

  void Write(Response response, bool keep_alive, unsigned version) {
    handling_ = true;
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>(
        static_cast<bhttp::status>(response.status), version);
    res->set(bhttp::field::content_type, response.content_type);
    for (const auto& [name, value] : response.headers) res->set(name, value);
    res->body() = std::move(response.body);
    res->keep_alive(keep_alive && !close_after_write_);
    res->prepare_payload();
    stream_.expires_after(server_.options.body_timeout);  // a client that will not read
    bhttp::async_write(stream_, *res,
                       [self = shared_from_this(), res](beast::error_code ec, size_t) {
                         self->handling_ = false;
                         if (ec || !res->keep_alive() || self->close_after_write_) {
                           return self->Close();
                         }
                         self->ReadHead(self->server_.options.idle_timeout);
                       });
  }

  void Close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }

  beast::tcp_stream stream_;
  Server::Impl& server_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::string peer_;
  bool handling_ = false;
  bool close_after_write_ = false;
};

void Server::Impl::Accept() {
  acceptor->async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == net::error::operation_aborted) return;  // Stop()
    } else {
      std::shared_ptr<Session> session;
      {
        std::lock_guard<std::mutex> lock(mu);
        if (!stopping && open.load() < options.max_connections) {
          ++open;
          session = std::make_shared<Session>(std::move(socket), *this);
          sessions.insert(session.get());
        }
      }
      if (session != nullptr) session->Start();  // else the socket closes here
    }
    if (acceptor->is_open()) Accept();
  });
}

Server::Server(Handler handler, ErrorResponder error, ServerOptions options)
    : impl_(std::make_unique<Impl>(std::move(handler), std::move(error), std::move(options))) {}

Server::~Server() { Stop(); }

absl::StatusOr<int> Server::Start() {
  Impl& s = *impl_;
  beast::error_code ec;
  const auto address = net::ip::make_address(s.options.host, ec);
  if (ec) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot listen on ", s.options.host, ": not an IP address"));
  }
  // The acceptor lives on a strand: its completions and Stop()'s close never run at once.
  s.acceptor.emplace(net::make_strand(s.ioc));
  const tcp::endpoint endpoint(address, static_cast<uint16_t>(s.options.port));
  s.acceptor->open(endpoint.protocol(), ec);
  // SO_REUSEADDR (a quick restart) but not SO_REUSEPORT: a second server must not share a port
  // that is in use.
  if (!ec) s.acceptor->set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) s.acceptor->bind(endpoint, ec);
  if (!ec) s.acceptor->listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    s.acceptor.reset();
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", s.options.host, ":", s.options.port, ": ", ec.message()));
  }
  const int port = s.acceptor->local_endpoint().port();
  s.work.emplace(s.ioc.get_executor());
  s.Accept();
  for (int i = 0; i < std::max(1, s.options.threads); ++i) {
    s.threads.emplace_back([&s] { s.ioc.run(); });
  }
  return port;
}

void Server::Stop() {
  Impl& s = *impl_;
  if (s.threads.empty()) return;
  net::post(s.acceptor->get_executor(), [&s] {
    beast::error_code ec;
    if (s.acceptor) s.acceptor->close(ec);
  });
  // References taken under the lock, used and dropped outside it: the last reference to a
  // session may be ours, and its destructor takes the lock.
  std::vector<std::shared_ptr<Session>> live;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    s.stopping = true;
    for (Session* session : s.sessions) {
      if (auto held = session->weak_from_this().lock()) live.push_back(std::move(held));
    }
  }
  for (auto& session : live) session->Shutdown();
  live.clear();
  s.work.reset();
  // Connections close once their answers are written; a handler that never returns is not
  // waited for past 5 s.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (s.open.load() > 0 && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  s.ioc.stop();
  for (auto& t : s.threads) t.join();
  s.threads.clear();
}

int Server::open_connections() const { return impl_->open.load(); }

}  // namespace parasol::http
