#include "serve/request.h"

#include <charconv>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"

namespace parasol {
namespace {

using json = nlohmann::json;

absl::Status Bad(const std::string& where, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat(where, ": ", what));
}

absl::StatusOr<json> ParseBody(std::string_view body) {
  json doc = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return absl::InvalidArgumentError("request body is not valid JSON");
  if (!doc.is_object()) return absl::InvalidArgumentError("request body must be a JSON object");
  return doc;
}

absl::StatusOr<std::string> ScalarText(const json& v, const std::string& where) {
  switch (v.type()) {
    case json::value_t::string:
      return v.get_ref<const std::string&>();
    case json::value_t::number_integer:
      return std::to_string(v.get<int64_t>());
    case json::value_t::number_unsigned:
      return std::to_string(v.get<uint64_t>());
    case json::value_t::number_float: {
      char buf[64];
      auto r = std::to_chars(buf, buf + sizeof(buf), v.get<double>());
      return std::string(buf, r.ptr);
    }
    case json::value_t::boolean:
      return std::string(v.get<bool>() ? "1" : "0");
    case json::value_t::null:
      return std::string();
    default:
      return Bad(where, "expected a number, string, boolean or null");
  }
}

// A row: an object of field → scalar, or a string (libsvm "idx:val ..."). `context` fields come
// first and are overridden by the row's own.
absl::StatusOr<RawInstance> ParseRow(const json& row, const std::string& where,
                                     const json* context) {
  RawInstance inst;
  inst.where = where;
  if (row.is_string()) {
    if (context != nullptr && !context->empty()) {
      return Bad(where, "a string example cannot be combined with a context");
    }
    inst.is_text = true;
    inst.text = row.get<std::string>();
    return inst;
  }
  if (!row.is_object()) {
    return Bad(where, "expected an object of named fields or an \"idx:val ...\" string");
  }
  if (context != nullptr) {
    for (const auto& [name, value] : context->items()) {
      if (row.contains(name)) continue;
      auto text = ScalarText(value, absl::StrCat("context.", name));
      if (!text.ok()) return text.status();
      inst.fields.emplace_back(name, std::move(*text));
    }
  }
  for (const auto& [name, value] : row.items()) {
    auto text = ScalarText(value, absl::StrCat(where, ".", name));
    if (!text.ok()) return text.status();
    inst.fields.emplace_back(name, std::move(*text));
  }
  return inst;
}

absl::StatusOr<std::vector<RawInstance>> ParseRows(const json& rows, const std::string& key,
                                                   const json* context) {
  if (!rows.is_array()) return Bad(key, "expected a list");
  if (rows.empty()) return Bad(key, "empty list: nothing to score");
  std::vector<RawInstance> out;
  out.reserve(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    auto inst = ParseRow(rows[i], absl::StrCat(key, "[", i, "]"), context);
    if (!inst.ok()) return inst.status();
    out.push_back(std::move(*inst));
  }
  return out;
}

// Columnar `inputs`: {field: [v0, v1, ...], ...}, every list the same length.
absl::StatusOr<std::vector<RawInstance>> ParseColumns(const json& inputs) {
  if (inputs.empty()) return Bad("inputs", "no input fields");
  size_t n = 0;
  bool first = true;
  for (const auto& [name, column] : inputs.items()) {
    if (!column.is_array()) return Bad("inputs." + name, "expected a list (one value per row)");
    if (first) {
      n = column.size();
      first = false;
    } else if (column.size() != n) {
      return Bad("inputs." + name, absl::StrCat("has ", column.size(), " values but ",
                                                inputs.begin().key(), " has ", n));
    }
  }
  if (n == 0) return Bad("inputs", "empty lists: nothing to score");
  std::vector<RawInstance> out(n);
  for (size_t i = 0; i < n; ++i) out[i].where = absl::StrCat("inputs[", i, "]");
  for (const auto& [name, column] : inputs.items()) {
    for (size_t i = 0; i < n; ++i) {
      auto text = ScalarText(column[i], absl::StrCat("inputs.", name, "[", i, "]"));
      if (!text.ok()) return text.status();
      out[i].fields.emplace_back(name, std::move(*text));
    }
  }
  return out;
}

// Tensor data, flat ([a, b]) or nested one level per row ([[a], [b]]); deeper nesting is refused
// rather than recursed into (a hostile body could nest millions deep).
bool Flatten(const json& data, std::vector<const json*>* out) {
  if (!data.is_array()) return false;
  for (const auto& d : data) {
    if (!d.is_array()) {
      out->push_back(&d);
      continue;
    }
    for (const auto& e : d) {
      if (e.is_array()) return false;
      out->push_back(&e);
    }
  }
  return true;
}

}  // namespace

absl::StatusOr<TfRequest> ParseTfRequest(std::string_view body, TfMethod method) {
  auto doc = ParseBody(body);
  if (!doc.ok()) return doc.status();
  TfRequest request;
  if (auto sig = doc->find("signature_name"); sig != doc->end()) {
    if (!sig->is_string()) return Bad("signature_name", "expected a string");
    request.signature_name = sig->get<std::string>();
  }
  if (method != TfMethod::kPredict) {
    for (const auto& [key, value] : doc->items()) {
      if (key != "examples" && key != "context" && key != "signature_name") {
        return Bad(key, "unknown key (expected examples, context, signature_name)");
      }
    }
    if (!doc->contains("examples")) return Bad("examples", "missing");
    const json* context = nullptr;
    if (doc->contains("context")) {
      context = &(*doc)["context"];
      if (!context->is_object()) return Bad("context", "expected an object of named fields");
    }
    static const json kNoContext = json::object();
    auto rows = ParseRows((*doc)["examples"], "examples", context ? context : &kNoContext);
    if (!rows.ok()) return rows.status();
    request.instances = std::move(*rows);
    return request;
  }
  for (const auto& [key, value] : doc->items()) {
    if (key != "instances" && key != "inputs" && key != "signature_name") {
      return Bad(key, "unknown key (expected instances or inputs, and signature_name)");
    }
  }
  const bool has_instances = doc->contains("instances"), has_inputs = doc->contains("inputs");
  if (has_instances == has_inputs) {
    return absl::InvalidArgumentError(
        "request must hold exactly one of \"instances\" (row format) and \"inputs\" (columnar)");
  }
  if (has_instances) {
    auto rows = ParseRows((*doc)["instances"], "instances", nullptr);
    if (!rows.ok()) return rows.status();
    request.instances = std::move(*rows);
    return request;
  }
  request.columnar = true;
  const json& inputs = (*doc)["inputs"];
  auto rows = inputs.is_object() ? ParseColumns(inputs) : ParseRows(inputs, "inputs", nullptr);
  if (!rows.ok()) return rows.status();
  request.instances = std::move(*rows);
  return request;
}

absl::StatusOr<V2Request> ParseV2InferRequest(std::string_view body) {
  auto doc = ParseBody(body);
  if (!doc.ok()) return doc.status();
  V2Request request;
  if (doc->contains("id")) {
    if (!(*doc)["id"].is_string()) return Bad("id", "expected a string");
    request.id = (*doc)["id"].get<std::string>();
  }
  if (!doc->contains("inputs") || !(*doc)["inputs"].is_array() || (*doc)["inputs"].empty()) {
    return Bad("inputs", "expected a non-empty list of input tensors");
  }
  const json& inputs = (*doc)["inputs"];
  size_t rows = 0;
  for (size_t t = 0; t < inputs.size(); ++t) {
    const std::string at = absl::StrCat("inputs[", t, "]");
    const json& tensor = inputs[t];
    if (!tensor.is_object()) return Bad(at, "expected a tensor object");
    if (!tensor.contains("name") || !tensor["name"].is_string()) {
      return Bad(at + ".name", "missing or not a string");
    }
    const std::string name = tensor["name"].get<std::string>();
    const std::string tat = absl::StrCat(at, " (", name, ")");
    if (!tensor.contains("datatype") || !tensor["datatype"].is_string()) {
      return Bad(tat + ".datatype", "missing or not a string");
    }
    if (!tensor.contains("shape") || !tensor["shape"].is_array() || tensor["shape"].empty() ||
        tensor["shape"].size() > 2) {
      return Bad(tat + ".shape", "expected [N] or [N, 1]");
    }
    int64_t dims[2] = {0, 1};
    for (size_t d = 0; d < tensor["shape"].size(); ++d) {
      const json& dim = tensor["shape"][d];
      if (!dim.is_number_integer() || dim.get<int64_t>() < 0) {
        return Bad(tat + ".shape", "dimensions are integers >= 0");
      }
      dims[d] = dim.get<int64_t>();
    }
    if (dims[1] != 1) return Bad(tat + ".shape", "one value per row: expected [N] or [N, 1]");
    if (!tensor.contains("data")) return Bad(tat + ".data", "missing");
    std::vector<const json*> data;
    if (!Flatten(tensor["data"], &data)) {
      return Bad(tat + ".data", "expected a list of values, or of one-value lists");
    }
    if (static_cast<int64_t>(data.size()) != dims[0]) {
      return Bad(tat + ".data",
                 absl::StrCat("holds ", data.size(), " values but shape says ", dims[0]));
    }
    if (t == 0) {
      rows = data.size();
      if (rows == 0) return Bad(tat + ".shape", "no rows to score");
      request.instances.resize(rows);
      for (size_t i = 0; i < rows; ++i) request.instances[i].where = absl::StrCat("row ", i);
    } else if (data.size() != rows) {
      return Bad(tat + ".shape",
                 absl::StrCat("has ", data.size(), " rows but inputs[0] has ", rows));
    }
    for (size_t i = 0; i < rows; ++i) {
      auto text = ScalarText(*data[i], absl::StrCat(tat, ".data[", i, "]"));
      if (!text.ok()) return text.status();
      request.instances[i].fields.emplace_back(name, std::move(*text));
    }
  }
  return request;
}

}  // namespace parasol
