// Synthetic CTR-like data for benchmarks and scale tests: a planted teacher (a logistic model, or
// a small random network over field embeddings) over a vocabulary whose feature frequencies
// follow a power law (Zipf), written as libsvm or libffm text. Deterministic for a given seed.
// Thread-compatible: no shared state.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace parasol {

// What makes the labels.
enum class GenTeacher {
  // logit = bias + sum of one planted weight per (field, id): what logistic regression models.
  kLr,
  // A random two-layer network: each (field, id) has an 8-float embedding, the concatenation
  // goes through 32 ReLU units with random weights to one output, so the label depends on
  // interactions between fields that no sum of per-feature weights explains.
  kDeep,
};

struct GenOptions {
  uint64_t rows = 1000000;
  uint32_t features = 40;    // non-zero features per row, one per field
  uint64_t vocab = 1000000;  // total distinct ids; each field draws from vocab / features
  double zipf_s = 1.1;       // power-law exponent of feature frequencies
  double base_ctr = 0.25;    // approximate positive rate
  uint64_t seed = 1;
  // Write libffm `field:idx:1` tokens (fields 0 .. features-1) instead of libsvm `idx:1`; idx is
  // the same global id either way, so both spellings name the same features.
  bool fields = false;
  GenTeacher teacher = GenTeacher::kLr;
};

// Writes `rows` lines to `path` ("-" for stdout). When `logits` is not null it receives each
// row's teacher logit (the label is Bernoulli(sigmoid(logit))): the Bayes-optimal scores, for
// tests and benchmarks. The lr teacher's output is the same as before teachers existed.
absl::Status GenerateLibsvm(const GenOptions& options, const std::string& path,
                            std::vector<float>* logits = nullptr);

// Parses a --teacher value ("lr" or "deep").
absl::Status ParseGenTeacher(const std::string& name, GenTeacher* teacher);

}  // namespace parasol
