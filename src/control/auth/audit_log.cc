#include "control/auth/audit_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <fstream>
#include <nlohmann/json.hpp>

namespace parasol::auth {

std::string AuditEntryToJson(const AuditEntry& e) {
  nlohmann::ordered_json j;
  j["time"] = e.time;
  j["tenant"] = e.tenant;
  j["accessKey"] = e.access_key;
  j["action"] = e.action;
  j["target"] = e.target;
  j["result"] = e.result;
  j["message"] = e.message;
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

absl::StatusOr<std::unique_ptr<AuditLog>> AuditLog::Open(const std::string& path) {
  const int fd = open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::UnavailableError("cannot open the audit log " + path + ": " +
                                  std::strerror(errno));
  }
  // A line torn by a crash is ended, so the next entry starts on its own line.
  const off_t size = lseek(fd, 0, SEEK_END);
  char last = '\n';
  std::ifstream tail(path, std::ios::binary);
  if (size > 0 && tail.seekg(size - 1) && tail.get(last) && last != '\n') {
    if (write(fd, "\n", 1) != 1) {
      close(fd);
      return absl::UnavailableError("cannot append to the audit log " + path);
    }
  }
  return std::unique_ptr<AuditLog>(new AuditLog(path, fd));
}

AuditLog::AuditLog(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}

AuditLog::~AuditLog() { close(fd_); }

absl::Status AuditLog::Append(const AuditEntry& entry) {
  const std::string line = AuditEntryToJson(entry) + "\n";
  std::lock_guard<std::mutex> lock(mu_);
  if (write(fd_, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    return absl::UnavailableError("cannot append to the audit log " + path_ + ": " +
                                  std::strerror(errno));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<AuditEntry>> AuditLog::Read(const std::string& tenant, size_t limit) {
  std::ifstream in(path_);
  if (!in) return absl::UnavailableError("cannot read the audit log " + path_);
  std::deque<AuditEntry> kept;
  std::string line;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object()) continue;
    AuditEntry e;
    try {
      e.time = j.value("time", 0.0);
      e.tenant = j.value("tenant", "");
      e.access_key = j.value("accessKey", "");
      e.action = j.value("action", "");
      e.target = j.value("target", "");
      e.result = j.value("result", 0);
      e.message = j.value("message", "");
    } catch (const nlohmann::json::exception&) {
      continue;  // not an entry this version wrote
    }
    if (!tenant.empty() && e.tenant != tenant) continue;
    kept.push_back(std::move(e));
    if (limit > 0 && kept.size() > limit) kept.pop_front();
  }
  return std::vector<AuditEntry>(kept.begin(), kept.end());
}

}  // namespace parasol::auth
