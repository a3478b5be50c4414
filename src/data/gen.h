// Synthetic CTR-like data for benchmarks and scale tests: a planted logistic model over a
// vocabulary whose feature frequencies follow a power law (Zipf), written as libsvm text.
// Deterministic for a given seed.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace parasol {

struct GenOptions {
  uint64_t rows = 1000000;
  uint32_t features = 40;    // non-zero features per row, one per field
  uint64_t vocab = 1000000;  // total distinct ids; each field draws from vocab / features
  double zipf_s = 1.1;       // power-law exponent of feature frequencies
  double base_ctr = 0.25;    // approximate positive rate
  uint64_t seed = 1;
};

// Writes `rows` libsvm lines to `path` ("-" for stdout).
absl::Status GenerateLibsvm(const GenOptions& options, const std::string& path);

}  // namespace parasol
