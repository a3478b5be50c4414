// How the control service's REST handlers read and answer (http_api.cc, auth_api.cc): a request
// as SigV4 sees it, JSON bodies, and a failed Status as wire/http_status.h's code and body.
// Internal to control/; thread-safe.
#pragma once

#include <httplib.h>

#include <string>

#include "absl/status/status.h"
#include "control/auth/sigv4.h"
#include "wire/http_status.h"

namespace parasol::control {

inline void SendJson(httplib::Response& res, int http_status, const std::string& json) {
  res.status = http_status;
  res.set_content(json + "\n", "application/json");
}

inline void SendError(httplib::Response& res, const absl::Status& status) {
  SendJson(res, HttpStatusCode(status), HttpErrorBody(status, /*with_code=*/true));
}

// The request as SigV4 signs it: the path and query as sent (httplib's req.path is decoded).
inline auth::HttpRequestParts RequestParts(const httplib::Request& req) {
  auth::HttpRequestParts parts;
  parts.method = req.method;
  const size_t q = req.target.find('?');
  parts.path = req.target.substr(0, q);
  if (q != std::string::npos) parts.query = req.target.substr(q + 1);
  for (const auto& [name, value] : req.headers) parts.headers.emplace_back(name, value);
  parts.body = req.body;
  return parts;
}

}  // namespace parasol::control
