#include "serve/served_model.h"

#include "absl/strings/str_cat.h"

namespace parasol {

const char* VersionStateName(VersionState state) {
  switch (state) {
    case VersionState::kStart:
      return "START";
    case VersionState::kLoading:
      return "LOADING";
    case VersionState::kAvailable:
      return "AVAILABLE";
    case VersionState::kUnloading:
      return "UNLOADING";
    case VersionState::kEnd:
      break;
  }
  return "END";
}

std::string VersionSelector::ToString() const {
  switch (kind) {
    case Kind::kVersion:
      return absl::StrCat("version ", version);
    case Kind::kLabel:
      return absl::StrCat("label '", label, "'");
    case Kind::kDefault:
      break;
  }
  return "latest";
}

std::vector<VersionStatus> ServedModel::Statuses() const {
  std::map<int64_t, VersionStatus, std::greater<>> all;
  for (const auto& [v, weak] : unloaded) {
    all[v] = {
        v, weak.expired() ? VersionState::kEnd : VersionState::kUnloading, absl::OkStatus(), {}};
  }
  for (const auto& [v, status] : failed) all[v] = {v, VersionState::kEnd, status, {}};
  for (const auto& [v, servable] : available) {
    all[v] = {v, VersionState::kAvailable, {}, {}};
    if (auto d = deltas.find(v); d != deltas.end()) all[v].deltas = d->second;
  }
  for (int64_t v : loading) all[v] = {v, VersionState::kLoading, absl::OkStatus(), {}};
  std::vector<VersionStatus> out;
  for (auto& [v, s] : all) out.push_back(std::move(s));
  return out;
}

absl::StatusOr<std::vector<VersionStatus>> ServedModel::StatusesFor(
    const VersionSelector& selector) const {
  std::vector<VersionStatus> all = Statuses();
  if (selector.kind == VersionSelector::Kind::kDefault) {
    if (all.empty()) {
      return absl::NotFoundError(absl::StrCat("model '", config.name, "' has no versions",
                                              problem.empty() ? "" : ": ", problem));
    }
    return all;
  }
  int64_t v = selector.version;
  if (selector.kind == VersionSelector::Kind::kLabel) {
    auto l = LabelVersion(selector.label);
    if (!l.ok()) return l.status();
    v = *l;
  }
  for (auto& s : all) {
    if (s.version == v) return std::vector<VersionStatus>{std::move(s)};
  }
  return absl::NotFoundError(absl::StrCat("model '", config.name, "' has no version ", v));
}

absl::StatusOr<int64_t> ServedModel::LabelVersion(const std::string& label) const {
  auto it = config.labels.find(label);
  if (it == config.labels.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("model '", config.name, "' has no label '", label, "'"));
  }
  return it->second;
}

absl::StatusOr<std::shared_ptr<const ServedModel>> RepositorySnapshot::Find(
    const std::string& name) const {
  auto it = models.find(name);
  if (it == models.end()) return absl::NotFoundError(absl::StrCat("no model named '", name, "'"));
  return it->second;
}

absl::StatusOr<std::shared_ptr<const Servable>> ServedModel::Resolve(
    const VersionSelector& selector, double uniform) const {
  const std::string& name = config.name;
  auto by_version = [&](int64_t v,
                        const std::string& via) -> absl::StatusOr<std::shared_ptr<const Servable>> {
    if (auto it = available.find(v); it != available.end()) return it->second;
    if (loading.count(v)) {
      return absl::NotFoundError(
          absl::StrCat("model '", name, "' ", via, "version ", v, " is still loading"));
    }
    if (auto it = failed.find(v); it != failed.end()) {
      return absl::NotFoundError(absl::StrCat("model '", name, "' ", via, "version ", v,
                                              " failed to load: ", it->second.message()));
    }
    if (unloaded.count(v)) {
      return absl::NotFoundError(absl::StrCat("model '", name, "' ", via, "version ", v,
                                              " is not served (version policy)"));
    }
    return absl::NotFoundError(absl::StrCat("model '", name, "' has no ", via, "version ", v));
  };
  switch (selector.kind) {
    case VersionSelector::Kind::kVersion:
      return by_version(selector.version, "");
    case VersionSelector::Kind::kLabel: {
      auto v = LabelVersion(selector.label);
      if (!v.ok()) return v.status();
      return by_version(*v, absl::StrCat("label '", selector.label, "' → "));
    }
    case VersionSelector::Kind::kDefault:
      break;
  }
  // Weighted split across labels whose version is available; weights of the others are
  // dropped, so a broken canary never fails bare-name requests.
  double total = 0;
  std::vector<std::pair<double, const std::shared_ptr<const Servable>*>> choices;
  for (const auto& [label, weight] : config.traffic) {
    if (weight <= 0) continue;
    auto it = available.find(config.labels.at(label));
    if (it == available.end()) continue;
    total += weight;
    choices.emplace_back(total, &it->second);
  }
  if (!choices.empty()) {
    const double x = uniform * total;
    for (const auto& [upper, servable] : choices) {
      if (x < upper) return *servable;
    }
    return *choices.back().second;
  }
  if (available.empty()) {
    std::string why = problem;
    if (why.empty() && !failed.empty()) {
      why = absl::StrCat("version ", failed.rbegin()->first,
                         " failed to load: ", failed.rbegin()->second.message());
    }
    return absl::NotFoundError(absl::StrCat("model '", name, "' has no available version",
                                            why.empty() ? "" : " (", why, why.empty() ? "" : ")"));
  }
  return available.rbegin()->second;
}

}  // namespace parasol
