// The `parasol` binary as a user runs it: sub-commands, exit codes (0 ok, 1 runtime, 2 usage),
// eval's JSON contract and predict's one-line-per-example output.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "gtest/gtest.h"
#include "test_util/run_parasol.h"

namespace {

namespace fs = std::filesystem;

using Result = ::parasol::testing::CommandResult;
constexpr auto Parasol = ::parasol::testing::RunParasol;

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Splits a CSV line at the commas outside quotes; fields keep their quotes.
std::vector<std::string> CsvFields(const std::string& line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (char c : line) {
    if (c == '"') quoted = !quoted;  // "" inside a quoted field toggles twice
    if (c == ',' && !quoted) {
      fields.emplace_back();
    } else {
      fields.back() += c;
    }
  }
  return fields;
}

// Copies the CSV file `in` to `out` without the column named `column` (quoted or not).
void DropCsvColumn(const fs::path& in, const std::string& column, const fs::path& out) {
  const std::vector<std::string> lines = Lines(ReadFile(in));
  ASSERT_FALSE(lines.empty());
  const std::vector<std::string> header = CsvFields(lines[0]);
  size_t drop = header.size();
  for (size_t i = 0; i < header.size(); ++i) {
    if (header[i] == column || header[i] == "\"" + column + "\"") drop = i;
  }
  ASSERT_LT(drop, header.size()) << column << " not in " << lines[0];
  std::ofstream o(out);
  for (const std::string& line : lines) {
    std::vector<std::string> fields = CsvFields(line);
    ASSERT_EQ(fields.size(), header.size()) << line;
    fields.erase(fields.begin() + static_cast<std::ptrdiff_t>(drop));
    for (size_t i = 0; i < fields.size(); ++i) o << (i ? "," : "") << fields[i];
    o << "\n";
  }
}

class CliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::path(::testing::TempDir()) / ("cli_test_" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    const std::string d = dir_.string();
    ASSERT_EQ(
        Parasol("gen --rows 4000 --features 8 --vocab 500 --seed 5 --out " + d + "/all.svm").code,
        0);
    ASSERT_EQ(std::system(("head -n 3000 " + d + "/all.svm > " + d + "/train.svm && tail -n 1000 " +
                           d + "/all.svm > " + d + "/test.svm")
                              .c_str()),
              0);
    const Result train = Parasol("train --train " + d + "/train.svm --out " + d +
                                 "/model --model fm --k 4 --epochs 2 --threads 2");
    ASSERT_EQ(train.code, 0) << train.out;
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }

  static fs::path dir_;
};

fs::path CliTest::dir_;

TEST_F(CliTest, UsageErrorsExitWithTwoAndSayWhat) {
  EXPECT_EQ(Parasol("").code, 2);
  Result missing_out = Parasol("train --train x.svm");
  EXPECT_EQ(missing_out.code, 2);
  EXPECT_NE(missing_out.out.find("--out"), std::string::npos) << missing_out.out;
  Result bad_model = Parasol("train --train x.svm --out o --model svm");
  EXPECT_EQ(bad_model.code, 2);
  EXPECT_NE(bad_model.out.find("svm"), std::string::npos) << bad_model.out;
  Result bad_flag = Parasol("eval --model m --data d --no-such-flag");
  EXPECT_EQ(bad_flag.code, 2);
  EXPECT_NE(bad_flag.out.find("no-such-flag"), std::string::npos) << bad_flag.out;
  Result mismatch = Parasol("eval --model " + (dir_ / "model").string() + " --data x --format csv");
  EXPECT_EQ(mismatch.code, 2);
  EXPECT_NE(mismatch.out.find("libsvm"), std::string::npos) << mismatch.out;
}

TEST_F(CliTest, RuntimeErrorsExitWithOneAndNameTheFile) {
  Result r = Parasol("train --train " + (dir_ / "absent.svm").string() + " --out " +
                     (dir_ / "x").string());
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("absent.svm"), std::string::npos) << r.out;
  Result no_model = Parasol("predict --model " + (dir_ / "nomodel").string() + " --data x");
  EXPECT_EQ(no_model.code, 1);
  EXPECT_NE(no_model.out.find("manifest.json"), std::string::npos) << no_model.out;
}

TEST_F(CliTest, EvalJsonHasEveryMetric) {
  Result r = Parasol("eval --model " + (dir_ / "model").string() + " --data " +
                     (dir_ / "test.svm").string() + " --json");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  for (const char* key : {"count", "auc", "pr_auc", "logloss", "accuracy", "error_rate",
                          "precision", "recall", "specificity", "f1", "mcc", "confusion"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j["count"], 1000);
  const auto& c = j["confusion"];
  EXPECT_EQ(c["tp"].get<int>() + c["fp"].get<int>() + c["tn"].get<int>() + c["fn"].get<int>(),
            1000);
  EXPECT_GT(j["auc"].get<double>(), 0.6);
  // A higher threshold can only predict fewer positives.
  Result strict = Parasol("eval --model " + (dir_ / "model").string() + " --data " +
                          (dir_ / "test.svm").string() + " --json --threshold 0.9");
  const auto js = nlohmann::json::parse(strict.out);
  EXPECT_LE(js["confusion"]["tp"].get<int>() + js["confusion"]["fp"].get<int>(),
            c["tp"].get<int>() + c["fp"].get<int>());
}

TEST_F(CliTest, PredictWritesOneProbabilityPerLineInOrder) {
  const std::string m = (dir_ / "model").string();
  Result r = Parasol("predict --model " + m + " --data " + (dir_ / "test.svm").string());
  ASSERT_EQ(r.code, 0) << r.out;
  const auto lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 1000u);
  for (const auto& l : lines) {
    const double p = std::stod(l);
    ASSERT_GE(p, 0.0);
    ASSERT_LE(p, 1.0);
  }
  // The same rows reversed give the same probabilities reversed.
  {
    auto rows = Lines([&] {
      std::ifstream in(dir_ / "test.svm");
      std::stringstream s;
      s << in.rdbuf();
      return s.str();
    }());
    std::ofstream out(dir_ / "reversed.svm");
    for (auto it = rows.rbegin(); it != rows.rend(); ++it) out << *it << "\n";
  }
  Result rev = Parasol("predict --model " + m + " --data " + (dir_ / "reversed.svm").string() +
                       " --out " + (dir_ / "reversed.pred").string());
  ASSERT_EQ(rev.code, 0) << rev.out;
  std::ifstream pred(dir_ / "reversed.pred");
  std::stringstream s;
  s << pred.rdbuf();
  auto reversed = Lines(s.str());
  std::reverse(reversed.begin(), reversed.end());
  EXPECT_EQ(reversed, lines);
}

TEST_F(CliTest, PredictAcceptsLibsvmWithoutLabelsButEvalDoesNot) {
  {
    std::ofstream out(dir_ / "unlabelled.svm");
    for (const std::string& row : Lines(ReadFile(dir_ / "test.svm"))) {
      out << row.substr(row.find(' ') + 1) << "\n";  // drop the label
    }
  }
  const std::string m = (dir_ / "model").string();
  const std::string unlabelled = (dir_ / "unlabelled.svm").string();
  Result labelled = Parasol("predict --model " + m + " --data " + (dir_ / "test.svm").string());
  ASSERT_EQ(labelled.code, 0) << labelled.out;
  Result bare = Parasol("predict --model " + m + " --data " + unlabelled);
  ASSERT_EQ(bare.code, 0) << bare.out;
  EXPECT_EQ(Lines(bare.out).size(), 1000u);
  EXPECT_EQ(bare.out, labelled.out);
  Result threaded = Parasol("predict --model " + m + " --data " + unlabelled + " --threads 3");
  EXPECT_EQ(threaded.out, labelled.out);

  Result eval = Parasol("eval --model " + m + " --data " + unlabelled);
  EXPECT_EQ(eval.code, 1);
  EXPECT_NE(eval.out.find(unlabelled + ":1: bad label"), std::string::npos) << eval.out;
}

TEST_F(CliTest, PredictAcceptsCsvWithoutTheLabelColumnButEvalDoesNot) {
  const fs::path data = fs::path(PARASOL_SOURCE_DIR) / "data" / "churn";
  const std::string m = (dir_ / "churn").string();
  Result train = Parasol("train --config " + (data / "model.yaml").string() + " --train " +
                         (data / "train.csv").string() + " --out " + m);
  ASSERT_EQ(train.code, 0) << train.out;
  const fs::path unlabelled = dir_ / "churn_unlabelled.csv";
  DropCsvColumn(data / "test.csv", "churn", unlabelled);
  if (HasFatalFailure()) return;
  ASSERT_EQ(ReadFile(unlabelled).find("churn"), std::string::npos);

  Result labelled = Parasol("predict --model " + m + " --data " + (data / "test.csv").string());
  ASSERT_EQ(labelled.code, 0) << labelled.out;
  Result bare = Parasol("predict --model " + m + " --data " + unlabelled.string());
  ASSERT_EQ(bare.code, 0) << bare.out;
  EXPECT_EQ(Lines(bare.out).size(), Lines(ReadFile(data / "test.csv")).size() - 1);
  EXPECT_EQ(bare.out, labelled.out);

  Result eval = Parasol("eval --model " + m + " --data " + unlabelled.string());
  EXPECT_EQ(eval.code, 1);
  EXPECT_NE(eval.out.find(unlabelled.string()), std::string::npos) << eval.out;
  EXPECT_NE(eval.out.find("label column 'churn'"), std::string::npos) << eval.out;
}

TEST_F(CliTest, GzipInputGivesTheSamePredictions) {
  const std::string t = (dir_ / "test.svm").string();
  ASSERT_EQ(std::system(("gzip -c " + t + " > " + (dir_ / "renamed.txt").string()).c_str()), 0);
  const std::string m = (dir_ / "model").string();
  Result plain = Parasol("predict --model " + m + " --data " + t);
  Result gz = Parasol("predict --model " + m + " --data " + (dir_ / "renamed.txt").string());
  ASSERT_EQ(gz.code, 0) << gz.out;
  EXPECT_EQ(plain.out, gz.out);
}

TEST_F(CliTest, RocWritesAnSvg) {
  const std::string svg = (dir_ / "roc.svg").string();
  Result r = Parasol("eval --model " + (dir_ / "model").string() + " --data " +
                     (dir_ / "test.svm").string() + " --roc " + svg);
  ASSERT_EQ(r.code, 0) << r.out;
  std::ifstream in(svg);
  std::stringstream s;
  s << in.rdbuf();
  EXPECT_EQ(s.str().rfind("<svg", 0), 0u);
  EXPECT_NE(s.str().find("</svg>"), std::string::npos);
}

TEST_F(CliTest, TrainWritesManifestAndMetricsLog) {
  EXPECT_TRUE(fs::exists(dir_ / "model" / "manifest.json"));
  EXPECT_TRUE(fs::exists(dir_ / "model" / "weights.bin"));
  std::ifstream metrics(dir_ / "model" / "metrics.jsonl");
  int epochs = 0;
  for (std::string line; std::getline(metrics, line);) {
    const auto j = nlohmann::json::parse(line);
    if (j["event"] == "epoch") {
      ++epochs;
      EXPECT_EQ(j["examples"], 3000);
      EXPECT_TRUE(j.contains("loss"));
      EXPECT_TRUE(j.contains("step"));
    }
  }
  EXPECT_EQ(epochs, 2);
}

TEST_F(CliTest, HelpListsTheSubcommands) {
  Result r = Parasol("--help");
  EXPECT_EQ(r.code, 0);
  for (const char* cmd : {"train", "eval", "predict", "gen"}) {
    EXPECT_NE(r.out.find(cmd), std::string::npos) << cmd;
  }
}

}  // namespace
