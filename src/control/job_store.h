// Where job records live: a small interface over the embedded SQLite store (sqlite_job_store.cc),
// so another database could take its place. Implementations are thread-safe.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "control/job_record.h"

namespace parasol::control {

class JobStore {
 public:
  virtual ~JobStore() = default;
  // Adds a new job; AlreadyExists when a job of that name is stored.
  virtual absl::Status Create(const JobRecord& record) = 0;
  // Replaces a stored job; NotFound when there is none of that name.
  virtual absl::Status Update(const JobRecord& record) = 0;
  // NotFound when absent.
  virtual absl::StatusOr<JobRecord> Get(const std::string& name) = 0;
  // Every job, oldest first.
  virtual absl::StatusOr<std::vector<JobRecord>> List() = 0;
  // NotFound when absent. Removes the job's metrics too.
  virtual absl::Status Delete(const std::string& name) = 0;

  // Appends metric points of job `name` (one transaction).
  virtual absl::Status AppendMetrics(const std::string& name,
                                     const std::vector<MetricPoint>& points) = 0;
  // The job's points, by replica, name and step.
  virtual absl::StatusOr<std::vector<MetricPoint>> Metrics(const std::string& name) = 0;
};

// The embedded store: one SQLite file at `path` (created with its schema when missing), written
// with a transaction per call so a killed service loses at most the call in flight.
absl::StatusOr<std::unique_ptr<JobStore>> OpenSqliteJobStore(const std::string& path);

}  // namespace parasol::control
