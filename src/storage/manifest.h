// What a model is, as its directory's manifest.json records it (docs/model-format.md): model
// type and hyperparameters, optimizer, input format and transforms, training summary. The
// manifest is written last and names each table file's checksum, so a directory whose manifest
// is present and matches its tables is complete. Functions here are thread-compatible: do not
// write and read the same manifest concurrently.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "model/model.h"
#include "optim/optimizer.h"

namespace parasol {

// Version 1: the sparse models. Version 2 adds the deep models' keys (model.embedding_dim,
// hidden, ...) and their dense table; written only for deep models, so that sparse models stay
// readable by builds that know version 1 alone. Both are read.
inline constexpr int kModelFormatVersion = 1;
inline constexpr int kDeepModelFormatVersion = 2;
// The name of a deep model's dense-layer table in a manifest's `tables`.
inline constexpr char kDenseTableName[] = "dense";

struct ModelManifest {
  ModelSpec spec;
  OptimizerConfig optimizer;
  OptimizerConfig dense_optimizer;     // deep models: the dense layers' optimizer
  std::string data_format = "libsvm";  // how raw input is read: libsvm | csv | criteo
  int hash_bits = 0;
  std::string transforms_json;       // FeaturePipeline::ToJson(); empty for libsvm input
  int64_t feature_count = 0;         // rows in the table, bias excluded
  std::string training_json = "{}";  // training summary, a JSON object
};

// DIR's manifest alone (no table files read). Errors name DIR/manifest.json and what is wrong:
// missing, not JSON, unsupported format version, a missing or mistyped field, table dimensions
// that disagree with the model and optimizer.
absl::StatusOr<ModelManifest> ReadModelManifest(const std::string& dir);

}  // namespace parasol
