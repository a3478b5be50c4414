// Which models a server serves and how: the `--model-config` file (YAML, or JSON, which YAML
// reads too), or one model from `--model-base`. Plain values; thread-compatible.
//
//   models:
//     - name: churn                  # [A-Za-z0-9_.-]+, unique
//       base_path: models/churn      # versions are integer sub-directories; a relative path is
//                                    #   relative to the config file's folder
//       version_policy: {latest: 2}  # or {all: {}} / all, or {specific: [3, 4]}; default latest 1
//       labels: {stable: 3, canary: 4}       # label ([A-Za-z0-9_]+) → version
//       traffic: {stable: 90, canary: 10}    # bare-name requests split across labels by weight
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace parasol {

struct VersionPolicy {
  enum class Kind { kLatest, kAll, kSpecific };
  Kind kind = Kind::kLatest;
  int latest = 1;                 // kLatest: serve the newest N loadable versions
  std::vector<int64_t> specific;  // kSpecific: exactly these versions
};

struct ModelConfig {
  std::string name;
  std::string base_path;
  VersionPolicy policy;
  std::map<std::string, int64_t> labels;
  std::map<std::string, double> traffic;  // label → weight (>= 0, some > 0); empty: no split
};

struct RepositoryConfig {
  std::vector<ModelConfig> models;
};

// Parses a model config file's text. Every error names `origin` (the path), the line and the
// field at fault ("models.yaml:7: models[1].labels.canary: ..."); relative base paths are
// resolved against `origin`'s folder. Rejects unknown keys (naming the nearest valid one),
// duplicate names, bad label names, negative weights, and traffic naming a label that is not in
// `labels`.
absl::StatusOr<RepositoryConfig> ParseRepositoryConfig(const std::string& text,
                                                       const std::string& origin);

// Reads and parses the file at `path`.
absl::StatusOr<RepositoryConfig> LoadRepositoryConfig(const std::string& path);

// True for a valid label or model-name token ([A-Za-z0-9_]+; model names may also hold . and -).
bool IsValidLabel(const std::string& label);
bool IsValidModelName(const std::string& name);

}  // namespace parasol
