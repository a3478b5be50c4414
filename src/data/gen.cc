// Synthetic libsvm/libffm data. Per field, feature ids are drawn from a Zipf(s) law over `vocab /
// features` ids with an alias table (O(1) per draw) over the most frequent ids plus one "tail"
// outcome sampled by inverting the continuous power law. The teacher's parameters depend only on
// (seed, field, id): the lr teacher plants one weight per (field, id), the deep teacher an
// embedding; labels are Bernoulli(sigmoid(logit)). Rows are streamed through one buffer.
#include "data/gen.h"

#include <errno.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/hash.h"

namespace parasol {
namespace {

// Standard deviation of the planted logit (sum of the weights of a row's features). With it the
// Bayes-optimal AUC is about 0.81; a one-pass AdaGrad logistic regression trained on 900K of 1M
// default rows measured test AUC 0.76 (0.78 with 3M rows): rare ids are learned slowly.
constexpr double kLogitStddev = 1.5;
// At most this many of a field's most frequent ids get alias-table entries and precomputed
// weights; rarer ids are drawn from the continuous tail and weighted on the fly.
constexpr uint64_t kMaxHeadIds = uint64_t{1} << 16;
constexpr size_t kBufferBytes = size_t{1} << 22;

// The deep teacher: embedding width, hidden units, the standard deviation of its logit (over
// rows drawn like the data) and how many such rows calibrate the logit's scale and bias.
constexpr int kTeacherDim = 8;
constexpr int kTeacherHidden = 32;
constexpr double kDeepLogitStddev = 2.0;
constexpr int kCalibrationRows = 16384;

// splitmix64: fast, and good enough for synthetic data.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1).
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

 private:
  uint64_t state_;
};

// Draws 0-based ranks in [0, n) with P(rank k) ∝ (k + 1)^-s.
class ZipfSampler {
 public:
  ZipfSampler(uint64_t n, double s) : n_(n), s_(s), head_(std::min(n, kMaxHeadIds)) {
    std::vector<double> weights(head_ + 1);
    for (uint64_t k = 0; k < head_; ++k) weights[k] = std::pow(static_cast<double>(k + 1), -s);
    tail_a_ = static_cast<double>(head_) + 0.5;
    tail_b_ = static_cast<double>(n_) + 0.5;
    if (n_ > head_) {
      if (std::abs(1.0 - s_) < 1e-9) {
        weights[head_] = std::log(tail_b_ / tail_a_);
      } else {
        tail_a_pow_ = std::pow(tail_a_, 1.0 - s_);
        tail_b_pow_ = std::pow(tail_b_, 1.0 - s_);
        weights[head_] = (tail_b_pow_ - tail_a_pow_) / (1.0 - s_);
      }
    }
    double total = 0;
    for (double w : weights) total += w;
    probabilities_.resize(weights.size());
    for (size_t i = 0; i < weights.size(); ++i) probabilities_[i] = weights[i] / total;
    BuildAliasTable();
  }

  // Probability of each head rank (index head() is the whole tail).
  const std::vector<double>& probabilities() const { return probabilities_; }
  uint64_t head() const { return head_; }
  double tail_probability() const { return probabilities_[head_]; }

  uint64_t Sample(Rng& rng) const {
    const uint64_t r = rng.Next();
    const uint64_t slot = ((r >> 32) * outcomes_) >> 32;
    const uint64_t k = static_cast<uint32_t>(r) < threshold_[slot] ? slot : alias_[slot];
    if (k < head_) return k;
    // The tail: invert the continuous power law on [head + 0.5, n + 0.5], then round.
    const double u = rng.Uniform();
    const double x =
        std::abs(1.0 - s_) < 1e-9
            ? tail_a_ * std::pow(tail_b_ / tail_a_, u)
            : std::pow(tail_a_pow_ + u * (tail_b_pow_ - tail_a_pow_), 1.0 / (1.0 - s_));
    const uint64_t rank = static_cast<uint64_t>(x + 0.5);  // 1-based
    return std::clamp<uint64_t>(rank, head_ + 1, n_) - 1;
  }

 private:
  // Vose's alias method over probabilities_.
  void BuildAliasTable() {
    outcomes_ = probabilities_.size();
    threshold_.assign(outcomes_, 0);
    alias_.assign(outcomes_, 0);
    std::vector<double> scaled(outcomes_);
    std::vector<uint32_t> small, large;
    for (size_t i = 0; i < outcomes_; ++i) {
      scaled[i] = probabilities_[i] * static_cast<double>(outcomes_);
      (scaled[i] < 1.0 ? small : large).push_back(static_cast<uint32_t>(i));
    }
    while (!small.empty() && !large.empty()) {
      const uint32_t s = small.back();
      small.pop_back();
      const uint32_t l = large.back();
      threshold_[s] = ToThreshold(scaled[s]);
      alias_[s] = l;
      scaled[l] -= 1.0 - scaled[s];
      if (scaled[l] < 1.0) {
        large.pop_back();
        small.push_back(l);
      }
    }
    for (uint32_t i : large) threshold_[i] = UINT32_MAX, alias_[i] = i;
    for (uint32_t i : small) threshold_[i] = UINT32_MAX, alias_[i] = i;  // rounding leftovers
  }
  static uint32_t ToThreshold(double p) {
    return static_cast<uint32_t>(std::clamp(p, 0.0, 1.0) * 4294967295.0);
  }

  const uint64_t n_;
  const double s_;
  const uint64_t head_;
  double tail_a_ = 0, tail_b_ = 0, tail_a_pow_ = 0, tail_b_pow_ = 0;
  std::vector<double> probabilities_;
  uint64_t outcomes_ = 0;
  std::vector<uint32_t> threshold_;
  std::vector<uint32_t> alias_;
};

// Planted weight of (field, id): roughly normal (sum of three uniforms), deterministic.
float PlantedWeight(uint64_t seed, uint32_t field, uint64_t id, double sigma) {
  const uint64_t key = FeatureKey(field, id);
  const double sum = double{HashUniform(seed, key, 0)} + HashUniform(seed, key, 1) +
                     HashUniform(seed, key, 2);  // variance 3 × 1/3 = 1
  return static_cast<float>(sigma * sum);
}

double Sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// Bias b with E[sigmoid(b + Z)] = ctr for Z ~ N(mean, var), by bisection over a quadrature.
double SolveBias(double mean, double var, double ctr) {
  const double sd = std::sqrt(std::max(var, 0.0));
  auto rate = [&](double b) {
    double sum = 0, norm = 0;
    for (int i = -400; i <= 400; ++i) {
      const double g = i / 50.0;  // [-8, 8]
      const double density = std::exp(-0.5 * g * g);
      sum += density * Sigmoid(b + mean + sd * g);
      norm += density;
    }
    return sum / norm;
  };
  double lo = -60, hi = 60;
  for (int it = 0; it < 100; ++it) {
    const double mid = 0.5 * (lo + hi);
    (rate(mid) < ctr ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

// Labels from a random two-layer network over per-field embeddings:
//   z = U · [e_0(id_0), .., e_{F-1}(id_{F-1})] / sqrt(F·8) + c,   s = v · ReLU(z)
// with e_f(id) ∈ R^8, U, c and v uniform random functions of the seed (entries of e and U have
// unit variance, so each z_k has about unit variance). The second half of the hidden units
// mirrors the first half's input weights (U_{k+16} = −U_k, same c): a random ReLU layer is
// otherwise mostly a linear function of its input, which a per-feature weight (LR) would
// explain; with mirrored pairs and independent v, the even part |z|-like of each pair is pure
// interaction between fields. The logit is a·(s − mean) + b, a and b calibrated on rows drawn
// like the data so that its standard deviation is kDeepLogitStddev and the positive rate base_ctr.
class DeepTeacher {
 public:
  DeepTeacher(uint64_t seed, uint32_t num_fields, uint64_t head)
      : seed_(seed ^ 0xdeeb7eac4e55eedULL),
        num_fields_(num_fields),
        head_(head),
        head_embeddings_(size_t{num_fields} * head * kTeacherDim),
        u_(size_t{num_fields} * kTeacherDim * kTeacherHidden) {
    for (uint32_t f = 0; f < num_fields; ++f) {
      for (uint64_t id = 0; id < head; ++id) {
        Embedding(f, id, &head_embeddings_[(f * head + id) * kTeacherDim]);
      }
    }
    // Uniform[-1, 1) has variance 1/3.
    const float u_scale =
        std::sqrt(3.0f / (static_cast<float>(num_fields) * static_cast<float>(kTeacherDim)));
    constexpr int kHalf = kTeacherHidden / 2;
    for (uint32_t f = 0; f < num_fields; ++f) {
      for (int j = 0; j < kTeacherDim; ++j) {
        float* u = &u_[(size_t{f} * kTeacherDim + j) * kTeacherHidden];
        for (int k = 0; k < kHalf; ++k) {
          u[k] = u_scale * HashUniform(seed_, FeatureKey(0xffffff00u, f), j * kHalf + k);
          u[k + kHalf] = -u[k];
        }
      }
    }
    for (int k = 0; k < kHalf; ++k) {
      c_[k] = c_[k + kHalf] = 0.5f * HashUniform(seed_, 0xc0ffee, k);
    }
    for (int k = 0; k < kTeacherHidden; ++k) v_[k] = HashUniform(seed_, 0x0b7e, k);
  }

  // The raw output s for one row's ids (one per field).
  float Raw(const uint64_t* ids) const {
    float z[kTeacherHidden];
    std::copy(c_, c_ + kTeacherHidden, z);
    float tail[kTeacherDim];
    for (uint32_t f = 0; f < num_fields_; ++f) {
      const float* e;
      if (ids[f] < head_) {
        e = &head_embeddings_[(f * head_ + ids[f]) * kTeacherDim];
      } else {
        Embedding(f, ids[f], tail);
        e = tail;
      }
      const float* u = &u_[size_t{f} * kTeacherDim * kTeacherHidden];
      for (int j = 0; j < kTeacherDim; ++j, u += kTeacherHidden) {
        for (int k = 0; k < kTeacherHidden; ++k) z[k] += u[k] * e[j];
      }
    }
    float s = 0;
    for (int k = 0; k < kTeacherHidden; ++k) s += v_[k] * std::max(z[k], 0.0f);
    return s;
  }

  // Sets the logit's affine map from rows drawn with `sample(ids)`.
  template <typename SampleRow>
  void Calibrate(double ctr, SampleRow sample) {
    std::vector<uint64_t> ids(num_fields_);
    std::vector<double> raw(kCalibrationRows);
    double mean = 0;
    for (double& r : raw) {
      sample(ids.data());
      r = Raw(ids.data());
      mean += r;
    }
    mean /= raw.size();
    double var = 0;
    for (double r : raw) var += (r - mean) * (r - mean);
    var /= raw.size();
    scale_ = var > 0 ? kDeepLogitStddev / std::sqrt(var) : 1.0;
    for (double& r : raw) r = scale_ * (r - mean);
    // The bias b with mean(sigmoid(b + logit)) = ctr, by bisection.
    double lo = -60, hi = 60;
    for (int it = 0; it < 60; ++it) {
      const double mid = 0.5 * (lo + hi);
      double rate = 0;
      for (double r : raw) rate += Sigmoid(mid + r);
      (rate / raw.size() < ctr ? lo : hi) = mid;
    }
    offset_ = 0.5 * (lo + hi) - scale_ * mean;
  }

  double Logit(const uint64_t* ids) const { return offset_ + scale_ * Raw(ids); }

 private:
  void Embedding(uint32_t field, uint64_t id, float* e) const {
    const uint64_t key = FeatureKey(field, id);
    for (int j = 0; j < kTeacherDim; ++j) e[j] = 1.7320508f * HashUniform(seed_, key, j);
  }

  const uint64_t seed_;
  const uint32_t num_fields_;
  const uint64_t head_;
  std::vector<float> head_embeddings_;  // [field][head id][kTeacherDim]
  std::vector<float> u_;                // [field][j][hidden unit]
  float c_[kTeacherHidden];
  float v_[kTeacherHidden];
  double scale_ = 1, offset_ = 0;
};

}  // namespace

absl::Status ParseGenTeacher(const std::string& name, GenTeacher* teacher) {
  if (name == "lr") {
    *teacher = GenTeacher::kLr;
  } else if (name == "deep") {
    *teacher = GenTeacher::kDeep;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("gen: unknown teacher '", name, "' (expected lr or deep)"));
  }
  return absl::OkStatus();
}

absl::Status GenerateLibsvm(const GenOptions& options, const std::string& path,
                            std::vector<float>* logits) {
  if (options.features == 0) return absl::InvalidArgumentError("gen: features must be >= 1");
  if (options.vocab == 0) return absl::InvalidArgumentError("gen: vocab must be >= 1");
  if (!(options.zipf_s >= 0) || !std::isfinite(options.zipf_s)) {
    return absl::InvalidArgumentError(
        absl::StrCat("gen: zipf_s must be >= 0, got ", options.zipf_s));
  }
  if (!(options.base_ctr > 0 && options.base_ctr < 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("gen: base_ctr must be in (0, 1), got ", options.base_ctr));
  }
  const uint32_t num_fields = options.features;
  const uint64_t per_field = std::max<uint64_t>(1, options.vocab / num_fields);
  const uint64_t weight_seed = options.seed ^ 0x5eed5eed5eed5eedULL;
  const double sigma = kLogitStddev / std::sqrt(static_cast<double>(num_fields));

  const ZipfSampler zipf(per_field, options.zipf_s);
  const uint64_t head = zipf.head();
  const bool deep = options.teacher == GenTeacher::kDeep;
  // lr: precomputed weights of each field's head ids; the logit's mean and variance follow from
  // them. deep: the network, calibrated on rows from a generator of its own.
  std::vector<float> head_weights(deep ? 0 : size_t{num_fields} * head);
  std::unique_ptr<DeepTeacher> teacher;
  if (deep) {
    teacher = std::make_unique<DeepTeacher>(weight_seed, num_fields, head);
    Rng calibration_rng(FeatureKey(0xfffffffdu, options.seed));
    teacher->Calibrate(options.base_ctr, [&](uint64_t* ids) {
      for (uint32_t f = 0; f < num_fields; ++f) ids[f] = zipf.Sample(calibration_rng);
    });
  }
  double logit_mean = 0, logit_var = 0;
  const std::vector<double>& p = zipf.probabilities();
  for (uint32_t f = 0; f < num_fields && !deep; ++f) {
    double m = 0, m2 = 0;
    for (uint64_t k = 0; k < head; ++k) {
      const float w = PlantedWeight(weight_seed, f, k, sigma);
      head_weights[f * head + k] = w;
      m += p[k] * w;
      m2 += p[k] * double{w} * w;
    }
    m2 += zipf.tail_probability() * sigma * sigma;  // tail weights: mean 0, variance sigma²
    logit_mean += m;
    logit_var += m2 - m * m;
  }
  const double bias = SolveBias(logit_mean, logit_var, options.base_ctr);

  std::FILE* out = path == "-" ? stdout : std::fopen(path.c_str(), "wb");
  if (out == nullptr) return absl::ErrnoToStatus(errno, absl::StrCat(path, ": cannot create"));
  std::vector<char> buffer(kBufferBytes);
  // Longest line: label, then per feature ' ' + up to 10 digits of field and ':' + up to 20
  // digits + ":1", then '\n'.
  const size_t max_line = 2 + size_t{num_fields} * 34 + 1;
  if (buffer.size() < 2 * max_line) buffer.resize(2 * max_line);
  char* const begin = buffer.data();
  char* const flush_at = begin + buffer.size() - max_line;
  char* pos = begin;
  absl::Status status;
  auto flush = [&]() {
    const size_t n = static_cast<size_t>(pos - begin);
    if (status.ok() && std::fwrite(begin, 1, n, out) != n) {
      status = absl::ErrnoToStatus(errno, absl::StrCat(path, ": write failed"));
    }
    pos = begin;
  };

  Rng rng(FeatureKey(0xfffffffeu, options.seed));
  std::vector<uint64_t> ids(num_fields);
  if (logits != nullptr) logits->clear();
  for (uint64_t row = 0; row < options.rows && status.ok(); ++row) {
    double logit = bias;
    for (uint32_t f = 0; f < num_fields; ++f) {
      const uint64_t id = zipf.Sample(rng);
      ids[f] = id;
      if (!deep) {
        logit += id < head ? head_weights[f * head + id] : PlantedWeight(weight_seed, f, id, sigma);
      }
    }
    if (deep) logit = teacher->Logit(ids.data());
    if (logits != nullptr) logits->push_back(static_cast<float>(logit));
    *pos++ = rng.Uniform() < Sigmoid(logit) ? '1' : '0';
    for (uint32_t f = 0; f < num_fields; ++f) {
      *pos++ = ' ';
      if (options.fields) {
        pos = std::to_chars(pos, pos + 10, f).ptr;
        *pos++ = ':';
      }
      pos = std::to_chars(pos, pos + 20, f * per_field + ids[f] + 1).ptr;
      *pos++ = ':';
      *pos++ = '1';
    }
    *pos++ = '\n';
    if (pos >= flush_at) flush();
  }
  flush();
  if (std::fflush(out) != 0 && status.ok()) {
    status = absl::ErrnoToStatus(errno, absl::StrCat(path, ": write failed"));
  }
  if (out != stdout && std::fclose(out) != 0 && status.ok()) {
    status = absl::ErrnoToStatus(errno, absl::StrCat(path, ": write failed"));
  }
  return status;
}

}  // namespace parasol
