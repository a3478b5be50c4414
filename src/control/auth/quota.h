// A tenant's quota (cpu, memory, gpu, concurrent jobs) and the check a submission passes: what
// the job asks plus what the tenant's unfinished jobs hold must fit every limit. Plain values and
// a pure function; thread-safe.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace parasol::auth {

// Limits; a negative one means "no limit" for that resource (0 allows none).
struct Quota {
  double cpu = -1;
  int64_t memory_bytes = -1;
  int64_t gpu = -1;
  int64_t jobs = -1;
};

// What jobs hold (reserved resources summed over their replicas, and how many jobs).
struct Usage {
  double cpu = 0;
  int64_t memory_bytes = 0;
  int64_t gpu = 0;
  int64_t jobs = 0;
};

// OK when `used` + `asked` fits `quota`. Under a cpu or memory limit the job must state that
// resource (InvalidArgument otherwise, as Kubernetes' ResourceQuota asks). Otherwise
// ResourceExhausted naming, for the first limit exceeded, what the job asks, what the tenant uses
// and the quota, e.g. "tenant 'team-a': quota exceeded for cpu: the job asks 4, 6 are in use, the
// quota is 8".
absl::Status CheckQuota(const std::string& tenant, const Quota& quota, const Usage& used,
                        const Usage& asked);

// "512Mi" and the like for memory in messages and tables.
std::string FormatBytes(int64_t bytes);

}  // namespace parasol::auth
