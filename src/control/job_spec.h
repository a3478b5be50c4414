// A job as the user writes it (YAML or JSON): what to run, how many replicas of each role, what
// they need and how failures are handled. Parsing validates everything and names the field at
// fault. Plain values; thread-compatible.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace parasol::config {
class Node;
}  // namespace parasol::config

namespace parasol::control {

enum class JobKind { kTrain, kServe, kCustom };
enum class RestartPolicy { kNever, kOnFailure, kExitCode };

const char* JobKindName(JobKind kind);
const char* RestartPolicyName(RestartPolicy policy);

// What one replica asks of the machine. Zero means "not stated" (no reservation).
struct Resources {
  double cpu = 0;            // cores; "500m" in a spec is 0.5
  int64_t memory_bytes = 0;  // "512Mi", "2Gi", "1G" or a byte count
  int gpu = 0;               // whole devices, given through CUDA_VISIBLE_DEVICES
  bool operator==(const Resources&) const = default;
};

// One role (ps, worker, chief, ...): `count` replicas named ROLE-0 .. ROLE-(count-1).
struct ReplicaSpec {
  std::string role;
  int count = 1;
  std::vector<std::string> command;        // argv; argv[0] looked up in PATH
  std::map<std::string, std::string> env;  // on top of the job's env
  std::string working_dir;                 // empty: the job's
  Resources resources;                     // zero fields inherit the job's
  std::string image;                       // container image (Kubernetes); empty: the job's
  bool operator==(const ReplicaSpec&) const = default;
};

// kind: train — the built-in trainer. servers == 0: one replica `trainer-0` = `parasol train`;
// otherwise replicas ps-0..S-1 = `parasol ps server -- FLAGS` and worker-0..W-1 =
// `parasol ps worker --resume FLAGS`. `flags` are passed as --KEY VALUE.
struct TrainSpec {
  int servers = 0;
  int workers = 1;
  std::vector<std::pair<std::string, std::string>> flags;
  // Distributed jobs: worker 0 checkpoints the servers every "30s" or "500" worker batches into
  // `checkpoint_dir` (default ARGS.out/checkpoints), and once at the end, keeping the newest
  // `keep_checkpoints`; a restarted server starts from the newest one (`ps server
  // --restore-latest`). A `checkpoint_dir` without `checkpoint_every`: only the checkpoint at the
  // end. Both empty: none.
  std::string checkpoint_every;
  std::string checkpoint_dir;
  int keep_checkpoints = 5;
  // Distributed jobs: the servers start from this checkpoint or model directory (any server
  // count) while `checkpoint_dir` has no checkpoint yet. Empty: from initial weights.
  std::string restore;
  bool operator==(const TrainSpec&) const = default;
};

// kind: serve — model servers that run until the job is stopped: replicas server-0.. =
// `parasol serve --rest-port $(PARASOL_PORT) --port 0 FLAGS` (REST on the replica's own port).
struct ServeSpec {
  int replicas = 1;
  std::vector<std::pair<std::string, std::string>> flags;
  bool operator==(const ServeSpec&) const = default;
};

struct JobSpec {
  std::string name;  // DNS label: [a-z0-9-], at most 63, starts and ends alphanumeric
  JobKind kind = JobKind::kCustom;
  std::vector<ReplicaSpec> replicas;  // in the spec's order; empty for kind train until expanded
  std::map<std::string, std::string> env;
  std::string working_dir;
  Resources resources;  // per replica, unless the role says otherwise
  RestartPolicy restart_policy = RestartPolicy::kNever;
  int backoff_limit = 3;                // restarts allowed over the whole job
  int64_t active_deadline_seconds = 0;  // 0: none
  TrainSpec train;
  ServeSpec serve;
  // Used by the Kubernetes backend only: the container image and the nodes pods may run on.
  std::string image;
  std::map<std::string, std::string> node_selector;
  bool operator==(const JobSpec&) const = default;
};

// Parses and validates a spec. `source` names the input in messages ("job.yaml"); errors read
// "SOURCE:LINE: FIELD: what was expected", e.g. "job.yaml:4: replicas.worker.count: expected a
// positive integer"; unknown fields are refused ("did you mean 'restartPolicy'?"). JSON is
// accepted as the YAML subset it is.
absl::StatusOr<JobSpec> ParseJobSpec(const std::string& text, const std::string& source);

// The spec at `node` of a document being read with common/config_reader.h (ParseJobSpec's
// reader, for documents that hold a spec, such as stored job records). Fails the read at the
// field at fault. A non-empty `given_name` names the job instead of a "name" key, which is then
// refused (a workflow step's inline job is named by its run).
JobSpec ReadJobSpec(const config::Node& node, const std::string& given_name = "");

// Quantities as a spec writes them, for other documents that hold them (tenant quotas): cpu
// cores ("500m", 2) and memory ("512Mi", "2Gi", "1G" or bytes). Fail the read at `node`.
double ReadCpuQuantity(const config::Node& node);
int64_t ReadMemoryQuantity(const config::Node& node);

// The canonical JSON form; ParseJobSpec(ToJson(spec)) == spec.
std::string JobSpecToJson(const JobSpec& spec);

// For kinds train and serve: the replicas running `parasol_binary` (see TrainSpec, ServeSpec).
// Custom jobs are returned unchanged.
JobSpec ExpandJob(const JobSpec& spec, const std::string& parasol_binary);

// Kubernetes' expansion of a command argument, which the local backend applies too so that a
// command means the same on both: "$(NAME)" becomes the value of NAME in `env` when it is
// defined there (else it stays as written); "$$(NAME)" is the literal "$(NAME)". Other "$" are
// kept, so shell text such as "$((1 + 2))" or "$$" passes through.
std::string ExpandEnvReferences(const std::string& arg,
                                const std::map<std::string, std::string>& env);

// True when the job runs more than one process (the cluster spec is then given to each).
bool IsDistributed(const JobSpec& spec);

// The resources of one replica of `role`: the role's, with zero fields taken from the job.
Resources EffectiveResources(const JobSpec& spec, const ReplicaSpec& role);

// What the whole job reserves: EffectiveResources summed over every replica of `expanded`
// (ExpandJob's result).
Resources TotalResources(const JobSpec& expanded);

}  // namespace parasol::control
