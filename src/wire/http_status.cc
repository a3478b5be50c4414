#include "wire/http_status.h"

#include <nlohmann/json.hpp>
#include <string>

#include "absl/strings/str_cat.h"

namespace parasol {

int HttpStatusCode(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
      return 400;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kAborted:
      return 409;
    case absl::StatusCode::kResourceExhausted:
      return 413;
    case absl::StatusCode::kUnimplemented:
      return 501;
    case absl::StatusCode::kUnavailable:
      return 503;
    case absl::StatusCode::kDeadlineExceeded:
      return 504;
    default:
      return 500;
  }
}

std::string HttpErrorBody(const absl::Status& status, bool with_code) {
  nlohmann::json body = {{"error", std::string(status.message())}};
  if (with_code) body["code"] = absl::StatusCodeToString(status.code());
  // Messages may quote request bytes that are not valid UTF-8: replace rather than throw.
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

absl::StatusCode StatusCodeFromHttp(int http_status) {
  switch (http_status) {
    case 400:
    case 422:
      return absl::StatusCode::kInvalidArgument;
    case 401:
      return absl::StatusCode::kUnauthenticated;
    case 403:
      return absl::StatusCode::kPermissionDenied;
    case 404:
      return absl::StatusCode::kNotFound;
    case 409:
      return absl::StatusCode::kAlreadyExists;
    case 413:
    case 429:
      return absl::StatusCode::kResourceExhausted;
    case 501:
      return absl::StatusCode::kUnimplemented;
    case 502:
    case 503:
      return absl::StatusCode::kUnavailable;
    case 504:
      return absl::StatusCode::kDeadlineExceeded;
    default:
      return http_status >= 400 && http_status < 500 ? absl::StatusCode::kFailedPrecondition
                                                     : absl::StatusCode::kInternal;
  }
}

absl::Status StatusFromHttp(int http_status, std::string_view body) {
  std::string message(body.substr(0, 500));
  absl::StatusCode code = StatusCodeFromHttp(http_status);
  bool named = false;
  const auto j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_object()) {
    if (auto e = j.find("error"); e != j.end() && e->is_string()) message = e->get<std::string>();
    if (auto c = j.find("code"); c != j.end() && c->is_string()) {
      for (int i = 1; i <= 16; ++i) {
        if (absl::StatusCodeToString(static_cast<absl::StatusCode>(i)) == c->get<std::string>()) {
          code = static_cast<absl::StatusCode>(i);
          named = true;
        }
      }
    }
  }
  if (!named &&
      (code == absl::StatusCode::kInternal || code == absl::StatusCode::kFailedPrecondition)) {
    message = absl::StrCat("HTTP ", http_status, ": ", message);
  }
  return absl::Status(code, message);
}

}  // namespace parasol
