// The one place where absl::Status and HTTP status codes convert into each other (for every REST
// front end: the model server's TF Serving and KServe V2 APIs, the control plane's /api/v1; and
// for the clients of those APIs and of the Kubernetes API). Stateless; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace parasol {

// OK → 200; InvalidArgument, FailedPrecondition, OutOfRange → 400; Unauthenticated → 401;
// PermissionDenied → 403; NotFound → 404; AlreadyExists, Aborted → 409; ResourceExhausted
// (a request over a size bound, a job larger than the machine) → 413; Unimplemented → 501;
// Unavailable → 503; DeadlineExceeded → 504; anything else → 500.
int HttpStatusCode(const absl::Status& status);

// The JSON error body every REST API answers with: {"error": "MESSAGE"}. With `with_code`,
// {"error": "MESSAGE", "code": "INVALID_ARGUMENT"} (absl's name of the code), which lets a client
// of our own APIs get the exact code back (StatusFromHttp), whatever HTTP code carried it.
std::string HttpErrorBody(const absl::Status& status, bool with_code = false);

// The inverse of HttpStatusCode for a failed answer (status >= 400), for any HTTP server:
// 400, 422 → InvalidArgument; 401 → Unauthenticated; 403 → PermissionDenied; 404 → NotFound;
// 409 → AlreadyExists; 413, 429 → ResourceExhausted; 501 → Unimplemented; 502, 503 →
// Unavailable; 504 → DeadlineExceeded; any other 4xx → FailedPrecondition; else Internal.
absl::StatusCode StatusCodeFromHttp(int http_status);

// A failed answer of one of our REST APIs as a Status: the message is the body's "error" (the
// whole body, at most 500 bytes, when it is not such JSON), the code the body's "code" when it
// names one, else StatusCodeFromHttp(http_status). Codes other than the mapped ones keep
// "HTTP N: " in front of the message, so an unexpected answer is recognisable.
absl::Status StatusFromHttp(int http_status, std::string_view body);

}  // namespace parasol
