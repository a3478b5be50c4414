#include "metrics/metrics.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <vector>

#include "common/log.h"

namespace parasol {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kClipLow = 1e-15;
constexpr double kClipHigh = 1.0 - 1e-15;

// Mismatched spans are a bug in the caller, never bad user data.
void CheckSameSize(absl::Span<const float> probs, absl::Span<const float> labels,
                   const char* function) {
  if (probs.size() != labels.size()) {
    log::Error("parasol::{}: probs.size() {} != labels.size() {}", function, probs.size(),
               labels.size());
    std::abort();
  }
}

// Labels are documented as 0 or 1; anything above one half counts as positive, which also reads
// -1/+1 labels correctly.
inline bool IsPositive(float label) { return label > 0.5f; }

double Ratio(double num, double den) { return den == 0 ? 0.0 : num / den; }

// Maps a float to an unsigned key with the same order (a total order: -0 and +0 share one key,
// NaNs sort beyond the infinities of their sign instead of breaking the sort).
inline uint32_t OrderKey(float f) {
  if (f == 0) f = 0.0f;  // folds -0 into +0 so they tie
  const uint32_t bits = std::bit_cast<uint32_t>(f);
  return (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u);
}

inline float FromOrderKey(uint32_t key) {
  return std::bit_cast<float>((key & 0x80000000u) ? (key & 0x7fffffffu) : ~key);
}

// Rows sorted by score, ties grouped. Each row is packed as (OrderKey(score) << 32 | positive) in
// one uint64_t so the single sort runs over contiguous 8-byte values with no comparator
// indirection.
class SortedScores {
 public:
  SortedScores(absl::Span<const float> probs, absl::Span<const float> labels) {
    packed_.resize(probs.size());
    for (size_t i = 0; i < probs.size(); ++i) {
      const bool pos = IsPositive(labels[i]);
      positives_ += pos;
      packed_[i] = (static_cast<uint64_t>(OrderKey(probs[i])) << 32) | static_cast<uint64_t>(pos);
    }
    negatives_ = static_cast<int64_t>(probs.size()) - positives_;
    std::sort(packed_.begin(), packed_.end());
  }

  int64_t positives() const { return positives_; }
  int64_t negatives() const { return negatives_; }

  // Calls fn(score, group_positives, group_negatives) once per distinct score, from the highest
  // score down.
  template <typename Fn>
  void ForEachGroupDescending(Fn&& fn) const {
    size_t end = packed_.size();
    while (end > 0) {
      const uint64_t key = packed_[end - 1] >> 32;
      size_t begin = end - 1;
      int64_t pos = 0;
      while (true) {
        pos += static_cast<int64_t>(packed_[begin] & 1);
        if (begin == 0 || (packed_[begin - 1] >> 32) != key) break;
        --begin;
      }
      const int64_t size = static_cast<int64_t>(end - begin);
      fn(static_cast<double>(FromOrderKey(static_cast<uint32_t>(key))), pos, size - pos);
      end = begin;
    }
  }

 private:
  std::vector<uint64_t> packed_;
  int64_t positives_ = 0;
  int64_t negatives_ = 0;
};

// Mann-Whitney U / (P * N). Ranks are ascending from 1 and a group of g tied rows occupying ranks
// r+1 .. r+g gives each row the averaged rank r + (g + 1) / 2, so a tied (positive, negative) pair
// counts one half. Twice the rank sum is accumulated to stay in exact integers: for n rows,
// 2 * R <= n * (n + 1), which fits in int64_t for n below ~3e9.
double AucFromSorted(const SortedScores& sorted) {
  const int64_t p = sorted.positives(), n = sorted.negatives();
  if (p == 0 || n == 0) return kNaN;
  int64_t above = 0;  // rows with a higher score than the current group
  int64_t twice_rank_sum = 0;
  const int64_t total = p + n;
  sorted.ForEachGroupDescending([&](double, int64_t gp, int64_t gn) {
    const int64_t g = gp + gn;
    const int64_t r = total - above - g;  // rows strictly below this group
    twice_rank_sum += gp * (2 * r + g + 1);
    above += g;
  });
  const double u = 0.5 * static_cast<double>(twice_rank_sum - p * (p + 1));
  return u / (static_cast<double>(p) * static_cast<double>(n));
}

// Average precision: sum over distinct thresholds of (R_i - R_{i-1}) * P_i.
double AveragePrecisionFromSorted(const SortedScores& sorted) {
  const int64_t p = sorted.positives();
  if (p == 0) return kNaN;
  int64_t tp = 0, fp = 0;
  double ap = 0;
  sorted.ForEachGroupDescending([&](double, int64_t gp, int64_t gn) {
    tp += gp;
    fp += gn;
    if (gp > 0) {
      ap += static_cast<double>(gp) * static_cast<double>(tp) / static_cast<double>(tp + fp);
    }
  });
  return ap / static_cast<double>(p);
}

inline double RowLogLoss(float prob, float label) {
  const double q = std::clamp(static_cast<double>(prob), kClipLow, kClipHigh);
  return IsPositive(label) ? -std::log(q) : -std::log1p(-q);
}

}  // namespace

std::vector<std::pair<std::string, double>> NamedMetrics(const BinaryMetrics& m) {
  return {{"count", static_cast<double>(m.count)},
          {"auc", m.auc},
          {"pr_auc", m.pr_auc},
          {"logloss", m.logloss},
          {"accuracy", m.accuracy},
          {"error_rate", m.error_rate},
          {"precision", m.precision},
          {"recall", m.recall},
          {"specificity", m.specificity},
          {"f1", m.f1},
          {"mcc", m.mcc}};
}

BinaryMetrics ComputeBinaryMetrics(absl::Span<const float> probs, absl::Span<const float> labels,
                                   double threshold) {
  CheckSameSize(probs, labels, "ComputeBinaryMetrics");
  BinaryMetrics m;
  m.count = static_cast<int64_t>(probs.size());
  m.threshold = threshold;

  Confusion& c = m.confusion;
  double loss_sum = 0;
  for (size_t i = 0; i < probs.size(); ++i) {
    const bool actual = IsPositive(labels[i]);
    const bool predicted = probs[i] >= threshold;
    c.tp += actual && predicted;
    c.fn += actual && !predicted;
    c.fp += !actual && predicted;
    c.tn += !actual && !predicted;
    loss_sum += RowLogLoss(probs[i], labels[i]);
  }
  m.logloss = m.count == 0 ? kNaN : loss_sum / static_cast<double>(m.count);

  const double tp = static_cast<double>(c.tp), fp = static_cast<double>(c.fp);
  const double tn = static_cast<double>(c.tn), fn = static_cast<double>(c.fn);
  const double count = static_cast<double>(m.count);
  m.accuracy = Ratio(tp + tn, count);
  m.error_rate = Ratio(fp + fn, count);
  m.precision = Ratio(tp, tp + fp);
  m.recall = Ratio(tp, tp + fn);
  m.specificity = Ratio(tn, tn + fp);
  m.f1 = Ratio(2 * tp, 2 * tp + fp + fn);
  m.mcc = Ratio(tp * tn - fp * fn, std::sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn)));

  const SortedScores sorted(probs, labels);
  m.auc = AucFromSorted(sorted);
  m.pr_auc = AveragePrecisionFromSorted(sorted);
  return m;
}

double RocAuc(absl::Span<const float> probs, absl::Span<const float> labels) {
  CheckSameSize(probs, labels, "RocAuc");
  return AucFromSorted(SortedScores(probs, labels));
}

double LogLoss(absl::Span<const float> probs, absl::Span<const float> labels) {
  CheckSameSize(probs, labels, "LogLoss");
  if (probs.empty()) return kNaN;
  double sum = 0;
  for (size_t i = 0; i < probs.size(); ++i) sum += RowLogLoss(probs[i], labels[i]);
  return sum / static_cast<double>(probs.size());
}

std::vector<CurvePoint> RocCurve(absl::Span<const float> probs, absl::Span<const float> labels) {
  CheckSameSize(probs, labels, "RocCurve");
  const SortedScores sorted(probs, labels);
  const double p = static_cast<double>(sorted.positives());
  const double n = static_cast<double>(sorted.negatives());
  std::vector<CurvePoint> curve;
  curve.push_back({0.0, 0.0, kInf});
  int64_t tp = 0, fp = 0;
  sorted.ForEachGroupDescending([&](double score, int64_t gp, int64_t gn) {
    tp += gp;
    fp += gn;
    curve.push_back({Ratio(static_cast<double>(fp), n), Ratio(static_cast<double>(tp), p), score});
  });
  return curve;
}

std::vector<CurvePoint> PrCurve(absl::Span<const float> probs, absl::Span<const float> labels) {
  CheckSameSize(probs, labels, "PrCurve");
  const SortedScores sorted(probs, labels);
  const double p = static_cast<double>(sorted.positives());
  std::vector<CurvePoint> curve;
  curve.push_back({0.0, 1.0, kInf});
  int64_t tp = 0, fp = 0;
  sorted.ForEachGroupDescending([&](double score, int64_t gp, int64_t gn) {
    tp += gp;
    fp += gn;
    curve.push_back({Ratio(static_cast<double>(tp), p),
                     static_cast<double>(tp) / static_cast<double>(tp + fp), score});
  });
  return curve;
}

}  // namespace parasol
