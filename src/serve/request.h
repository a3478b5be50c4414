// Parsing of REST request bodies into raw input rows: TF Serving's predict (row `instances` and
// columnar `inputs`), classify/regress (`examples` + `context`) and KServe V2 `infer` tensors.
// Transport-free and model-free: which fields a model knows is checked when rows are encoded
// (servable.h). Every error is InvalidArgument naming the JSON path at fault. Thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace parasol {

// One raw input row: named fields (models trained on CSV/Criteo, encoded by the model's feature
// pipeline) or one "idx:val ..." string (models trained on libsvm).
struct RawInstance {
  std::string where;  // JSON path of the row for error messages: "instances[3]"
  bool is_text = false;
  std::string text;                                         // is_text
  std::vector<std::pair<std::string, std::string>> fields;  // !is_text; "" means absent
};

enum class TfMethod { kPredict, kClassify, kRegress };

struct TfRequest {
  std::vector<RawInstance> instances;
  bool columnar = false;       // predict with `inputs` (answered with `outputs`)
  std::string signature_name;  // "signature_name" when given (checked by the caller)
};

// TF Serving REST bodies. predict: {"instances": [row, ...]} or {"inputs": {field: [v, ...]}} /
// {"inputs": [row, ...]}; a row is an object of field → scalar, or a string. classify/regress:
// {"examples": [object, ...], "context": object}; example fields override context fields.
// Both may name a "signature_name" (a string).
// Scalars: strings as given, numbers in their shortest round-trip form ("42.3"), true/false as
// "1"/"0", null as absent.
absl::StatusOr<TfRequest> ParseTfRequest(std::string_view body, TfMethod method);

struct V2Request {
  std::string id;  // echoed in the response when given
  std::vector<RawInstance> instances;
};

// KServe V2 / Open Inference Protocol: {"id": ..., "inputs": [{"name", "shape", "datatype",
// "data"}, ...]}. Each input tensor is one raw field, shape [N] or [N, 1], data flat or nested;
// row i takes element i of every tensor. All tensors must agree on N. A libsvm model takes one
// BYTES tensor of "idx:val ..." strings (any name).
absl::StatusOr<V2Request> ParseV2InferRequest(std::string_view body);

}  // namespace parasol
