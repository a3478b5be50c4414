// Evaluation metrics for binary classifiers from (probability, label) pairs. Pure functions of
// their inputs; thread-safe.
#pragma once

#include <cstdint>
#include <string>
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

// REQUIRES: probs.size() == labels.size(); labels are 0 or 1. Ratios with a zero denominator are 0.
BinaryMetrics ComputeBinaryMetrics(absl::Span<const float> probs, absl::Span<const float> labels,
                                   double threshold = 0.5);

// Only the ranking metric, cheaper (used after each epoch).
double RocAuc(absl::Span<const float> probs, absl::Span<const float> labels);
double LogLoss(absl::Span<const float> probs, absl::Span<const float> labels);

struct CurvePoint {
  double x, y, threshold;
};
// ROC: x = false positive rate, y = true positive rate; PR: x = recall, y = precision. One point
// per distinct score, from the highest threshold down.
std::vector<CurvePoint> RocCurve(absl::Span<const float> probs, absl::Span<const float> labels);
std::vector<CurvePoint> PrCurve(absl::Span<const float> probs, absl::Span<const float> labels);

// A self-contained SVG with the ROC curve (with the diagonal) and the PR curve side by side,
// axes, ticks and the AUC values in the titles. Curves with many points are thinned to at most
// ~2000 points per curve so the file stays small.
std::string RenderCurvesSvg(absl::Span<const float> probs, absl::Span<const float> labels,
                            const std::string& title);

}  // namespace parasol
