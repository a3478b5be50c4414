// Where workflow runs live: table workflow_runs(name PRIMARY KEY, created_at, record JSON) in
// the control service's SQLite file (control.db, beside the jobs), through a connection of its
// own. One transaction per call, so a killed service loses at most the call in flight.
// Thread-safe.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "control/workflow/workflow_run.h"

namespace parasol::control {

class WorkflowStore {
 public:
  virtual ~WorkflowStore() = default;
  // Inserts or replaces the run of that name.
  virtual absl::Status Put(const WorkflowRun& run) = 0;
  // Every run, oldest first.
  virtual absl::StatusOr<std::vector<WorkflowRun>> List() = 0;
};

absl::StatusOr<std::unique_ptr<WorkflowStore>> OpenSqliteWorkflowStore(const std::string& path);

}  // namespace parasol::control
