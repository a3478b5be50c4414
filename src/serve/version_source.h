// The source seam of the model server (TF Serving's Source): what should be served — every model
// with its config and the versions (and in-place deltas) it aspires to — without loading
// anything. The manager (model_repository.h) asks a source for its current view on each poll and
// loads, unloads and applies deltas to match. FileSystemSource is the one implementation today
// (BASE/NAME/VERSION/ folders and the --model-config file); a live update stream is meant to be a
// second one behind the same interface. Thread-compatible: the manager calls one source from one
// thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "serve/model_config.h"

namespace parasol {

// One delta a source offers for a version (VERSION/deltas/SEQ/ on disk).
struct AspiredDelta {
  int64_t seq = 0;
  std::string path;
  bool complete = false;    // its manifest is written: it may be applied
  std::string fingerprint;  // changes when its files change: a refused delta is retried then
};

// One version a model aspires to.
struct AspiredVersion {
  int64_t version = 0;
  std::string path;                  // empty: the policy names this version, but it does not exist
  std::string missing_reason;        // when `path` is empty: what is missing, for the status
  std::string fingerprint;           // changes when its files change: a failed load is retried then
  std::vector<AspiredDelta> deltas;  // in SEQ order
};

struct AspiredModel {
  ModelConfig config;
  // Newest first. The manager serves the first `wanted` of them that load, and keeps older
  // loaded ones serving while newer ones are still loading.
  std::vector<AspiredVersion> candidates;
  size_t wanted = SIZE_MAX;
  // Every version the source sees, aspired or not: the status of an unloaded or failed version
  // is kept while it is present.
  std::set<int64_t> present;
  std::string problem;  // why no version could be listed (e.g. no base folder), else empty
};

// A source's whole view at one moment. Models not listed are no longer served.
struct AspiredVersions {
  std::vector<AspiredModel> models;
  std::string config_error;  // the last rejected config change (the previous config stays)
};

class VersionSource {
 public:
  virtual ~VersionSource() = default;
  // The current view. An error only when the source has never had a valid view (e.g. a
  // config file that never parsed): the manager then changes nothing.
  virtual absl::StatusOr<AspiredVersions> GetAspiredVersions() = 0;
};

struct FileSystemSourceOptions {
  std::string config_path;  // --model-config; otherwise one model:
  std::string model_base;   // --model-base
  std::string model_name;   // --model-name (default: the base folder's name)
};

// Lists BASE/VERSION/ folders (named by digits only: "17.tmp" is ignored, so a writer can
// prepare a version under another name and rename it in) and their deltas/SEQ/ folders, and
// re-reads the config file when its text changes: a bad change is reported in config_error,
// logged once, and the previous config stays.
class FileSystemSource : public VersionSource {
 public:
  explicit FileSystemSource(FileSystemSourceOptions options);
  absl::StatusOr<AspiredVersions> GetAspiredVersions() override;

 private:
  absl::Status ReloadConfig();

  const FileSystemSourceOptions options_;
  bool have_config_ = false;
  RepositoryConfig config_;
  std::string config_text_;
  std::string config_error_;
};

}  // namespace parasol
