#include "control/workflow/workflow_steps.h"

#include <httplib.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "control/workflow/gate.h"
#include "metrics/metrics.h"
#include "predict/predictor.h"
#include "wire/http_status.h"

namespace parasol::control {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

absl::Status WriteJson(const std::string& path, const json& j) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << j.dump(2) << "\n";
    if (!out) return absl::UnavailableError("cannot write " + tmp);
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return absl::UnavailableError("cannot rename " + tmp + ": " + ec.message());
  return absl::OkStatus();
}

json FiguresJson(const std::map<std::string, double>& figures) {
  json j = json::object();
  for (const auto& [k, v] : figures) j[k] = v;
  return j;
}

// Numbered version folders of `base`, highest first.
std::vector<int64_t> Versions(const std::string& base) {
  std::vector<int64_t> out;
  std::error_code ec;
  for (fs::directory_iterator it(base, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    int64_t v = 0;
    if (it->is_directory() && name.find_first_not_of("0123456789") == std::string::npos &&
        absl::SimpleAtoi(name, &v)) {
      out.push_back(v);
    }
  }
  std::sort(out.rbegin(), out.rend());
  return out;
}

std::string ModelName(const std::string& base) {
  fs::path p(base);
  while (p.has_parent_path() && p.filename().empty()) p = p.parent_path();
  return p.filename().string();
}

}  // namespace

absl::StatusOr<std::map<std::string, double>> ScoreModel(const std::string& model_dir,
                                                         const std::string& data) {
  auto predictor = Predictor::Load(model_dir);
  if (!predictor.ok()) return predictor.status();
  std::vector<float> probs, labels;
  auto st = (*predictor)->ScoreLabelled(data, 0, &probs, &labels);
  if (!st.ok()) return st;
  std::map<std::string, double> out;
  for (const auto& [name, value] : NamedMetrics(ComputeBinaryMetrics(probs, labels))) {
    if (std::isfinite(value)) out[name] = value;
  }
  return out;
}

absl::Status RunEvalStep(const std::string& model_dir, const std::string& data,
                         const std::string& out_dir) {
  auto figures = ScoreModel(model_dir, data);
  if (!figures.ok()) return figures.status();
  if (auto st = WriteJson(out_dir + "/metrics.json", FiguresJson(*figures)); !st.ok()) return st;
  json outputs = json::object();
  for (const char* k : {"auc", "logloss"}) {
    if (figures->count(k)) outputs[k] = absl::StrCat(figures->at(k));
  }
  return WriteJson(out_dir + "/outputs.json", outputs);
}

absl::StatusOr<int64_t> ServedVersion(const std::string& server, const std::string& name) {
  httplib::Client client(server);
  client.set_connection_timeout(5, 0);
  client.set_read_timeout(10, 0);
  const std::string path = "/v1/models/" + name;
  auto res = client.Get(path);
  if (!res) {
    return absl::UnavailableError("model server " + server + " does not answer GET " + path + " (" +
                                  httplib::to_string(res.error()) + ")");
  }
  if (res->status == 404) return 0;  // it serves no such model (yet)
  if (res->status != 200) return StatusFromHttp(res->status, res->body);
  const json j = json::parse(res->body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("model_version_status") ||
      !j["model_version_status"].is_array()) {
    return absl::InternalError("model server " + server + ": GET " + path +
                               ": no model_version_status list in the reply");
  }
  int64_t newest = 0;
  for (const auto& v : j["model_version_status"]) {
    int64_t version = 0;
    if (!v.is_object() || !v.contains("version") || !v["version"].is_string() ||
        !absl::SimpleAtoi(v["version"].get<std::string>(), &version)) {
      return absl::InternalError("model server " + server + ": GET " + path +
                                 ": model_version_status[].version is not a number string");
    }
    if (v.value("state", "") == "AVAILABLE") newest = std::max(newest, version);
  }
  return newest;
}

absl::StatusOr<bool> RunGateStep(const GateStepOptions& o) {
  auto rules = GateRulesFromJson(o.rules_json);
  if (!rules.ok()) return rules.status();
  std::string baseline_model = o.baseline;
  json baseline_from = nullptr;
  if (baseline_model.empty() && !o.baseline_base.empty()) {
    if (!o.baseline_server.empty()) {
      auto served = ServedVersion(o.baseline_server, ModelName(o.baseline_base));
      if (!served.ok()) return served.status();
      if (*served > 0) baseline_model = absl::StrCat(o.baseline_base, "/", *served);
      baseline_from = {{"server", o.baseline_server},
                       {"model", ModelName(o.baseline_base)},
                       {"version", *served}};
    } else if (const auto versions = Versions(o.baseline_base); !versions.empty()) {
      baseline_model = absl::StrCat(o.baseline_base, "/", versions.front());
      baseline_from = {{"modelBase", o.baseline_base}, {"version", versions.front()}};
    }
  }
  auto candidate = ScoreModel(o.candidate, o.data);
  if (!candidate.ok()) {
    return absl::Status(candidate.status().code(), "candidate " + o.candidate + ": " +
                                                       std::string(candidate.status().message()));
  }
  std::optional<std::map<std::string, double>> baseline;
  if (!baseline_model.empty()) {
    auto scored = ScoreModel(baseline_model, o.data);
    if (!scored.ok()) {
      return absl::Status(scored.status().code(), "baseline " + baseline_model + ": " +
                                                      std::string(scored.status().message()));
    }
    baseline = *std::move(scored);
  }
  const GateVerdict verdict = JudgeGate(*rules, *candidate, baseline);
  json report = {{"verdict", VerdictName(verdict.blessed)},
                 {"candidateModel", o.candidate},
                 {"candidate", FiguresJson(*candidate)},
                 {"baselineModel", baseline_model.empty() ? json(nullptr) : json(baseline_model)},
                 {"baselineFrom", baseline_from},
                 {"baseline", baseline ? FiguresJson(*baseline) : json(nullptr)},
                 {"data", o.data},
                 {"rules", GateRulesToJson(*rules)},
                 {"checks", GateChecksToJson(verdict)},
                 {"skipped", verdict.skipped}};
  if (auto st = WriteJson(o.out_dir + "/verdict.json", report); !st.ok()) return st;
  if (auto st = WriteJson(o.out_dir + "/outputs.json", {{"verdict", VerdictName(verdict.blessed)}});
      !st.ok()) {
    return st;
  }
  return verdict.blessed;
}

absl::StatusOr<int64_t> RunDeployStep(const std::string& model_dir, const std::string& model_base,
                                      const std::string& server, const std::string& out_dir,
                                      int wait_seconds) {
  std::error_code ec;
  if (!fs::exists(fs::path(model_dir) / "manifest.json", ec)) {
    return absl::NotFoundError(model_dir + ": not a model folder (no manifest.json)");
  }
  fs::create_directories(model_base, ec);
  if (ec) return absl::UnavailableError("cannot create " + model_base + ": " + ec.message());
  const std::vector<int64_t> versions = Versions(model_base);
  const int64_t version = versions.empty() ? 1 : versions.front() + 1;
  const std::string tmp = absl::StrCat(model_base, "/", version, ".tmp-", getpid());
  const std::string final_dir = absl::StrCat(model_base, "/", version);
  fs::remove_all(tmp, ec);
  fs::copy(model_dir, tmp, fs::copy_options::recursive, ec);
  if (ec) {
    fs::remove_all(tmp, ec);
    return absl::UnavailableError("cannot copy " + model_dir + " to " + tmp);
  }
  // rename(2) fails rather than replacing a non-empty folder: a version another writer took
  // meanwhile is never overwritten.
  fs::rename(tmp, final_dir, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove_all(tmp, ignored);
    return absl::AbortedError("cannot rename " + tmp + " to " + final_dir + ": " + ec.message());
  }
  if (!server.empty()) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(wait_seconds);
    int64_t served = 0;
    while (true) {
      auto v = ServedVersion(server, ModelName(model_base));
      if (v.ok()) served = *v;
      if (served >= version) break;
      if (std::chrono::steady_clock::now() > deadline) {
        return absl::DeadlineExceededError(
            absl::StrCat("version ", version, " was written to ", final_dir, " but ", server,
                         " did not serve it within ", wait_seconds, " s (serving ", served, ")"));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }
  if (auto st = WriteJson(out_dir + "/outputs.json",
                          {{"version", absl::StrCat(version)}, {"path", final_dir}});
      !st.ok()) {
    return st;
  }
  return version;
}

}  // namespace parasol::control
