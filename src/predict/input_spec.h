// How raw input becomes examples for one model: the text format, hashing and (for CSV/Criteo)
// the feature pipeline. Built from a saved model's manifest, so that evaluation, prediction and
// serving compute exactly the training keys (training builds it from its config:
// train/training_input.h). Immutable once built; shareable.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "data/reader.h"
#include "optim/optimizer.h"
#include "storage/manifest.h"
#include "transform/feature_pipeline.h"

namespace parasol {

struct InputSpec {
  DataFormat format = DataFormat::kLibsvm;
  int hash_bits = 0;
  std::shared_ptr<FeaturePipeline> pipeline;  // null for libsvm

  // `labels_optional` (prediction only) lets input come without labels: see
  // ReaderOptions::labels_optional; the pipeline's encoders then accept a missing label column.
  ReaderOptions MakeReaderOptions(int parse_threads, int64_t max_bad_lines,
                                  bool labels_optional = false) const;
  // The text the binary cache fingerprint covers: format, hashing and the pipeline.
  std::string Fingerprint() const;
};

// The input a saved model was trained with, from its manifest (format, hashing, transforms).
absl::StatusOr<InputSpec> InputSpecFromManifest(const ModelManifest& manifest);

// The manifest of a model trained with these settings.
ModelManifest BuildManifest(const ModelSpec& spec, const OptimizerConfig& optimizer,
                            const InputSpec& input, int64_t feature_count,
                            std::string training_json);

}  // namespace parasol
