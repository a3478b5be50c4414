// How the control service's REST handlers answer (http_api.cc, auth_api.cc): JSON bodies, and a
// failed Status as wire/http_status.h's code and body. Internal to control/; thread-safe.
#pragma once

#include <httplib.h>

#include <string>

#include "absl/status/status.h"
#include "wire/http_status.h"

namespace parasol::control {

inline void SendJson(httplib::Response& res, int http_status, const std::string& json) {
  res.status = http_status;
  res.set_content(json + "\n", "application/json");
}

inline void SendError(httplib::Response& res, const absl::Status& status) {
  SendJson(res, HttpStatusCode(status), HttpErrorBody(status, /*with_code=*/true));
}

}  // namespace parasol::control
