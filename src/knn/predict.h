// Turning neighbours into predictions (classification votes, regression means) and scoring
// them. Pure functions; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "knn/knn.h"

namespace parasol::knn {

enum class Task { kClassify, kRegress };
enum class Weights { kUniform, kDistance };

absl::StatusOr<Task> ParseTask(const std::string& name);        // classify | regress
absl::StatusOr<Weights> ParseWeights(const std::string& name);  // uniform | distance

// One prediction per query, as scikit-learn's KNeighborsClassifier / KNeighborsRegressor:
// - weights: uniform, or distance = 1/d; when some neighbours are at distance 0 they alone
//   count, equally.
// - classify: the label with the largest total weight; a tie goes to the smallest label.
// - regress: the weighted mean of the neighbours' labels.
std::vector<float> Predict(const Neighbors& neighbors, const std::vector<float>& train_labels,
                           Task task, Weights weights);

// Share of predictions equal to the label.
double Accuracy(const std::vector<float>& predicted, const std::vector<float>& labels);
// Root mean squared and mean absolute error.
double Rmse(const std::vector<float>& predicted, const std::vector<float>& labels);
double Mae(const std::vector<float>& predicted, const std::vector<float>& labels);

}  // namespace parasol::knn
