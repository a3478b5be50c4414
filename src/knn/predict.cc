#include "knn/predict.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace parasol::knn {

absl::StatusOr<Task> ParseTask(const std::string& name) {
  if (name == "classify") return Task::kClassify;
  if (name == "regress") return Task::kRegress;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown task '", name, "' (expected classify or regress)"));
}

absl::StatusOr<Weights> ParseWeights(const std::string& name) {
  if (name == "uniform") return Weights::kUniform;
  if (name == "distance") return Weights::kDistance;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown weights '", name, "' (expected uniform or distance)"));
}

std::vector<float> Predict(const Neighbors& neighbors, const std::vector<float>& train_labels,
                           Task task, Weights weights) {
  const size_t k = neighbors.k;
  const size_t n = k == 0 ? 0 : neighbors.indices.size() / k;
  std::vector<float> out(n);
  std::vector<std::pair<float, double>> votes;  // label, weight
  std::vector<double> w(k);
  for (size_t q = 0; q < n; ++q) {
    const uint32_t* idx = neighbors.indices.data() + q * k;
    const float* dist = neighbors.distances.data() + q * k;
    bool exact = false;
    for (size_t j = 0; j < k; ++j) exact |= dist[j] == 0;
    for (size_t j = 0; j < k; ++j) {
      if (weights == Weights::kUniform) {
        w[j] = 1;
      } else if (exact) {
        w[j] = dist[j] == 0 ? 1 : 0;
      } else {
        w[j] = 1.0 / dist[j];
      }
    }
    if (task == Task::kRegress) {
      double sum = 0, total = 0;
      for (size_t j = 0; j < k; ++j) {
        sum += w[j] * train_labels[idx[j]];
        total += w[j];
      }
      out[q] = static_cast<float>(sum / total);
      continue;
    }
    votes.clear();
    for (size_t j = 0; j < k; ++j) votes.emplace_back(train_labels[idx[j]], w[j]);
    std::sort(votes.begin(), votes.end());
    // Sum per label in label order (deterministic); strictly larger wins, so ties keep the
    // smallest label.
    float best = votes[0].first;
    double best_weight = -1;
    for (size_t a = 0; a < votes.size();) {
      size_t b = a;
      double total = 0;
      for (; b < votes.size() && votes[b].first == votes[a].first; ++b) total += votes[b].second;
      if (total > best_weight) {
        best_weight = total;
        best = votes[a].first;
      }
      a = b;
    }
    out[q] = best;
  }
  return out;
}

double Accuracy(const std::vector<float>& predicted, const std::vector<float>& labels) {
  if (predicted.empty()) return 0;
  size_t right = 0;
  for (size_t i = 0; i < predicted.size(); ++i) right += predicted[i] == labels[i];
  return static_cast<double>(right) / static_cast<double>(predicted.size());
}

double Rmse(const std::vector<float>& predicted, const std::vector<float>& labels) {
  if (predicted.empty()) return 0;
  double s = 0;
  for (size_t i = 0; i < predicted.size(); ++i) {
    const double d = static_cast<double>(predicted[i]) - labels[i];
    s += d * d;
  }
  return std::sqrt(s / static_cast<double>(predicted.size()));
}

double Mae(const std::vector<float>& predicted, const std::vector<float>& labels) {
  if (predicted.empty()) return 0;
  double s = 0;
  for (size_t i = 0; i < predicted.size(); ++i) {
    s += std::fabs(static_cast<double>(predicted[i]) - labels[i]);
  }
  return s / static_cast<double>(predicted.size());
}

}  // namespace parasol::knn
