// Bundled tabular data against liblinear's L2-regularised logistic regression on the same split
// and the same features: on churn (data/churn) Parasol's LR and FM with their bundled configs
// must reach liblinear's test AUC (within 0.005); on the numeric-heavy spam data (data/spam:
// 57 real-valued, heavy-tailed columns) LR with default flags must (within 0.002).
// liblinear-train and liblinear-predict (Debian liblinear-tools) really run.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unordered_map>

#include "gtest/gtest.h"
#include "metrics/metrics.h"
#include "predict/predictor.h"
#include "train/trainer.h"

namespace parasol {
namespace {

namespace fs = std::filesystem;
const fs::path kData = fs::path(PARASOL_SOURCE_DIR) / "data" / "churn";
const fs::path kSpam = fs::path(PARASOL_SOURCE_DIR) / "data" / "spam";

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class ChurnBaselineTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    work_ = fs::path(::testing::TempDir()) / ("churn_baseline_" + std::to_string(getpid()));
    fs::remove_all(work_);
    fs::create_directories(work_);
  }

  // Trains on DATA/train.csv with the bundled config, returns the test AUC of the saved model.
  // `config_file`: the bundled config of the model (data/churn/model.yaml for LR, fm.yaml);
  // empty: default flags (the schema alone).
  static double TrainAndTest(const fs::path& data, const std::string& config_file,
                             const std::string& name) {
    TrainConfig c;
    if (!config_file.empty()) {
      const fs::path config = data / config_file;
      EXPECT_TRUE(ApplyConfigYaml(ReadFile(config), config.string(), &c).ok());
    }
    c.format = DataFormat::kCsv;
    c.schema_path = (data / "schema.yaml").string();
    c.train_path = (data / "train.csv").string();
    c.out_dir = (work_ / name).string();
    c.threads = 1;
    auto summary = Train(c, false);
    EXPECT_TRUE(summary.ok()) << summary.status();
    return TestAuc(data, c.out_dir);
  }

  static double TestAuc(const fs::path& data, const std::string& dir) {
    auto predictor = Predictor::Load(dir);
    EXPECT_TRUE(predictor.ok()) << predictor.status();
    std::vector<float> probs, labels;
    auto st = (*predictor)
                  ->PredictFile((data / "test.csv").string(), 1,
                                [&](const ExampleBlock& b, const std::vector<float>& p) {
                                  probs.insert(probs.end(), p.begin(), p.end());
                                  labels.insert(labels.end(), b.labels().begin(), b.labels().end());
                                });
    EXPECT_TRUE(st.ok()) << st;
    return RocAuc(probs, labels);
  }

  // Writes `path` through the model's own feature pipeline as libsvm with dense 1-based ids
  // (liblinear needs small indices); ids are assigned on the training file.
  static void ExportLibsvm(const Predictor& p, const fs::path& in, const fs::path& out,
                           std::unordered_map<uint64_t, int>* ids, bool assign) {
    std::ofstream file(out);
    auto st = p.PredictFile(in.string(), 1, [&](const ExampleBlock& b, const std::vector<float>&) {
      for (size_t e = 0; e < b.size(); ++e) {
        const ExampleView ex = b.example(e);
        std::vector<std::pair<int, float>> row;
        for (uint32_t i = 0; i < ex.size; ++i) {
          auto it = ids->find(ex.keys[i]);
          if (it == ids->end()) {
            if (!assign) continue;  // unseen in training: no weight either way
            it = ids->emplace(ex.keys[i], static_cast<int>(ids->size()) + 1).first;
          }
          row.emplace_back(it->second, ex.values[i]);
        }
        std::sort(row.begin(), row.end());
        file << (ex.label > 0.5f ? 1 : 0);
        for (auto [id, v] : row) file << ' ' << id << ':' << v;
        file << '\n';
      }
    });
    ASSERT_TRUE(st.ok()) << st;
  }

  // liblinear (C = 1) trained on DATA/train.csv and scored on DATA/test.csv as the features the
  // Parasol model `name` saw (same transforms and statistics): its test AUC.
  static double LiblinearTestAuc(const fs::path& data, const std::string& name) {
    auto predictor = Predictor::Load((work_ / name).string());
    EXPECT_TRUE(predictor.ok());
    std::unordered_map<uint64_t, int> ids;
    // NAME-train.svm, NAME-test.svm (bench/train_bench.sh reuses lr-*.svm, churn's).
    const std::string w = (work_ / name).string();
    ExportLibsvm(**predictor, data / "train.csv", w + "-train.svm", &ids, true);
    ExportLibsvm(**predictor, data / "test.csv", w + "-test.svm", &ids, false);
    EXPECT_EQ(std::system(
                  ("liblinear-train -q -s 0 -c 1 " + w + "-train.svm " + w + "-ll.model >/dev/null")
                      .c_str()),
              0);
    EXPECT_EQ(std::system(("liblinear-predict -b 1 " + w + "-test.svm " + w + "-ll.model " + w +
                           "-ll.out >/dev/null")
                              .c_str()),
              0);
    std::ifstream out(w + "-ll.out"), test(w + "-test.svm");
    std::string header, word;
    std::getline(out, header);  // "labels 1 0" or "labels 0 1"
    std::istringstream hs(header);
    hs >> word;
    int positive_column = 0;
    for (int c = 0; hs >> word; ++c) {
      if (word == "1") positive_column = c;
    }
    std::vector<float> probs, labels;
    std::string line;
    while (std::getline(out, line)) {
      std::istringstream ls(line);
      float predicted, p[2];
      ls >> predicted >> p[0] >> p[1];
      probs.push_back(p[positive_column]);
    }
    while (std::getline(test, line)) labels.push_back(line[0] == '1' ? 1.0f : 0.0f);
    EXPECT_EQ(probs.size(), labels.size());
    EXPECT_GT(probs.size(), 500u);
    return RocAuc(probs, labels);
  }

  // bench/train_bench.sh sets PARASOL_KEEP_TEST_OUTPUT to reuse the exported libsvm files.
  static void TearDownTestSuite() {
    if (std::getenv("PARASOL_KEEP_TEST_OUTPUT") == nullptr) fs::remove_all(work_);
  }

  static fs::path work_;
};

fs::path ChurnBaselineTest::work_;

TEST_F(ChurnBaselineTest, LrAndFmReachLiblinearTestAuc) {
  ASSERT_EQ(std::system("command -v liblinear-train >/dev/null"), 0)
      << "liblinear-train is missing: install Debian's liblinear-tools (scripts/deps.sh --test)";
  const double lr_auc = TrainAndTest(kData, "model.yaml", "lr");
  const double fm_auc = TrainAndTest(kData, "fm.yaml", "fm");

  const double liblinear_auc = LiblinearTestAuc(kData, "lr");
  std::printf("churn test AUC: liblinear %.5f, parasol lr %.5f, parasol fm %.5f\n", liblinear_auc,
              lr_auc, fm_auc);
  EXPECT_GT(liblinear_auc, 0.8);  // the data carry signal: the comparison means something
  EXPECT_GE(lr_auc, liblinear_auc - 0.005);
  EXPECT_GE(fm_auc, liblinear_auc - 0.005);
}

TEST_F(ChurnBaselineTest, DefaultLrReachesLiblinearOnNumericHeavySpamData) {
  ASSERT_EQ(std::system("command -v liblinear-train >/dev/null"), 0)
      << "liblinear-train is missing: install Debian's liblinear-tools (scripts/deps.sh --test)";
  const double lr_auc = TrainAndTest(kSpam, "", "spam_lr");  // no flags beyond the data
  const double liblinear_auc = LiblinearTestAuc(kSpam, "spam_lr");
  std::printf("spam test AUC: liblinear %.5f, parasol lr (default flags) %.5f\n", liblinear_auc,
              lr_auc);
  EXPECT_GT(liblinear_auc, 0.9);
  EXPECT_GE(lr_auc, liblinear_auc - 0.002);
}

}  // namespace
}  // namespace parasol
