// The one place where absl::Status becomes an HTTP status code (for every REST front end: the
// model server's TF Serving and KServe V2 APIs, later the control plane). Stateless; thread-safe.
#pragma once

#include <string>

#include "absl/status/status.h"

namespace parasol {

// OK → 200; InvalidArgument, FailedPrecondition, OutOfRange → 400; Unauthenticated → 401;
// PermissionDenied → 403; NotFound → 404; AlreadyExists, Aborted → 409; ResourceExhausted
// (a request over a size bound) → 413; Unimplemented → 501; Unavailable → 503;
// DeadlineExceeded → 504; anything else → 500.
int HttpStatusCode(const absl::Status& status);

// The JSON error body every REST API answers with: {"error": "MESSAGE"}.
std::string HttpErrorBody(const absl::Status& status);

}  // namespace parasol
