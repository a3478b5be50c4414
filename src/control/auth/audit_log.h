// The append-only audit log of the control service: one JSON line per authenticated request or
// refused one (time, tenant, key id, action, job or target, HTTP result, message), written with
// O_APPEND in a single write so concurrent lines never interleave; never a secret (messages come
// from the verifier and the service, which name keys by id only). Read back by `parasol audit`.
// Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace parasol::auth {

struct AuditEntry {
  double time = 0;         // seconds since the epoch
  std::string tenant;      // "" when the caller was not identified
  std::string access_key;  // "" when none was given or it was unknown
  std::string action;      // "job.submit", "job.get", "tenant.create", "auth" (refused), ...
  std::string target;      // the job, tenant or key acted on; "" for none
  int result = 0;          // the HTTP status answered
  std::string message;     // the error, for failures
};

class AuditLog {
 public:
  // Opens `path` for appending (created 0600).
  static absl::StatusOr<std::unique_ptr<AuditLog>> Open(const std::string& path);
  ~AuditLog();

  absl::Status Append(const AuditEntry& entry);
  // The newest `limit` entries (all when 0), oldest first; only `tenant`'s when it is not "".
  // Lines that are not entries (a torn write after a crash) are skipped.
  absl::StatusOr<std::vector<AuditEntry>> Read(const std::string& tenant, size_t limit);

 private:
  AuditLog(std::string path, int fd);
  const std::string path_;
  const int fd_;
  std::mutex mu_;
};

std::string AuditEntryToJson(const AuditEntry& entry);

}  // namespace parasol::auth
