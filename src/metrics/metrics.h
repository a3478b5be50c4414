// Evaluation metrics for binary classifiers from (probability, label) pairs. Pure functions of
// their inputs; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/types/span.h"

namespace parasol {

struct Confusion {
  int64_t tp = 0, fp = 0, tn = 0, fn = 0;
};

struct BinaryMetrics {
  int64_t count = 0;
  double auc = 0;      // ROC AUC; ties count half (Mann-Whitney U). NaN when one class is absent.
  double pr_auc = 0;   // area under the precision-recall curve as average precision (step-wise,
                       //   ties grouped). NaN when there are no positives.
  double logloss = 0;  // mean negative log-likelihood, probabilities clipped to [1e-15, 1-1e-15]
  double accuracy = 0, error_rate = 0, precision = 0, recall = 0, specificity = 0, f1 = 0, mcc = 0;
  double threshold = 0.5;  // a probability >= threshold counts as positive
  Confusion confusion;
};

// REQUIRES: probs.size() == labels.size() (a mismatch is a caller bug and aborts); labels are 0 or
// 1 (any label > 0.5 counts as positive). Ratios with a zero denominator are 0; with no rows,
// logloss is NaN too. Scores are ranked in one O(n log n) sort; -0 and +0 tie, and NaN scores are
// ordered (beyond the infinities of their sign) rather than breaking the sort.
BinaryMetrics ComputeBinaryMetrics(absl::Span<const float> probs, absl::Span<const float> labels,
                                   double threshold = 0.5);

// The scalar figures of `m` by their names as eval prints them: count, auc, pr_auc, logloss,
// accuracy, error_rate, precision, recall, specificity, f1, mcc (in that order).
std::vector<std::pair<std::string, double>> NamedMetrics(const BinaryMetrics& m);

// Only the ranking metric, cheaper (used after each epoch). Same definition and NaN rule as
// BinaryMetrics::auc.
double RocAuc(absl::Span<const float> probs, absl::Span<const float> labels);
// Same definition as BinaryMetrics::logloss; NaN for empty input.
double LogLoss(absl::Span<const float> probs, absl::Span<const float> labels);

struct CurvePoint {
  double x, y, threshold;
};
// ROC: x = false positive rate, y = true positive rate; PR: x = recall, y = precision. One point
// per distinct score, from the highest threshold down; a point's threshold is that score (rows with
// prob >= threshold are predicted positive). Both curves start with an extra point at threshold
// +infinity: ROC at (0, 0), PR at recall 0 with precision 1 by convention. The last ROC point is
// (1, 1) when both classes are present; a rate whose class is absent is 0 throughout.
// Sum over PR points of (x_i - x_{i-1}) * y_i equals BinaryMetrics::pr_auc, and the trapezoid area
// under the ROC points equals BinaryMetrics::auc (up to rounding).
std::vector<CurvePoint> RocCurve(absl::Span<const float> probs, absl::Span<const float> labels);
std::vector<CurvePoint> PrCurve(absl::Span<const float> probs, absl::Span<const float> labels);

// A self-contained SVG with the ROC curve (with the diagonal) and the PR curve side by side,
// axes, ticks and the AUC values in the titles. Curves with many points are thinned to at most
// ~2000 points per curve so the file stays small (first and last points kept). `title` is
// escaped for XML. The result starts with "<svg" and ends with "</svg>" (no trailing newline).
std::string RenderCurvesSvg(absl::Span<const float> probs, absl::Span<const float> labels,
                            const std::string& title);

}  // namespace parasol
