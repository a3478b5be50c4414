#include "serve/rest_api.h"

#include <charconv>
#include <chrono>
#include <nlohmann/json.hpp>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "serve/metrics_page.h"
#include "serve/request.h"
#include "storage/checkpoint_dir.h"
#include "wire/http_status.h"

namespace parasol {
namespace {

using json = nlohmann::json;

HttpResponse Json(const json& body, int status = 200) {
  HttpResponse r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

absl::StatusOr<int64_t> ParseVersionNumber(const std::string& text) {
  int64_t v = -1;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size() || v < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("version '", text, "' is not a non-negative integer"));
  }
  return v;
}

std::vector<std::string> Split(const std::string& path) {
  std::vector<std::string> parts;
  size_t begin = 0;
  while (true) {
    const size_t slash = path.find('/', begin);
    parts.push_back(path.substr(begin, slash == std::string::npos ? slash : slash - begin));
    if (slash == std::string::npos) return parts;
    begin = slash + 1;
  }
}

// A parsed /v1 or /v2 model path.
struct Route {
  ServeApi api = ServeApi::kOther;
  std::string model;
  VersionSelector selector;
  TfMethod method = TfMethod::kPredict;
  bool v2 = false;
};

// A /v1 path TF Serving's REST API does not serve: INVALID_ARGUMENT (400), as TF Serving
// answers every /v1 request its routes do not match ("Malformed request").
absl::Status MalformedV1(const std::string& why) {
  return absl::InvalidArgumentError(absl::StrCat("malformed request: ", why));
}

// /v1/models/NAME[/versions/N|/labels/L][/metadata|:predict|:classify|:regress]
absl::StatusOr<Route> ParseV1(std::string rest, const std::string& http_method) {
  Route route;
  std::string verb;
  if (auto colon = rest.rfind(':'); colon != std::string::npos) {
    verb = rest.substr(colon + 1);
    rest = rest.substr(0, colon);
  }
  std::vector<std::string> parts = Split(rest);
  bool metadata = false;
  if (!parts.empty() && parts.back() == "metadata" && parts.size() != 1) {
    metadata = true;
    parts.pop_back();
  }
  if (parts.empty() || parts[0].empty() || (parts.size() != 1 && parts.size() != 3)) {
    return MalformedV1(absl::StrCat("no such endpoint: /v1/models/", rest));
  }
  route.model = parts[0];
  if (parts.size() == 3) {
    if (parts[1] == "versions") {
      auto v = ParseVersionNumber(parts[2]);
      if (!v.ok()) return v.status();
      route.selector.kind = VersionSelector::Kind::kVersion;
      route.selector.version = *v;
    } else if (parts[1] == "labels") {
      route.selector.kind = VersionSelector::Kind::kLabel;
      route.selector.label = parts[2];
    } else {
      return MalformedV1(absl::StrCat("no such endpoint: /v1/models/", rest,
                                      " (expected versions/N or labels/L)"));
    }
  }
  if (verb.empty()) {
    if (http_method != "GET") {
      return MalformedV1(absl::StrCat(http_method,
                                      " is not served here; model status "
                                      "and metadata are GET, predict is POST ...:predict"));
    }
    route.api = metadata ? ServeApi::kMetadata : ServeApi::kStatus;
    return route;
  }
  if (metadata) return MalformedV1("metadata takes no :method");
  if (http_method != "POST") {
    return MalformedV1(absl::StrCat(":", verb, " takes POST, not ", http_method));
  }
  if (verb == "predict") {
    route.api = ServeApi::kPredict;
    route.method = TfMethod::kPredict;
  } else if (verb == "classify") {
    route.api = ServeApi::kClassify;
    route.method = TfMethod::kClassify;
  } else if (verb == "regress") {
    route.api = ServeApi::kRegress;
    route.method = TfMethod::kRegress;
  } else {
    return MalformedV1(
        absl::StrCat("unknown method ':", verb, "' (expected :predict, :classify or :regress)"));
  }
  return route;
}

// /v2/models/NAME[/versions/V][/ready|/infer]
absl::StatusOr<Route> ParseV2(const std::string& rest, const std::string& http_method) {
  Route route;
  route.v2 = true;
  std::vector<std::string> parts = Split(rest);
  std::string action;
  if (parts.size() == 2 || parts.size() == 4) {
    action = parts.back();
    parts.pop_back();
  }
  if (parts.empty() || parts[0].empty() || (parts.size() != 1 && parts.size() != 3) ||
      (parts.size() == 3 && parts[1] != "versions")) {
    return absl::NotFoundError(absl::StrCat("no such endpoint: /v2/models/", rest));
  }
  route.model = parts[0];
  if (parts.size() == 3) {
    auto v = ParseVersionNumber(parts[2]);
    if (!v.ok()) return v.status();
    route.selector.kind = VersionSelector::Kind::kVersion;
    route.selector.version = *v;
  }
  const std::string want = action == "infer" ? "POST" : "GET";
  if (action.empty()) {
    route.api = ServeApi::kMetadata;
  } else if (action == "ready") {
    route.api = ServeApi::kReady;
  } else if (action == "infer") {
    route.api = ServeApi::kInfer;
  } else {
    return absl::NotFoundError(absl::StrCat("no such endpoint: /v2/models/", rest));
  }
  if (http_method != want) {
    return absl::NotFoundError(absl::StrCat("/v2/models/", rest, " takes ", want));
  }
  return route;
}

json TfStatusJson(const VersionStatus& s) {
  std::string code = "OK";
  if (!s.status.ok()) {
    code = absl::StatusCodeToString(s.status.code());
  }
  json out = {
      {"version", std::to_string(s.version)},
      {"state", VersionStateName(s.state)},
      {"status", {{"error_code", code}, {"error_message", std::string(s.status.message())}}}};
  // Parasol's addition, only for versions a delta can apply to or that refused one.
  const DeltaStatus& d = s.deltas;
  if (d.checkpoint_id >= 0 || !d.refused.empty()) {
    json refused = json::object();
    for (const auto& [seq, why] : d.refused)
      refused[std::to_string(seq)] = std::string(why.message());
    out["deltas"] = {{"applied", d.applied},
                     {"rows", d.rows},
                     {"checkpoint", d.checkpoint_id >= 0 ? CheckpointDirName(d.checkpoint_id) : ""},
                     {"refused", refused}};
  }
  return out;
}

json TfMetadata(const std::string& model, const Servable& servable) {
  json inputs = json::object();
  auto tensor = [](const std::string& name, const char* dtype) {
    return json{
        {"dtype", dtype},
        {"tensor_shape", {{"dim", {{{"size", "-1"}, {"name", ""}}}}, {"unknown_rank", false}}},
        {"name", name}};
  };
  if (servable.inputs().empty()) {
    inputs["features"] = tensor("features", "DT_STRING");
  }
  for (const auto& in : servable.inputs()) {
    inputs[in.name] = tensor(in.name, in.numeric ? "DT_FLOAT" : "DT_STRING");
  }
  json signature = {{"inputs", inputs},
                    {"outputs", {{"probability", tensor("probability", "DT_FLOAT")}}},
                    {"method_name", "tensorflow/serving/predict"}};
  return {
      {"model_spec",
       {{"name", model}, {"signature_name", ""}, {"version", std::to_string(servable.version())}}},
      {"metadata",
       {{"signature_def", {{"signature_def", {{"serving_default", signature}}}}},
        {"parasol",
         {{"model_type", servable.model_type()}, {"input_format", servable.data_format()}}}}}};
}

json V2Metadata(const ServedModel& model, const Servable& servable) {
  json versions = json::array();
  for (const auto& [v, s] : model.available) versions.push_back(std::to_string(v));
  json inputs = json::array();
  if (servable.inputs().empty()) {
    inputs.push_back({{"name", "features"}, {"datatype", "BYTES"}, {"shape", {-1}}});
  }
  for (const auto& in : servable.inputs()) {
    inputs.push_back(
        {{"name", in.name}, {"datatype", in.numeric ? "FP32" : "BYTES"}, {"shape", {-1}}});
  }
  return {
      {"name", model.config.name},
      {"versions", versions},
      {"platform", absl::StrCat("parasol_", servable.model_type())},
      {"inputs", inputs},
      {"outputs", json::array({{{"name", "probability"}, {"datatype", "FP32"}, {"shape", {-1}}}})}};
}

json FloatArray(const std::vector<float>& values) {
  json out = json::array();
  for (float v : values) out.push_back(static_cast<double>(v));
  return out;
}

// One REST call on its way through the route table.
struct RestCall {
  const ServingCore& core;
  const HttpRequest& request;
  std::string_view rest;  // the path after the route's prefix
  size_t max_body_bytes;
  ServingCore::Clock::time_point start;
  ServeApi api = ServeApi::kOther;  // how the call is recorded when no model was looked up
  bool recorded = false;            // ServingCore::Call recorded it
};

using RouteHandler = absl::StatusOr<HttpResponse> (*)(RestCall* call);

absl::StatusOr<HttpResponse> NoSuchEndpoint(RestCall* call) {
  return absl::NotFoundError(
      absl::StrCat("no such endpoint: ", call->request.method, " ", call->request.path));
}

absl::StatusOr<HttpResponse> Metrics(RestCall* call) {
  if (call->request.method != "GET") return NoSuchEndpoint(call);
  HttpResponse r;
  r.content_type = "text/plain; version=0.0.4";
  r.body = RenderMetricsPage(*call->core.snapshot(), *call->core.repository().unrouted_metrics(),
                             call->core.batcher());
  return r;
}

// /v2, /v2/health/live, /v2/health/ready.
absl::StatusOr<HttpResponse> V2Server(RestCall* call) {
  const std::string& path = call->request.path;
  if (call->request.method != "GET") return absl::NotFoundError(path + " takes GET");
  call->api = ServeApi::kReady;
  if (path == "/v2") {
    return Json({{"name", "parasol"}, {"version", "0.1.0"}, {"extensions", json::array()}});
  }
  if (path == "/v2/health/live") return Json({{"live", true}});
  for (const auto& [name, model] : call->core.snapshot()->models) {
    if (model->available.empty()) {
      return absl::UnavailableError(
          absl::StrCat("not ready: model '", name, "' has no available version"));
    }
  }
  return Json({{"ready", true}});
}

// Predict, classify, regress (/v1) or infer (/v2) with the resolved version.
absl::StatusOr<HttpResponse> Score(const Route& route, const ServingCore& core,
                                   const std::shared_ptr<const Servable>& servable,
                                   const std::string& body) {
  HttpResponse response;
  const std::string version = std::to_string(servable->version());
  if (route.api == ServeApi::kInfer) {
    auto parsed = ParseV2InferRequest(body);
    if (!parsed.ok()) return parsed.status();
    auto probs = core.Predict(servable, parsed->instances);
    if (!probs.ok()) return probs.status();
    json out = {{"model_name", route.model},
                {"model_version", version},
                {"outputs", json::array({{{"name", "probability"},
                                          {"datatype", "FP32"},
                                          {"shape", {probs->size()}},
                                          {"data", FloatArray(*probs)}}})}};
    if (!parsed->id.empty()) out["id"] = parsed->id;
    response = Json(out);
  } else {
    auto parsed = ParseTfRequest(body, route.method);
    if (!parsed.ok()) return parsed.status();
    if (auto st = CheckSignatureName(route.api, parsed->signature_name); !st.ok()) return st;
    auto probs = core.Predict(servable, parsed->instances);
    if (!probs.ok()) return probs.status();
    if (route.method == TfMethod::kPredict) {
      response = Json({{parsed->columnar ? "outputs" : "predictions", FloatArray(*probs)}});
    } else if (route.method == TfMethod::kRegress) {
      response = Json({{"results", FloatArray(*probs)}});
    } else {
      json results = json::array();
      for (float p : *probs) {
        results.push_back(json::array({json::array({"0", static_cast<double>(1.0f - p)}),
                                       json::array({"1", static_cast<double>(p)})}));
      }
      response = Json({{"results", results}});
    }
  }
  response.headers.emplace_back("Parasol-Model-Version", version);
  return response;
}

// A parsed /v1 or /v2 model path through the shared call path.
absl::StatusOr<HttpResponse> ModelCall(RestCall* call, absl::StatusOr<Route> parsed) {
  if (!parsed.ok()) return parsed.status();
  const Route& route = *parsed;
  call->api = route.api;
  call->recorded = true;
  HttpResponse response;
  // Readiness resolves in its handler: a version that does not serve is "not ready" (503).
  const bool needs_servable = route.api != ServeApi::kStatus && route.api != ServeApi::kReady;
  absl::Status status = call->core.Call(
      route.api, route.model, route.selector, needs_servable,
      [&](const ServedModel& model, const ServingCore::ServablePtr& servable) -> absl::Status {
        absl::StatusOr<HttpResponse> r;
        switch (route.api) {
          case ServeApi::kStatus: {
            auto statuses = model.StatusesFor(route.selector);
            if (!statuses.ok()) return statuses.status();
            json out = json::array();
            for (const auto& s : *statuses) out.push_back(TfStatusJson(s));
            r = Json({{"model_version_status", out}});
            break;
          }
          case ServeApi::kReady: {
            auto ready = model.Resolve(route.selector, 0);
            if (!ready.ok()) {
              return absl::UnavailableError(absl::StrCat("not ready: ", ready.status().message()));
            }
            r = Json({{"name", route.model}, {"ready", true}});
            break;
          }
          case ServeApi::kMetadata:
            r = Json(route.v2 ? V2Metadata(model, *servable) : TfMetadata(route.model, *servable));
            break;
          default:
            r = Score(route, call->core, servable, call->request.body);
        }
        if (!r.ok()) return r.status();
        response = std::move(*r);
        return absl::OkStatus();
      },
      call->start);
  if (!status.ok()) return status;
  return response;
}

absl::StatusOr<HttpResponse> V1Model(RestCall* call) {
  return ModelCall(call, ParseV1(std::string(call->rest), call->request.method));
}

absl::StatusOr<HttpResponse> V1Other(RestCall* call) {
  return MalformedV1(absl::StrCat("no such endpoint: ", call->request.method, " ",
                                  call->request.path, " (TF Serving's API is under /v1/models/)"));
}

absl::StatusOr<HttpResponse> V2Model(RestCall* call) {
  return ModelCall(call, ParseV2(std::string(call->rest), call->request.method));
}

// The route table: the first entry whose path matches (exactly, or as a prefix) handles the
// request; none matching is 404.
struct RouteEntry {
  std::string_view path;
  bool prefix;
  RouteHandler handler;
};
constexpr RouteEntry kRoutes[] = {
    {"/metrics", false, &Metrics},
    {"/v2", false, &V2Server},
    {"/v2/health/live", false, &V2Server},
    {"/v2/health/ready", false, &V2Server},
    {"/v1/models/", true, &V1Model},
    {"/v2/models/", true, &V2Model},
    {"/v1/", true, &V1Other},
};

absl::StatusOr<HttpResponse> Dispatch(RestCall* call) {
  if (call->request.body.size() > call->max_body_bytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat("request body of ", call->request.body.size(), " bytes is over the limit of ",
                     call->max_body_bytes, " bytes (--max-body-bytes)"));
  }
  const std::string_view path = call->request.path;
  for (const RouteEntry& route : kRoutes) {
    if (route.prefix ? path.substr(0, route.path.size()) == route.path : path == route.path) {
      call->rest = path.substr(route.path.size());
      return route.handler(call);
    }
  }
  return NoSuchEndpoint(call);
}

}  // namespace

RestApi::RestApi(const ModelRepository* repository, size_t max_body_bytes, Batcher* batcher)
    : core_(repository, batcher), max_body_bytes_(max_body_bytes) {}

HttpResponse RestApi::Error(const absl::Status& status) {
  HttpResponse r;
  r.status = HttpStatusCode(status);
  r.body = HttpErrorBody(status);
  return r;
}

HttpResponse RestApi::Handle(const HttpRequest& request) const {
  RestCall call{core_, request, {}, max_body_bytes_, ServingCore::Clock::now()};
  HttpResponse response;
  try {
    auto result = Dispatch(&call);
    response = result.ok() ? std::move(*result) : Error(result.status());
  } catch (const std::exception& e) {  // a bug, not the client's fault: answer, don't die
    response = Error(absl::InternalError(absl::StrCat("internal error: ", e.what())));
  }
  if (!call.recorded) core_.RecordUnrouted(call.api, response.status >= 400, call.start);
  return response;
}

}  // namespace parasol
