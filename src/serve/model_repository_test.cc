#include "serve/model_repository.h"

#include <chrono>
#include <cmath>
#include <condition_variable>
#include <fstream>
#include <mutex>

#include "common/log.h"
#include "gtest/gtest.h"
#include "serve/test_models.h"

namespace parasol {
namespace {

namespace fs = std::filesystem;
using testing::Logistic;
using testing::TempDir;
using testing::WriteLibsvmCheckpoint;
using testing::WriteLibsvmModel;

VersionSelector AtVersion(int64_t v) { return {VersionSelector::Kind::kVersion, v, ""}; }
VersionSelector Label(const std::string& l) { return {VersionSelector::Kind::kLabel, 0, l}; }
VersionSelector Default() { return {}; }

// version → state name, from the current snapshot.
std::map<int64_t, std::string> States(const ModelRepository& repo, const std::string& model) {
  std::map<int64_t, std::string> out;
  for (const auto& s : repo.snapshot()->models.at(model)->Statuses()) {
    out[s.version] = VersionStateName(s.state);
  }
  return out;
}

// p(x) for the libsvm test models: version v has bias v, so the served version shows in p.
float Predict(const Servable& s) {
  RawInstance row;
  row.is_text = true;
  row.text = "1:1";
  auto p = s.Predict(absl::MakeConstSpan(&row, 1));
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? (*p)[0] : -1;
}

class ModelRepositoryTest : public ::testing::Test {
 protected:
  void Version(int64_t v) { WriteLibsvmModel(base() / std::to_string(v), {{1, 0.5f}}, float(v)); }
  fs::path base() const { return tmp_.path() / "m"; }
  RepositoryOptions Options() const {
    RepositoryOptions o;
    o.model_base = base().string();
    return o;
  }
  TempDir tmp_;
};

TEST_F(ModelRepositoryTest, ServesTheNewestVersionAndSwapsWhenANewOneArrives) {
  Version(1);
  ModelRepository repo(Options());
  ASSERT_TRUE(repo.PollOnce().ok());
  auto model = repo.snapshot()->models.at("m");  // named after the folder
  auto v1 = model->Resolve(Default(), 0);
  ASSERT_TRUE(v1.ok()) << v1.status();
  EXPECT_EQ((*v1)->version(), 1);

  Version(2);
  ASSERT_TRUE(repo.PollOnce().ok());
  auto v2 = repo.snapshot()->models.at("m")->Resolve(Default(), 0);
  ASSERT_TRUE(v2.ok());
  EXPECT_EQ((*v2)->version(), 2);
  EXPECT_GT(Predict(**v2), Predict(**v1));
  // v1 is still held by this test (a request in flight): UNLOADING, and it still works.
  EXPECT_EQ(States(repo, "m"),
            (std::map<int64_t, std::string>{{2, "AVAILABLE"}, {1, "UNLOADING"}}));
  v1 = absl::UnavailableError("released");
  model.reset();
  EXPECT_EQ(States(repo, "m"), (std::map<int64_t, std::string>{{2, "AVAILABLE"}, {1, "END"}}));
}

TEST_F(ModelRepositoryTest, BrokenOrHalfWrittenVersionNeverReplacesAGoodOne) {
  Version(1);
  ModelRepository repo(Options());
  ASSERT_TRUE(repo.PollOnce().ok());
  fs::create_directories(base() / "2");  // half-written: no manifest yet
  { std::ofstream(base() / "2" / "weights.bin") << "partial"; }
  Version(3);
  {
    std::ofstream f(base() / "3" / "weights.bin", std::ios::binary | std::ios::trunc);
    f << "corrupt";  // size and checksum no longer match the manifest
  }
  ASSERT_TRUE(repo.PollOnce().ok());
  auto model = repo.snapshot()->models.at("m");
  auto served = model->Resolve(Default(), 0);
  ASSERT_TRUE(served.ok());
  EXPECT_EQ((*served)->version(), 1);
  const auto statuses = model->Statuses();
  ASSERT_EQ(statuses.size(), 3u);
  EXPECT_EQ(statuses[0].version, 3);
  EXPECT_EQ(statuses[0].state, VersionState::kEnd);
  EXPECT_FALSE(statuses[0].status.ok());
  EXPECT_NE(statuses[0].status.message().find("weights.bin"), std::string::npos)
      << statuses[0].status;
  EXPECT_EQ(statuses[1].version, 2);
  EXPECT_NE(statuses[1].status.message().find("manifest"), std::string::npos) << statuses[1].status;
  // Asking for the broken version says why.
  auto v3 = model->Resolve(AtVersion(3), 0);
  EXPECT_EQ(v3.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(v3.status().message().find("failed to load"), std::string::npos);

  // The writer finishes version 3: it is retried and replaces version 1.
  fs::remove_all(base() / "3");
  Version(3);
  ASSERT_TRUE(repo.PollOnce().ok());
  EXPECT_EQ((*repo.snapshot()->models.at("m")->Resolve(Default(), 0))->version(), 3);
}

TEST_F(ModelRepositoryTest, AVersionMustPassItsOwnWarmupRequests) {
  Version(1);
  Version(2);
  std::ofstream(base() / "2" / "warmup.json") << R"({"instances": ["1:1", "1:oops"]})";
  ModelRepository repo(Options());
  ASSERT_TRUE(repo.PollOnce().ok());
  auto model = repo.snapshot()->models.at("m");
  EXPECT_EQ((*model->Resolve(Default(), 0))->version(), 1);
  auto v2 = model->Resolve(AtVersion(2), 0);
  EXPECT_NE(v2.status().message().find("warmup.json: instances[1]: "), std::string::npos)
      << v2.status();
  std::ofstream(base() / "2" / "warmup.json") << R"({"instances": ["1:1", "1:2"]})";
  ASSERT_TRUE(repo.PollOnce().ok());  // the file changed: retried, and it passes
  EXPECT_EQ((*repo.snapshot()->models.at("m")->Resolve(Default(), 0))->version(), 2);
}

TEST_F(ModelRepositoryTest, VersionPolicies) {
  for (int v : {1, 2, 3}) Version(v);
  fs::create_directories(base() / "4.tmp");  // not a version
  const fs::path config = tmp_.path() / "models.yaml";
  auto write = [&](const std::string& policy) {
    std::ofstream(config) << "models:\n  - {name: m, base_path: " << base().string()
                          << ", version_policy: " << policy << "}\n";
  };
  RepositoryOptions o;
  o.config_path = config.string();
  write("{latest: 2}");
  ModelRepository repo(o);
  ASSERT_TRUE(repo.PollOnce().ok());
  EXPECT_EQ(repo.snapshot()->models.at("m")->available.size(), 2u);
  EXPECT_FALSE(repo.snapshot()->models.at("m")->Resolve(AtVersion(1), 0).ok());
  write("all");
  ASSERT_TRUE(repo.PollOnce().ok());
  EXPECT_EQ(repo.snapshot()->models.at("m")->available.size(), 3u);
  write("{specific: [1, 9]}");
  ASSERT_TRUE(repo.PollOnce().ok());
  auto model = repo.snapshot()->models.at("m");
  EXPECT_EQ(model->available.size(), 1u);
  EXPECT_TRUE(model->Resolve(AtVersion(1), 0).ok());
  auto missing = model->Resolve(AtVersion(9), 0);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("no folder"), std::string::npos) << missing.status();
}

TEST_F(ModelRepositoryTest, LabelsAndWeightedTrafficChangeWithoutRestart) {
  for (int v : {1, 2}) Version(v);
  const fs::path config = tmp_.path() / "models.yaml";
  auto write = [&](const std::string& extra) {
    std::ofstream(config) << "models:\n  - {name: m, base_path: " << base().string()
                          << ", version_policy: all, labels: {stable: 1, canary: 2}" << extra
                          << "}\n";
  };
  RepositoryOptions o;
  o.config_path = config.string();
  write(", traffic: {stable: 90, canary: 10}");
  ModelRepository repo(o);
  ASSERT_TRUE(repo.PollOnce().ok());
  auto model = repo.snapshot()->models.at("m");
  EXPECT_EQ((*model->Resolve(Label("stable"), 0))->version(), 1);
  EXPECT_EQ((*model->Resolve(Label("canary"), 0))->version(), 2);
  // An unknown label is a bad argument, as TF Serving answers (INVALID_ARGUMENT).
  EXPECT_EQ(model->Resolve(Label("beta"), 0).status().code(), absl::StatusCode::kInvalidArgument);
  // Labels take consecutive shares of [0, 1) in name order: canary [0, 0.1), stable [0.1, 1).
  EXPECT_EQ((*model->Resolve(Default(), 0.0))->version(), 2);
  EXPECT_EQ((*model->Resolve(Default(), 0.09))->version(), 2);
  EXPECT_EQ((*model->Resolve(Default(), 0.11))->version(), 1);
  EXPECT_EQ((*model->Resolve(Default(), 0.99))->version(), 1);

  write(", traffic: {stable: 0, canary: 1}");
  ASSERT_TRUE(repo.PollOnce().ok());
  EXPECT_EQ((*repo.snapshot()->models.at("m")->Resolve(Default(), 0.0))->version(), 2);

  // A bad change is rejected with the reason; the previous config keeps serving.
  std::ofstream(config) << "models: [{name: m, base_path: x, traffic: {nope: 1}}]\n";
  ASSERT_TRUE(repo.PollOnce().ok());
  EXPECT_NE(repo.snapshot()->config_error.find("traffic.nope"), std::string::npos);
  EXPECT_EQ((*repo.snapshot()->models.at("m")->Resolve(Default(), 0.0))->version(), 2);
}

TEST_F(ModelRepositoryTest, CanaryOnABrokenVersionDoesNotFailBareNameRequests) {
  Version(1);
  fs::create_directories(base() / "2");  // never completes
  const fs::path config = tmp_.path() / "models.yaml";
  std::ofstream(config) << "models:\n  - {name: m, base_path: " << base().string()
                        << ", version_policy: all, labels: {stable: 1, canary: 2},"
                        << " traffic: {stable: 50, canary: 50}}\n";
  RepositoryOptions o;
  o.config_path = config.string();
  ModelRepository repo(o);
  ASSERT_TRUE(repo.PollOnce().ok());
  auto model = repo.snapshot()->models.at("m");
  for (double u : {0.0, 0.6, 0.99}) EXPECT_EQ((*model->Resolve(Default(), u))->version(), 1);
  // The label exists, its version does not serve: NOT_FOUND, as TF Serving answers.
  EXPECT_EQ(model->Resolve(Label("canary"), 0).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(ModelRepositoryTest, NoVersionsMeansNotFoundWithTheReason) {
  ModelRepository repo(Options());  // base folder does not exist
  ASSERT_TRUE(repo.PollOnce().ok());
  auto r = repo.snapshot()->models.at("m")->Resolve(Default(), 0);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);  // TF Serving: NOT_FOUND
  EXPECT_NE(r.status().message().find("cannot list model base"), std::string::npos) << r.status();
}

TEST(ModelRepositoryConfigTest, ANeverValidConfigIsAnError) {
  RepositoryOptions o;
  o.config_path = "/nonexistent/models.yaml";
  ModelRepository repo(o);
  EXPECT_EQ(repo.PollOnce().code(), absl::StatusCode::kNotFound);
}

// A gate a fake loader's thread waits at until the test opens it. Open() may be called twice.
class Gate {
 public:
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  void Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return open_; });
  }
  bool IsOpen() {
    std::lock_guard<std::mutex> lock(mu_);
    return open_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

// A source whose view the test sets.
class FakeSource : public VersionSource {
 public:
  explicit FakeSource(AspiredVersions view) : view_(std::move(view)) {}
  absl::StatusOr<AspiredVersions> GetAspiredVersions() override {
    std::lock_guard<std::mutex> lock(mu_);
    return view_;
  }
  void Set(AspiredVersions view) {
    std::lock_guard<std::mutex> lock(mu_);
    view_ = std::move(view);
  }

 private:
  std::mutex mu_;
  AspiredVersions view_;
};

// Loads from disk, but a load of `slow_model` (only its `slow_version`, when >= 0) first opens
// `started`, then waits at `gate`.
class GatedLoader : public ServableLoader {
 public:
  GatedLoader(std::string slow_model, int64_t slow_version, Gate* started, Gate* gate)
      : slow_model_(std::move(slow_model)),
        slow_version_(slow_version),
        started_(started),
        gate_(gate) {}
  absl::StatusOr<std::shared_ptr<Servable>> Load(const std::string& model,
                                                 const AspiredVersion& version) override {
    if (model == slow_model_ && (slow_version_ < 0 || version.version == slow_version_)) {
      started_->Open();
      gate_->Wait();
    }
    return DiskServableLoader().Load(model, version);
  }

 private:
  const std::string slow_model_;
  const int64_t slow_version_;
  Gate* const started_;
  Gate* const gate_;
};

// Opens a gate when the test ends, before the repository is destroyed (declare it after the
// repository): a failed assertion must not leave a pool thread waiting forever.
struct OpenOnExit {
  Gate* gate;
  ~OpenOnExit() { gate->Open(); }
};

AspiredModel OneModel(const std::string& name, const fs::path& base,
                      const std::vector<int64_t>& newest_first, size_t wanted) {
  AspiredModel m;
  m.config.name = name;
  m.config.base_path = base.string();
  m.wanted = wanted;
  for (int64_t v : newest_first) {
    AspiredVersion version;
    version.version = v;
    version.path = (base / std::to_string(v)).string();
    m.candidates.push_back(version);
    m.present.insert(v);
  }
  return m;
}

bool HasAvailable(const RepositorySnapshot& s, const std::string& model, int64_t version) {
  auto it = s.models.find(model);
  return it != s.models.end() && it->second->available.count(version) > 0;
}

TEST_F(ModelRepositoryTest, ASlowLoadOfOneModelDoesNotDelayAnother) {
  WriteLibsvmModel(tmp_.path() / "a" / "1", {{1, 0.5f}}, 1);
  WriteLibsvmModel(tmp_.path() / "b" / "1", {{1, 0.5f}}, 1);
  AspiredVersions view;
  view.models = {OneModel("a", tmp_.path() / "a", {1}, 1),  // scheduled first
                 OneModel("b", tmp_.path() / "b", {1}, 1)};
  Gate a_started, a_gate;
  RepositoryOptions options;
  options.load_threads = 2;
  ModelRepository repo(std::make_unique<FakeSource>(view),
                       std::make_unique<GatedLoader>("a", -1, &a_started, &a_gate), options);
  OpenOnExit open_on_exit{&a_gate};

  ASSERT_TRUE(repo.Poll().ok());
  a_started.Wait();  // a's load holds one pool thread
  ASSERT_TRUE(repo.WaitFor([](const RepositorySnapshot& s) { return HasAvailable(s, "b", 1); },
                           std::chrono::seconds(60)))
      << "model b waited for model a's load";
  EXPECT_FALSE(a_gate.IsOpen());
  EXPECT_EQ(States(repo, "a"), (std::map<int64_t, std::string>{{1, "LOADING"}}));
  EXPECT_EQ(repo.snapshot()->models.at("a")->Resolve(Default(), 0).status().code(),
            absl::StatusCode::kNotFound);  // still loading: TF Serving's NOT_FOUND

  a_gate.Open();
  repo.WaitUntilIdle();
  EXPECT_TRUE(HasAvailable(*repo.snapshot(), "a", 1));
  EXPECT_TRUE(HasAvailable(*repo.snapshot(), "b", 1));
}

TEST_F(ModelRepositoryTest, TheOlderVersionServesWhileTheNewerOneLoads) {
  Version(1);
  Version(2);
  AspiredVersions view;
  view.models = {OneModel("m", base(), {1}, 1)};
  auto source = std::make_unique<FakeSource>(view);
  FakeSource* fake = source.get();
  Gate started, gate;
  ModelRepository repo(std::move(source), std::make_unique<GatedLoader>("m", 2, &started, &gate),
                       RepositoryOptions());
  OpenOnExit open_on_exit{&gate};
  ASSERT_TRUE(repo.PollOnce().ok());
  ASSERT_TRUE(HasAvailable(*repo.snapshot(), "m", 1));

  // Version 2 arrives; its load is held: version 1 keeps answering bare-name requests.
  view.models = {OneModel("m", base(), {2, 1}, 1)};
  fake->Set(view);
  ASSERT_TRUE(repo.Poll().ok());
  started.Wait();
  EXPECT_EQ(States(repo, "m"), (std::map<int64_t, std::string>{{2, "LOADING"}, {1, "AVAILABLE"}}));
  EXPECT_EQ((*repo.snapshot()->models.at("m")->Resolve(Default(), 0))->version(), 1);

  gate.Open();
  repo.WaitUntilIdle();
  EXPECT_EQ((*repo.snapshot()->models.at("m")->Resolve(Default(), 0))->version(), 2);
  EXPECT_EQ(States(repo, "m"), (std::map<int64_t, std::string>{{2, "AVAILABLE"}, {1, "END"}}));
}

TEST_F(ModelRepositoryTest, EventsGoToTheLogSinkWithTheirUsualText) {
  Version(1);
  fs::create_directories(base() / "2");  // no manifest: fails to load
  log::ScopedCapture capture;
  ModelRepository repo(Options());
  ASSERT_TRUE(repo.PollOnce().ok());
  Version(3);
  ASSERT_TRUE(repo.PollOnce().ok());
  const std::string text = capture.text();
  EXPECT_NE(text.find("parasol serve: model 'm' version 1 is available\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("parasol serve: model 'm' version 2 failed to load: "), std::string::npos)
      << text;
  EXPECT_NE(text.find("parasol serve: model 'm' version 3 is available\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("parasol serve: model 'm' version 1 unloaded\n"), std::string::npos) << text;
}

// p of one libsvm row for whatever the model serves by default.
float PredictText(const ModelRepository& repo, const std::string& text) {
  auto servable = repo.snapshot()->models.at("m")->Resolve(Default(), 0);
  EXPECT_TRUE(servable.ok()) << servable.status();
  if (!servable.ok()) return -1;
  RawInstance row;
  row.is_text = true;
  row.text = text;
  auto p = (*servable)->Predict(absl::MakeConstSpan(&row, 1));
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? (*p)[0] : -1;
}

DeltaStatus Deltas(const ModelRepository& repo, int64_t v) {
  auto statuses = repo.snapshot()->models.at("m")->StatusesFor(AtVersion(v));
  EXPECT_TRUE(statuses.ok()) << statuses.status();
  return statuses.ok() ? (*statuses)[0].deltas : DeltaStatus();
}

TEST_F(ModelRepositoryTest, DeltasApplyInPlaceInOrderAndOneOverAnotherBaseIsRefused) {
  const float bias = 0;
  WriteLibsvmCheckpoint(base() / "1", 1, "", {{1, 0.5f}, {2, 1.0f}}, &bias);
  ModelRepository repo(Options());
  ASSERT_TRUE(repo.PollOnce().ok());
  const auto served = *repo.snapshot()->models.at("m")->Resolve(Default(), 0);
  EXPECT_FLOAT_EQ(PredictText(repo, "1:1"), Logistic(0.5));
  EXPECT_EQ(Deltas(repo, 1).checkpoint_id, 1);

  // Delta 3 (over checkpoint 2) arrives before delta 2: refused, the version unchanged.
  const fs::path deltas = base() / "1" / kDeltaFolder;
  WriteLibsvmCheckpoint(deltas / "3", 3, "ckpt-000002", {{1, 3.0f}}, nullptr);
  ASSERT_TRUE(repo.PollOnce().ok());
  DeltaStatus d = Deltas(repo, 1);
  EXPECT_EQ(d.applied, 0);
  ASSERT_EQ(d.refused.count(3), 1u);
  EXPECT_EQ(d.refused[3].code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(d.refused[3].message().find("over checkpoint 'ckpt-000002', but version 1 is at "
                                        "checkpoint 'ckpt-000001'"),
            std::string::npos)
      << d.refused[3];
  EXPECT_FLOAT_EQ(PredictText(repo, "1:1"), Logistic(0.5));

  // Delta 2 over checkpoint 1 changes key 1 and adds key 5; then delta 3 applies on top of it.
  WriteLibsvmCheckpoint(deltas / "2", 2, "ckpt-000001", {{1, 2.0f}, {5, 1.0f}}, nullptr);
  ASSERT_TRUE(repo.PollOnce().ok());
  d = Deltas(repo, 1);
  EXPECT_EQ(d.applied, 2);
  EXPECT_EQ(d.rows, 3u);
  EXPECT_EQ(d.checkpoint_id, 3);
  EXPECT_TRUE(d.refused.empty());
  EXPECT_FLOAT_EQ(PredictText(repo, "1:1"), Logistic(3.0));
  EXPECT_FLOAT_EQ(PredictText(repo, "2:1 5:1"), Logistic(2.0));
  // In place: the same object serves, not a second copy.
  EXPECT_EQ(repo.snapshot()->models.at("m")->Resolve(Default(), 0)->get(), served.get());

  // A truncated delta and one with a non-finite weight are refused and change nothing.
  WriteLibsvmCheckpoint(deltas / "4", 4, "ckpt-000003", {{1, -7.0f}, {2, -7.0f}}, nullptr);
  fs::resize_file(deltas / "4" / "weights-0-of-1.bin", 30);
  ASSERT_TRUE(repo.PollOnce().ok());
  d = Deltas(repo, 1);
  ASSERT_EQ(d.refused.count(4), 1u);
  EXPECT_EQ(d.refused[4].code(), absl::StatusCode::kDataLoss) << d.refused[4];
  fs::remove_all(deltas / "4");
  WriteLibsvmCheckpoint(deltas / "4", 4, "ckpt-000003", {{1, -7.0f}, {2, NAN}}, nullptr);
  ASSERT_TRUE(repo.PollOnce().ok());
  d = Deltas(repo, 1);
  ASSERT_EQ(d.refused.count(4), 1u);
  EXPECT_NE(d.refused[4].message().find("non-finite"), std::string::npos) << d.refused[4];
  EXPECT_EQ(d.applied, 2);
  EXPECT_FLOAT_EQ(PredictText(repo, "1:1 2:1"), Logistic(4.0));
  // Removing it clears the refusal.
  fs::remove_all(deltas / "4");
  ASSERT_TRUE(repo.PollOnce().ok());
  EXPECT_TRUE(Deltas(repo, 1).refused.empty());
}

TEST_F(ModelRepositoryTest, ADeltaForAVersionThatIsNotACheckpointIsRefused) {
  Version(1);
  ModelRepository repo(Options());
  ASSERT_TRUE(repo.PollOnce().ok());
  WriteLibsvmCheckpoint(base() / "1" / kDeltaFolder / "2", 2, "ckpt-000001", {{1, 3.0f}}, nullptr);
  // A whole checkpoint is no delta either.
  const float bias = 0;
  WriteLibsvmCheckpoint(base() / "1" / kDeltaFolder / "3", 3, "", {{1, 3.0f}}, &bias);
  ASSERT_TRUE(repo.PollOnce().ok());
  DeltaStatus d = Deltas(repo, 1);
  EXPECT_EQ(d.applied, 0);
  EXPECT_EQ(d.checkpoint_id, -1);
  ASSERT_EQ(d.refused.size(), 2u);
  EXPECT_NE(d.refused[2].message().find("is not a parameter-server checkpoint"), std::string::npos)
      << d.refused[2];
  EXPECT_NE(d.refused[3].message().find("not a delta"), std::string::npos) << d.refused[3];
  EXPECT_FLOAT_EQ(Predict(*repo.snapshot()->models.at("m")->Resolve(Default(), 0).value()),
                  Logistic(1 + 0.5));
}

}  // namespace
}  // namespace parasol
