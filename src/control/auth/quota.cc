#include "control/auth/quota.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace parasol::auth {

std::string FormatBytes(int64_t bytes) {
  if (bytes > 0 && bytes % (int64_t{1} << 30) == 0) return absl::StrCat(bytes >> 30, "Gi");
  if (bytes > 0 && bytes % (int64_t{1} << 20) == 0) return absl::StrCat(bytes >> 20, "Mi");
  return absl::StrCat(bytes);
}

absl::Status CheckQuota(const std::string& tenant, const Quota& quota, const Usage& used,
                        const Usage& asked) {
  auto refuse = [&](const char* what, const std::string& ask, const std::string& in_use,
                    const std::string& limit) {
    return absl::ResourceExhaustedError(
        absl::StrCat("tenant '", tenant, "': quota exceeded for ", what, ": the job asks ", ask,
                     ", ", in_use, " in use by the tenant's unfinished jobs, the quota is ", limit,
                     " (see 'parasol quota show')"));
  };
  // As with Kubernetes' ResourceQuota: under a cpu or memory quota a job must state what it uses.
  if ((quota.cpu >= 0 && asked.cpu <= 0) || (quota.memory_bytes >= 0 && asked.memory_bytes <= 0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tenant '", tenant, "' has a ", quota.cpu >= 0 && asked.cpu <= 0 ? "cpu" : "memory",
        " quota: the job must state resources.",
        quota.cpu >= 0 && asked.cpu <= 0 ? "cpu" : "memory", " (for the job or each replica)"));
  }
  if (quota.jobs >= 0 && used.jobs + 1 > quota.jobs) {
    return refuse("jobs", "1 job", absl::StrCat(used.jobs), absl::StrCat(quota.jobs, " jobs"));
  }
  if (quota.cpu >= 0 && used.cpu + asked.cpu > quota.cpu + 1e-9) {
    return refuse("cpu", absl::StrFormat("%g cpu", asked.cpu), absl::StrFormat("%g", used.cpu),
                  absl::StrFormat("%g cpu", quota.cpu));
  }
  if (quota.memory_bytes >= 0 && used.memory_bytes + asked.memory_bytes > quota.memory_bytes) {
    return refuse("memory", FormatBytes(asked.memory_bytes), FormatBytes(used.memory_bytes),
                  FormatBytes(quota.memory_bytes));
  }
  if (quota.gpu >= 0 && asked.gpu > 0 && used.gpu + asked.gpu > quota.gpu) {
    return refuse("gpu", absl::StrCat(asked.gpu, " gpu"), absl::StrCat(used.gpu),
                  absl::StrCat(quota.gpu, " gpu"));
  }
  return absl::OkStatus();
}

}  // namespace parasol::auth
