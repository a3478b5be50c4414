#include "control/local_backend.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/files.h"
#include "control/cluster_spec.h"
#include "control/metrics_log.h"
#include "control/replica_shim.h"

namespace parasol::control {
namespace {

namespace fs = std::filesystem;

// Fields after "(comm)" in /proc/PID/stat: [0] is the state (field 3), [19] the start time.
std::vector<std::string> ProcStatFields(int64_t pid) {
  const std::string stat = ReadFileToString(absl::StrCat("/proc/", pid, "/stat")).value_or("");
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return {};
  std::istringstream in(stat.substr(close + 1));
  std::vector<std::string> fields;
  std::string f;
  while (in >> f) fields.push_back(f);
  return fields;
}

std::string Describe(const Resources& r) {
  std::vector<std::string> parts;
  if (r.cpu > 0) parts.push_back(absl::StrFormat("cpu %g", r.cpu));
  if (r.memory_bytes > 0) parts.push_back(absl::StrFormat("memory %dMi", r.memory_bytes >> 20));
  if (r.gpu > 0) parts.push_back(absl::StrCat("gpu ", r.gpu));
  return parts.empty() ? "nothing" : absl::StrJoin(parts, ", ");
}

const ReplicaSpec* RoleOf(const JobSpec& expanded, const std::string& role) {
  for (const auto& r : expanded.replicas) {
    if (r.role == role) return &r;
  }
  return nullptr;
}

}  // namespace

absl::StatusOr<HeldPort> HeldPort::Hold(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::UnavailableError("socket: " + std::string(strerror(errno)));
  const int yes = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &yes, sizeof(yes));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const std::string why = strerror(errno);
    close(fd);
    return absl::UnavailableError(port == 0 ? "no free loopback port: " + why
                                            : absl::StrCat("loopback port ", port, ": ", why));
  }
  return HeldPort(fd, ntohs(addr.sin_port));
}

HeldPort::HeldPort(HeldPort&& other) noexcept : fd_(other.fd_), port_(other.port_) {
  other.fd_ = -1;
}

HeldPort& HeldPort::operator=(HeldPort&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = other.fd_;
    port_ = other.port_;
    other.fd_ = -1;
  }
  return *this;
}

HeldPort::~HeldPort() {
  if (fd_ >= 0) close(fd_);
}

uint64_t ProcessStartTicks(int64_t pid) {
  const auto fields = ProcStatFields(pid);
  uint64_t ticks = 0;
  if (fields.size() <= 19 || !absl::SimpleAtoi(fields[19], &ticks)) return 0;
  return ticks;
}

bool ProcessAlive(int64_t pid, uint64_t start_ticks) {
  if (pid <= 0) return false;
  const auto fields = ProcStatFields(pid);
  uint64_t ticks = 0;
  if (fields.size() <= 19 || !absl::SimpleAtoi(fields[19], &ticks)) return false;
  return fields[0] != "Z" && fields[0] != "X" && ticks == start_ticks;
}

LocalBackend::LocalBackend(LocalBackendOptions options) : options_(std::move(options)) {
  if (options_.cpu_capacity <= 0) options_.cpu_capacity = sysconf(_SC_NPROCESSORS_ONLN);
  if (options_.memory_capacity <= 0) {
    options_.memory_capacity = static_cast<int64_t>(sysconf(_SC_PHYS_PAGES)) *
                               static_cast<int64_t>(sysconf(_SC_PAGE_SIZE));
  }
}

// Replicas keep running when the service exits (they are re-attached on its next start).
LocalBackend::~LocalBackend() = default;

std::string LocalBackend::JobDir(const std::string& job) const {
  return (fs::path(options_.state_dir) / "jobs" / job).string();
}

std::string LocalBackend::MetricsPath(const std::string& job, const std::string& replica) const {
  return (fs::path(JobDir(job)) / "metrics" / (replica + ".jsonl")).string();
}

// Relative directories: the role's under the job's, the job's under STATE/jobs/NAME/work.
std::string LocalBackend::WorkingDir(const JobRecord& job, const JobSpec& expanded,
                                     const ReplicaSpec& role) const {
  return (fs::path(JobDir(job.name())) / "work" / expanded.working_dir / role.working_dir).string();
}

std::string LocalBackend::LogPath(const std::string& job, const std::string& replica) const {
  return (fs::path(JobDir(job)) / "logs" / (replica + ".log")).string();
}

absl::Status LocalBackend::Admit(const JobSpec& spec) {
  const Resources total = TotalResources(ExpandJob(spec, options_.parasol_binary));
  if (total.cpu > options_.cpu_capacity + 1e-9 || total.memory_bytes > options_.memory_capacity ||
      total.gpu > options_.gpus) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "resources: the job needs %s in all; this machine offers cpu %g, memory %dMi, gpu %d%s",
        Describe(total), options_.cpu_capacity, options_.memory_capacity >> 20, options_.gpus,
        total.gpu > options_.gpus ? " (start the control service with --gpus N)" : ""));
  }
  return absl::OkStatus();
}

bool LocalBackend::Reserve(const std::string& job, const JobSpec& expanded, std::string* waiting) {
  const Resources need = TotalResources(expanded);
  Reservation used;
  std::set<int> busy_gpus;
  for (const auto& [name, r] : reserved_) {
    used.cpu += r.cpu;
    used.memory += r.memory;
    busy_gpus.insert(r.gpus.begin(), r.gpus.end());
  }
  const int free_gpus = options_.gpus - static_cast<int>(busy_gpus.size());
  if (used.cpu + need.cpu > options_.cpu_capacity + 1e-9 ||
      used.memory + need.memory_bytes > options_.memory_capacity || need.gpu > free_gpus) {
    *waiting = absl::StrFormat("waiting for resources: needs %s; free: cpu %g, memory %dMi, gpu %d",
                               Describe(need), options_.cpu_capacity - used.cpu,
                               (options_.memory_capacity - used.memory) >> 20, free_gpus);
    return false;
  }
  Reservation mine{need.cpu, need.memory_bytes, {}, {}};
  for (int g = 0; g < options_.gpus && static_cast<int>(mine.gpus.size()) < need.gpu; ++g) {
    if (busy_gpus.count(g) == 0) mine.gpus.push_back(g);
  }
  reserved_[job] = std::move(mine);
  return true;
}

absl::StatusOr<bool> LocalBackend::Place(JobRecord& job, std::string* waiting) {
  const JobSpec expanded = ExpandJob(job.spec, options_.parasol_binary);
  if (!Reserve(job.name(), expanded, waiting)) return false;
  Reservation& mine = reserved_[job.name()];
  const std::string dir = JobDir(job.name());
  std::error_code ec;
  for (const char* sub : {"logs", "exit", "metrics", "work"}) {
    fs::create_directories(fs::path(dir) / sub, ec);
    if (ec) {
      reserved_.erase(job.name());
      return absl::UnavailableError("cannot create " + dir + "/" + sub + ": " + ec.message());
    }
  }
  job.replicas.clear();
  std::vector<int> gpus = mine.gpus;
  for (const auto& role : expanded.replicas) {
    const int gpu_each = EffectiveResources(expanded, role).gpu;
    for (int i = 0; i < role.count; ++i) {
      ReplicaStatus r;
      r.role = role.role;
      r.index = i;
      r.name = absl::StrCat(role.role, "-", i);
      auto port = HeldPort::Hold();
      if (!port.ok()) {
        reserved_.erase(job.name());
        return port.status();
      }
      r.port = port->port();
      mine.ports.push_back(*std::move(port));
      for (int g = 0; g < gpu_each && !gpus.empty(); ++g) {
        r.gpus.push_back(gpus.front());
        gpus.erase(gpus.begin());
      }
      job.replicas.push_back(r);
    }
  }
  return true;
}

absl::Status LocalBackend::StartReplica(const JobRecord& job, ReplicaStatus& replica) {
  const JobSpec expanded = ExpandJob(job.spec, options_.parasol_binary);
  const ReplicaSpec* role = RoleOf(expanded, replica.role);
  if (role == nullptr) return absl::InternalError("no role " + replica.role);
  ClusterAddresses cluster;
  for (const auto& r : job.replicas) {
    auto& list = cluster[r.role];
    if (static_cast<int>(list.size()) <= r.index) list.resize(r.index + 1);
    list[r.index] = absl::StrCat("127.0.0.1:", r.port);
  }
  SpawnOptions o;
  for (const auto& [k, v] : expanded.env) o.env.push_back(k + "=" + v);
  for (const auto& [k, v] : role->env) o.env.push_back(k + "=" + v);
  o.env.push_back("PARASOL_JOB=" + job.name());
  o.env.push_back("PARASOL_REPLICA=" + replica.name);
  o.env.push_back("PARASOL_ROLE=" + replica.role);
  o.env.push_back(absl::StrCat("PARASOL_REPLICA_INDEX=", replica.index));
  o.env.push_back(absl::StrCat("PARASOL_PORT=", replica.port));
  if (IsDistributed(expanded)) {
    o.env.push_back("PARASOL_CLUSTER=" +
                    ParasolClusterJson(job.name(), cluster, replica.role, replica.index));
    o.env.push_back("TF_CONFIG=" + TfConfigJson(cluster, replica.role, replica.index));
  }
  if (options_.gpus > 0 || !replica.gpus.empty()) {
    o.env.push_back("CUDA_VISIBLE_DEVICES=" + absl::StrJoin(replica.gpus, ","));
  }
  o.env.push_back("PARASOL_METRICS_FILE=" + MetricsPath(job.name(), replica.name));
  const std::string dir = JobDir(job.name());
  o.working_dir = WorkingDir(job, expanded, *role);
  const std::string exit_file = dir + "/exit/" + replica.name + ".exit";
  std::error_code ec;
  fs::remove(exit_file, ec);
  if (options_.log_to_files) {
    o.output_file = LogPath(job.name(), replica.name);
  } else {
    o.stdout_to_stderr = true;  // the shim's, and so the command's
  }
  o.argv = {options_.parasol_binary, "replica-exec", "--exit-file", exit_file, "--"};
  std::map<std::string, std::string> env;  // later entries win, as in the process's environment
  for (const std::string& kv : o.env) {
    const size_t eq = kv.find('=');
    env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const std::string& arg : role->command) o.argv.push_back(ExpandEnvReferences(arg, env));
  o.new_session = true;
  o.kill_on_destroy = false;
  o.die_with_parent = !options_.replicas_outlive_process;
  if (replica.restarts > 0 && options_.log_to_files) {
    std::ofstream log(o.output_file, std::ios::app);
    log << "--- parasol: restart " << replica.restarts << " of " << replica.name << " ---\n";
  }
  auto child = Subprocess::Spawn(o);
  if (!child.ok()) return child.status();
  replica.pid = (*child)->pid();
  replica.start_ticks = ProcessStartTicks(replica.pid);
  children_[replica.pid] = std::move(*child);
  return absl::OkStatus();
}

std::optional<int> LocalBackend::PollReplica(const JobRecord& job, const ReplicaStatus& replica) {
  const std::string exit_file = JobDir(job.name()) + "/exit/" + replica.name + ".exit";
  auto it = children_.find(replica.pid);
  if (it != children_.end()) {
    auto code = it->second->Poll();
    if (!code) return std::nullopt;
    children_.erase(it);
    return *code;
  }
  if (ProcessAlive(replica.pid, replica.start_ticks)) return std::nullopt;
  return ReadExitFile(exit_file);
}

absl::StatusOr<std::vector<ReplicaEvent>> LocalBackend::Poll(JobRecord& job, double /*now*/) {
  std::vector<ReplicaEvent> events;
  for (auto& r : job.replicas) {
    if (r.state != ReplicaState::kRunning) continue;
    const std::optional<int> code = PollReplica(job, r);
    if (!code) continue;
    // Anything the command left in its process group goes with it.
    if (r.pid > 0) kill(-r.pid, SIGKILL);
    r.pid = 0;
    ReplicaEvent event{r.name, ReplicaEvent::Type::kExited, std::nullopt, ""};
    if (*code >= 0) event.exit_code = *code;
    events.push_back(std::move(event));
  }
  return events;
}

std::vector<std::string> LocalBackend::StopReplicas(const JobRecord& job,
                                                    const std::vector<std::string>& replicas,
                                                    bool force) {
  for (const auto& r : job.replicas) {
    if (std::find(replicas.begin(), replicas.end(), r.name) == replicas.end()) continue;
    if (ProcessAlive(r.pid, r.start_ticks)) kill(-r.pid, force ? SIGKILL : SIGTERM);
  }
  return {};  // each exit is reported by Poll
}

void LocalBackend::Release(const JobRecord& job) { reserved_.erase(job.name()); }

std::vector<ReplicaEvent> LocalBackend::Recover(JobRecord& job) {
  std::vector<ReplicaEvent> events;
  for (const auto& r : job.replicas) {
    if (r.state != ReplicaState::kRunning) continue;
    if (ProcessAlive(r.pid, r.start_ticks)) {
      events.push_back({r.name, ReplicaEvent::Type::kRunning, std::nullopt,
                        "re-attached after a restart of the control service"});
    }
    // Ended ones are reported by the next Poll, from their exit files.
  }
  if (job.state == JobState::kRunning || !events.empty()) {
    Reservation mine;
    const Resources need = TotalResources(ExpandJob(job.spec, options_.parasol_binary));
    mine.cpu = need.cpu;
    mine.memory = need.memory_bytes;
    for (const auto& r : job.replicas) {
      mine.gpus.insert(mine.gpus.end(), r.gpus.begin(), r.gpus.end());
      // Held again where it can be: a replica listening without SO_REUSEPORT keeps its port
      // taken anyway while it runs.
      if (auto port = HeldPort::Hold(r.port); port.ok()) mine.ports.push_back(*std::move(port));
    }
    reserved_[job.name()] = std::move(mine);
  }
  return events;
}

CollectedMetrics LocalBackend::CollectMetrics(JobRecord& job, double now) {
  constexpr size_t kMaxChunk = 1 << 20;
  CollectedMetrics out;
  for (auto& r : job.replicas) {
    // One file per replica: the built-in trainer and workers append to it like any command.
    const std::string file = MetricsPath(job.name(), r.name);
    std::ifstream in(file, std::ios::binary);
    if (!in) continue;
    in.seekg(0, std::ios::end);
    const uint64_t size = static_cast<uint64_t>(in.tellg());
    uint64_t offset = r.metrics_offsets.count(file) ? r.metrics_offsets[file] : 0;
    if (size < offset) offset = 0;  // rewritten from the start by the replica
    if (size == offset) continue;
    in.seekg(static_cast<std::streamoff>(offset));
    std::string chunk(std::min<uint64_t>(kMaxChunk, size - offset), '\0');
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    chunk.resize(static_cast<size_t>(in.gcount()));
    ParsedChunk parsed = ParseMetricsChunk(chunk, r.name, now);
    if (parsed.consumed == 0 && chunk.size() == kMaxChunk) {
      parsed.consumed = chunk.size();  // a line longer than a chunk: skip it
      ++parsed.bad_lines;
    }
    if (parsed.consumed == 0) continue;
    r.metrics_offsets[file] = offset + parsed.consumed;
    r.metrics_bad_lines += parsed.bad_lines;
    out.advanced = true;
    out.points.insert(out.points.end(), parsed.points.begin(), parsed.points.end());
  }
  return out;
}

absl::StatusOr<std::string> LocalBackend::ReadLog(const JobRecord& job, const std::string& replica,
                                                  uint64_t offset, size_t max_bytes) {
  bool known = false;
  for (const auto& r : job.replicas) known |= r.name == replica;
  if (!known) {
    std::vector<std::string> names;
    for (const auto& r : job.replicas) names.push_back(r.name);
    return absl::NotFoundError(absl::StrCat("job '", job.name(), "' has no replica '", replica,
                                            "' (replicas: ", absl::StrJoin(names, ", "), ")"));
  }
  std::ifstream in(LogPath(job.name(), replica), std::ios::binary);
  if (!in) return std::string();
  in.seekg(0, std::ios::end);
  const uint64_t size = static_cast<uint64_t>(in.tellg());
  if (offset >= size) return std::string();
  in.seekg(static_cast<std::streamoff>(offset));
  std::string out(std::min<uint64_t>(max_bytes, size - offset), '\0');
  in.read(out.data(), static_cast<std::streamsize>(out.size()));
  out.resize(static_cast<size_t>(in.gcount()));
  return out;
}

absl::Status LocalBackend::Remove(const JobRecord& job) {
  Release(job);
  std::error_code ec;
  fs::remove_all(JobDir(job.name()), ec);
  if (ec)
    return absl::UnavailableError("cannot remove " + JobDir(job.name()) + ": " + ec.message());
  return absl::OkStatus();
}

}  // namespace parasol::control
