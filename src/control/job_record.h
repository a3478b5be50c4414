// What the control plane knows about a submitted job: its spec, its state, and each replica's
// process, restarts and exit. This is what the store persists and the API returns. Plain values;
// thread-compatible.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "control/job_spec.h"

namespace parasol::control {

// Pending: accepted, not started (queued for resources). Running: replicas started. The rest are
// final: Succeeded (every worker succeeded), Failed (a replica failed beyond the restart policy,
// the deadline passed, or the service lost track of it), Stopped (a user stopped it).
enum class JobState { kPending, kRunning, kSucceeded, kFailed, kStopped };
enum class ReplicaState { kPending, kRunning, kSucceeded, kFailed, kStopped };

const char* JobStateName(JobState state);
const char* ReplicaStateName(ReplicaState state);
bool IsFinal(JobState state);

struct ReplicaStatus {
  std::string name;  // ROLE-INDEX
  std::string role;
  int index = 0;
  ReplicaState state = ReplicaState::kPending;
  int port = 0;  // loopback port assigned to this replica (its address in the cluster spec)
  // The process (local backend): its pid and start time in clock ticks since boot
  // (/proc/PID/stat field 22), which together identify it across a restart of the service.
  int64_t pid = 0;
  uint64_t start_ticks = 0;
  int restarts = 0;
  std::optional<int> exit_code;
  std::string reason;        // why it is in its state, for people
  double next_start = 0;     // Pending after a failure: not before this time (backoff)
  bool stopping = false;     // a stop was requested; its exit counts as Stopped
  double stop_deadline = 0;  // stopping: when SIGTERM turns into SIGKILL
  std::vector<int> gpus;     // devices given through CUDA_VISIBLE_DEVICES
  // Metric files read so far: path -> bytes consumed (whole lines only), so a restarted service
  // does not ingest a point twice. Lines that are not JSON objects are counted, not ingested.
  std::map<std::string, uint64_t> metrics_offsets;
  int metrics_bad_lines = 0;
};

// One value of one series: what a replica reported at a training step.
struct MetricPoint {
  std::string replica;
  std::string name;  // loss, valid_auc, examples_per_sec, ...
  int64_t step = 0;
  double time = 0;  // seconds since the epoch, when it was reported or ingested
  double value = 0;
};

struct JobRecord {
  JobSpec spec;
  std::string tenant;  // who submitted it (control --auth); "" for jobs submitted without auth
  JobState state = JobState::kPending;
  std::string reason;
  double created_at = 0;  // seconds since the epoch
  double started_at = 0;
  double finished_at = 0;
  int restarts = 0;  // over all replicas; compared with spec.backoff_limit
  bool delete_requested = false;
  std::vector<ReplicaStatus> replicas;

  const std::string& name() const { return spec.name; }
  // True while any replica has a live process (a final job may still be stopping some).
  bool HasLiveReplicas() const;
  ReplicaStatus* FindReplica(const std::string& name);
};

// The JSON the API returns and the store keeps ("state": "Running", replicas as a list).
std::string JobRecordToJson(const JobRecord& record);
// Reads what JobRecordToJson wrote; `source` names the record in errors.
absl::StatusOr<JobRecord> JobRecordFromJson(const std::string& json, const std::string& source);

}  // namespace parasol::control
