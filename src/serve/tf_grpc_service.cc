#include "serve/tf_grpc_service.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "proto/tf_serving.grpc.pb.h"
#include "serve/grpc_call.h"
#include "serve/serving_core.h"

namespace parasol {
namespace {

namespace tfs = tensorflow::serving;
using ServablePtr = ServingCore::ServablePtr;

constexpr char kOutput[] = "probability";

VersionSelector Selector(const tfs::ModelSpec& spec) {
  return SelectorOf(spec, spec.version().value());
}

// The shared call path for a TF Serving request, the status converted in wire/. As TF Serving,
// a request without model_spec is refused first (INVALID_ARGUMENT), then `precheck` (what TF
// Serving checks before it looks the model up); both count as calls to no model. Predict,
// classify and regress then check the signature name (every Parasol model has one).
template <typename Request, typename Fn>
grpc::Status Serve(const ServingCore& core, ServeApi api, const Request& request,
                   bool needs_servable, Fn fn, absl::Status precheck = absl::OkStatus()) {
  const auto start = ServingCore::Clock::now();
  if (!request.has_model_spec()) {
    precheck = absl::InvalidArgumentError("model_spec: missing; name the model to call");
  }
  if (!precheck.ok()) {
    core.RecordUnrouted(api, /*error=*/true, start);
    return ToGrpcStatus(precheck);
  }
  const tfs::ModelSpec& spec = request.model_spec();
  const bool scores = api == ServeApi::kPredict || api == ServeApi::kClassify ||
                      api == ServeApi::kRegress;  // metadata and status ignore the signature
  auto checked = [&](const ServedModel& model, const ServablePtr& servable) -> absl::Status {
    if (scores) {
      if (auto st = CheckSignatureName(api, spec.signature_name()); !st.ok()) return st;
    }
    return fn(model, servable);
  };
  return ToGrpcStatus(core.Call(api, spec.name(), Selector(spec), needs_servable, checked, start));
}

void Answered(const tfs::ModelSpec& request, const Servable& servable, tfs::ModelSpec* out) {
  out->set_name(request.name());
  out->mutable_version()->set_value(servable.version());
  out->set_signature_name(kServingSignature);
}

// A number as the text a CSV would hold: its shortest round-trip form, as the REST API reads
// JSON numbers.
template <typename T>
std::string NumberText(T value) {
  if constexpr (std::is_same_v<T, bool>) {
    return value ? "1" : "0";  // as REST reads true/false
  } else {
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value);
    return ec == std::errc() ? std::string(buf, end) : std::string();
  }
}

// Values of a tensor given either as tensor_content (raw little-endian, what numpy clients
// send) or as the typed repeated field.
template <typename T, typename Repeated>
absl::Status AppendValues(const tensorflow::TensorProto& t, const Repeated& typed, size_t n,
                          const std::string& where, std::vector<std::string>* out) {
  if (!t.tensor_content().empty()) {
    if (t.tensor_content().size() != n * sizeof(T)) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": tensor_content has ",
                                                     t.tensor_content().size(),
                                                     " bytes, the shape needs ", n * sizeof(T)));
    }
    for (size_t i = 0; i < n; ++i) {
      T v;
      std::memcpy(&v, t.tensor_content().data() + i * sizeof(T), sizeof(T));
      out->push_back(NumberText(v));
    }
    return absl::OkStatus();
  }
  if (static_cast<size_t>(typed.size()) != n) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": ", typed.size(), " values, the shape says ", n));
  }
  for (const auto& v : typed) out->push_back(NumberText(v));
  return absl::OkStatus();
}

// One input tensor as one raw column: shape [N] or [N, 1] (or a scalar, N = 1); values as text.
absl::StatusOr<std::vector<std::string>> Column(const tensorflow::TensorProto& t,
                                                const std::string& where) {
  const auto& dims = t.tensor_shape().dim();
  int64_t n = 1;
  if (dims.size() >= 1) n = dims[0].size();
  if (dims.size() > 2 || (dims.size() == 2 && dims[1].size() != 1) || n < 0 ||
      t.tensor_shape().unknown_rank()) {
    std::string shape;
    for (const auto& d : dims) absl::StrAppend(&shape, shape.empty() ? "" : ", ", d.size());
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": shape [", shape,
                     "]; each input is one column of raw values, shape [N] or [N, 1]"));
  }
  std::vector<std::string> out;
  out.reserve(n);
  absl::Status st;
  switch (t.dtype()) {
    case tensorflow::DT_STRING:
      if (t.string_val_size() != n) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ": ", t.string_val_size(), " values, the shape says ", n));
      }
      out.assign(t.string_val().begin(), t.string_val().end());
      break;
    case tensorflow::DT_FLOAT:
      st = AppendValues<float>(t, t.float_val(), n, where, &out);
      break;
    case tensorflow::DT_DOUBLE:
      st = AppendValues<double>(t, t.double_val(), n, where, &out);
      break;
    case tensorflow::DT_INT32:
      st = AppendValues<int32_t>(t, t.int_val(), n, where, &out);
      break;
    case tensorflow::DT_INT64:
      st = AppendValues<int64_t>(t, t.int64_val(), n, where, &out);
      break;
    case tensorflow::DT_BOOL:
      st = AppendValues<bool>(t, t.bool_val(), n, where, &out);
      break;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": dtype ", tensorflow::DataType_Name(t.dtype()),
                       " is not supported (DT_FLOAT, DT_DOUBLE, DT_INT32, DT_INT64, DT_BOOL for "
                       "numeric columns, DT_STRING for categorical ones)"));
  }
  if (!st.ok()) return st;
  return out;
}

// Predict inputs → rows: row i takes element i of every input tensor.
absl::StatusOr<std::vector<RawInstance>> RowsOfTensors(const tfs::PredictRequest& request) {
  if (request.inputs().empty()) {
    return absl::InvalidArgumentError("inputs: empty, nothing to score");
  }
  std::vector<RawInstance> rows;
  std::string first;
  // Sorted names: deterministic field order and error messages (the map's order is not).
  std::map<std::string, const tensorflow::TensorProto*> inputs;
  for (const auto& [name, tensor] : request.inputs()) inputs[name] = &tensor;
  for (const auto& [name, tensor] : inputs) {
    const std::string where = absl::StrCat("inputs['", name, "']");
    auto column = Column(*tensor, where);
    if (!column.ok()) return column.status();
    if (first.empty()) {
      first = where;
      rows.resize(column->size());
      for (size_t i = 0; i < rows.size(); ++i) rows[i].where = absl::StrCat("row ", i);
    } else if (column->size() != rows.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": ", column->size(), " rows, but ", first, " has ", rows.size()));
    }
    for (size_t i = 0; i < rows.size(); ++i) rows[i].fields.emplace_back(name, (*column)[i]);
  }
  if (rows.empty()) return absl::InvalidArgumentError("inputs: 0 rows, nothing to score");
  return rows;
}

// tf.Example features → fields: each feature one scalar (an empty list is absent).
absl::Status AppendFeatures(const tensorflow::Example& example, const std::string& where,
                            std::vector<std::pair<std::string, std::string>>* fields) {
  std::map<std::string, const tensorflow::Feature*> sorted;
  for (const auto& [name, feature] : example.features().feature()) sorted[name] = &feature;
  for (const auto& [name, feature] : sorted) {
    std::vector<std::string> values;
    switch (feature->kind_case()) {
      case tensorflow::Feature::kBytesList:
        values.assign(feature->bytes_list().value().begin(), feature->bytes_list().value().end());
        break;
      case tensorflow::Feature::kFloatList:
        for (float v : feature->float_list().value()) values.push_back(NumberText(v));
        break;
      case tensorflow::Feature::kInt64List:
        for (int64_t v : feature->int64_list().value()) values.push_back(NumberText(v));
        break;
      case tensorflow::Feature::KIND_NOT_SET:
        break;
    }
    if (values.size() > 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, " feature '", name, "': ", values.size(), " values; each feature is one scalar"));
    }
    std::string value = values.empty() ? std::string() : std::move(values[0]);
    auto it = std::find_if(fields->begin(), fields->end(),
                           [&](const auto& f) { return f.first == name; });
    if (it != fields->end()) {
      it->second = std::move(value);  // an example's feature overrides the context's
    } else {
      fields->emplace_back(name, std::move(value));
    }
  }
  return absl::OkStatus();
}

// Classify/regress input → rows: each example's features over the context's.
absl::StatusOr<std::vector<RawInstance>> RowsOfExamples(const tfs::Input& input) {
  const google::protobuf::RepeatedPtrField<tensorflow::Example>* examples = nullptr;
  const tensorflow::Example* context = nullptr;
  switch (input.kind_case()) {
    case tfs::Input::kExampleList:
      examples = &input.example_list().examples();
      break;
    case tfs::Input::kExampleListWithContext:
      examples = &input.example_list_with_context().examples();
      context = &input.example_list_with_context().context();
      break;
    case tfs::Input::KIND_NOT_SET:
      break;
  }
  if (examples == nullptr || examples->empty()) {
    return absl::InvalidArgumentError("input: no examples, nothing to score");
  }
  std::vector<RawInstance> rows(examples->size());
  for (int i = 0; i < examples->size(); ++i) {
    rows[i].where = absl::StrCat("examples[", i, "]");
    if (context != nullptr) {
      if (auto st = AppendFeatures(*context, "context", &rows[i].fields); !st.ok()) return st;
    }
    if (auto st = AppendFeatures((*examples)[i], rows[i].where, &rows[i].fields); !st.ok()) {
      return st;
    }
  }
  return rows;
}

// GetModelMetadata's fields, checked before the model is looked up (as TF Serving does): at
// least one, each "signature_def".
absl::Status MetadataFields(const tfs::GetModelMetadataRequest& request) {
  if (request.metadata_field().empty()) {
    return absl::InvalidArgumentError(
        "metadata_field: empty; ask for at least one field (\"signature_def\")");
  }
  for (const std::string& field : request.metadata_field()) {
    if (field != "signature_def") {
      return absl::InvalidArgumentError(
          absl::StrCat("metadata_field: '", field, "' is not supported (only 'signature_def')"));
    }
  }
  return absl::OkStatus();
}

tensorflow::TensorInfo Info(const std::string& name, tensorflow::DataType dtype) {
  tensorflow::TensorInfo info;
  info.set_name(name);
  info.set_dtype(dtype);
  info.mutable_tensor_shape()->add_dim()->set_size(-1);
  return info;
}

tfs::ModelVersionStatus::State StateOf(VersionState state) {
  switch (state) {
    case VersionState::kStart:
      return tfs::ModelVersionStatus::START;
    case VersionState::kLoading:
      return tfs::ModelVersionStatus::LOADING;
    case VersionState::kAvailable:
      return tfs::ModelVersionStatus::AVAILABLE;
    case VersionState::kUnloading:
      return tfs::ModelVersionStatus::UNLOADING;
    case VersionState::kEnd:
      break;
  }
  return tfs::ModelVersionStatus::END;
}

class PredictionService final : public tfs::PredictionService::Service {
 public:
  explicit PredictionService(const ServingCore* core) : core_(*core) {}

  grpc::Status Predict(grpc::ServerContext*, const tfs::PredictRequest* request,
                       tfs::PredictResponse* response) override {
    return Serve(
        core_, ServeApi::kPredict, *request, true,
        [&](const ServedModel&, const ServablePtr& servable) -> absl::Status {
          for (int i = 0; i < request->output_filter_size(); ++i) {
            const std::string& name = request->output_filter(i);
            if (name != kOutput) {
              return absl::InvalidArgumentError(absl::StrCat("output_filter: no output '", name,
                                                             "' (this model has '", kOutput, "')"));
            }
            if (i > 0) {
              return absl::InvalidArgumentError(
                  absl::StrCat("output_filter: '", name, "' named twice"));
            }
          }
          auto rows = RowsOfTensors(*request);
          if (!rows.ok()) return rows.status();
          auto probs = core_.Predict(servable, *rows);
          if (!probs.ok()) return probs.status();
          tensorflow::TensorProto& out = (*response->mutable_outputs())[kOutput];
          out.set_dtype(tensorflow::DT_FLOAT);
          out.mutable_tensor_shape()->add_dim()->set_size(probs->size());
          out.mutable_float_val()->Assign(probs->begin(), probs->end());
          Answered(request->model_spec(), *servable, response->mutable_model_spec());
          return absl::OkStatus();
        });
  }

  grpc::Status Classify(grpc::ServerContext*, const tfs::ClassificationRequest* request,
                        tfs::ClassificationResponse* response) override {
    return Serve(core_, ServeApi::kClassify, *request, true,
                 [&](const ServedModel&, const ServablePtr& servable) -> absl::Status {
                   auto probs = ScoreExamples(request->input(), servable);
                   if (!probs.ok()) return probs.status();
                   for (float p : *probs) {
                     auto* c = response->mutable_result()->add_classifications();
                     auto* negative = c->add_classes();
                     negative->set_label("0");
                     negative->set_score(1 - p);
                     auto* positive = c->add_classes();
                     positive->set_label("1");
                     positive->set_score(p);
                   }
                   Answered(request->model_spec(), *servable, response->mutable_model_spec());
                   return absl::OkStatus();
                 });
  }

  grpc::Status Regress(grpc::ServerContext*, const tfs::RegressionRequest* request,
                       tfs::RegressionResponse* response) override {
    return Serve(core_, ServeApi::kRegress, *request, true,
                 [&](const ServedModel&, const ServablePtr& servable) -> absl::Status {
                   auto probs = ScoreExamples(request->input(), servable);
                   if (!probs.ok()) return probs.status();
                   for (float p : *probs)
                     response->mutable_result()->add_regressions()->set_value(p);
                   Answered(request->model_spec(), *servable, response->mutable_model_spec());
                   return absl::OkStatus();
                 });
  }

  grpc::Status GetModelMetadata(grpc::ServerContext*, const tfs::GetModelMetadataRequest* request,
                                tfs::GetModelMetadataResponse* response) override {
    return Serve(
        core_, ServeApi::kMetadata, *request, true,
        [&](const ServedModel&, const ServablePtr& servable) -> absl::Status {
          tfs::SignatureDefMap map;
          tensorflow::SignatureDef& sig = (*map.mutable_signature_def())[kServingSignature];
          sig.set_method_name("tensorflow/serving/predict");
          auto& inputs = *sig.mutable_inputs();
          if (servable->inputs().empty()) {  // libsvm: one "idx:val ..." string per row
            inputs["features"] = Info("features", tensorflow::DT_STRING);
          }
          for (const ServableInput& in : servable->inputs()) {
            inputs[in.name] =
                Info(in.name, in.numeric ? tensorflow::DT_FLOAT : tensorflow::DT_STRING);
          }
          (*sig.mutable_outputs())[kOutput] = Info(kOutput, tensorflow::DT_FLOAT);
          (*response->mutable_metadata())["signature_def"].PackFrom(map);
          Answered(request->model_spec(), *servable, response->mutable_model_spec());
          return absl::OkStatus();
        },
        MetadataFields(*request));
  }

 private:
  absl::StatusOr<std::vector<float>> ScoreExamples(const tfs::Input& input,
                                                   const ServablePtr& servable) {
    auto rows = RowsOfExamples(input);
    if (!rows.ok()) return rows.status();
    return core_.Predict(servable, *rows);
  }

  const ServingCore& core_;
};

class ModelService final : public tfs::ModelService::Service {
 public:
  explicit ModelService(const ServingCore* core) : core_(*core) {}

  grpc::Status GetModelStatus(grpc::ServerContext*, const tfs::GetModelStatusRequest* request,
                              tfs::GetModelStatusResponse* response) override {
    return Serve(core_, ServeApi::kStatus, *request, false,
                 [&](const ServedModel& model, const ServablePtr&) -> absl::Status {
                   auto statuses = model.StatusesFor(Selector(request->model_spec()));
                   if (!statuses.ok()) return statuses.status();
                   for (const VersionStatus& s : *statuses) {
                     auto* out = response->add_model_version_status();
                     out->set_version(s.version);
                     out->set_state(StateOf(s.state));
                     out->mutable_status()->set_error_code(
                         static_cast<tensorflow::error::Code>(s.status.code()));
                     out->mutable_status()->set_error_message(std::string(s.status.message()));
                   }
                   return absl::OkStatus();
                 });
  }

 private:
  const ServingCore& core_;
};

}  // namespace

std::vector<std::unique_ptr<grpc::Service>> MakeTfServingServices(const ServingCore* core) {
  std::vector<std::unique_ptr<grpc::Service>> services;
  services.push_back(std::make_unique<PredictionService>(core));
  services.push_back(std::make_unique<ModelService>(core));
  return services;
}

}  // namespace parasol
