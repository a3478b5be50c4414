// `parasol knn` end to end on the bundled iris data (data/iris): its scores and per-row
// predictions must equal those of a naive KNN written here from the definitions (all distances
// in double, neighbours by (distance, index), votes tied to the smallest label), for each
// metric, index, weighting and task; libsvm input gives the same answers as CSV; exit codes.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace {

namespace fs = std::filesystem;

struct Result {
  int code;
  std::string out;  // stdout
  std::string err;  // stderr
};

Result Parasol(const std::string& args) {
  const fs::path err = fs::temp_directory_path() / ("parasol_knn_err_" + std::to_string(getpid()));
  const std::string cmd = std::string(PARASOL_BINARY) + " " + args + " 2>" + err.string();
  std::FILE* pipe = popen(cmd.c_str(), "r");
  Result r{-1, "", ""};
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), pipe)) > 0) r.out.append(buf, n);
  const int status = pclose(pipe);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream in(err);
  std::stringstream s;
  s << in.rdbuf();
  r.err = s.str();
  fs::remove(err);
  return r;
}

const std::string kIris = std::string(PARASOL_SOURCE_DIR) + "/data/iris/";

struct Table {
  std::vector<std::vector<double>> x;  // measurements
  std::vector<double> species;         // species_id
};

// The four measurements and species_id of an iris CSV file.
Table ReadIris(const std::string& path) {
  Table t;
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::stringstream s(line);
    for (std::string field; std::getline(s, field, ',');) f.push_back(field);
    if (f.size() != 6) continue;
    t.x.push_back({std::stod(f[0]), std::stod(f[1]), std::stod(f[2]), std::stod(f[3])});
    t.species.push_back(std::stod(f[5]));
  }
  return t;
}

struct Config {
  std::string metric, index, weights;
  bool regress;
};

// Naive KNN: the dimensions are `dims` of the measurements, the target is species (classify)
// or measurement 3, petal width (regress).
std::vector<double> NaiveKnn(const Table& train, const Table& test, const std::vector<int>& dims,
                             const Config& c, size_t k) {
  std::vector<double> out;
  for (const auto& q : test.x) {
    std::vector<std::pair<double, size_t>> d;
    for (size_t j = 0; j < train.x.size(); ++j) {
      double l2 = 0, l1 = 0, dot = 0, qq = 0, xx = 0;
      for (int t : dims) {
        const double a = static_cast<float>(q[t]), b = static_cast<float>(train.x[j][t]);
        l2 += (a - b) * (a - b);
        l1 += std::fabs(a - b);
        dot += a * b;
        qq += a * a;
        xx += b * b;
      }
      d.emplace_back(c.metric == "l2"   ? l2
                     : c.metric == "l1" ? l1
                                        : 1 - dot / (std::sqrt(qq) * std::sqrt(xx)),
                     j);
    }
    std::sort(d.begin(), d.end());
    std::vector<double> w(k, 1.0);
    bool exact = false;
    for (size_t j = 0; j < k; ++j) {
      if (c.metric == "l2") d[j].first = std::sqrt(d[j].first);
      exact |= static_cast<float>(d[j].first) == 0;
    }
    if (c.weights == "distance") {
      for (size_t j = 0; j < k; ++j) {
        const float dist = static_cast<float>(d[j].first);
        w[j] = exact ? (dist == 0 ? 1 : 0) : 1.0 / dist;
      }
    }
    if (c.regress) {
      double sum = 0, total = 0;
      for (size_t j = 0; j < k; ++j) {
        sum += w[j] * static_cast<float>(train.x[d[j].second][3]);
        total += w[j];
      }
      out.push_back(sum / total);
    } else {
      std::map<double, double> votes;  // ordered: the first maximum is the smallest label
      for (size_t j = 0; j < k; ++j) votes[train.species[d[j].second]] += w[j];
      double best = -1, label = 0;
      for (const auto& [l, v] : votes) {
        if (v > best) best = v, label = l;
      }
      out.push_back(label);
    }
  }
  return out;
}

std::vector<double> ReadNumbers(const fs::path& path) {
  std::vector<double> v;
  std::ifstream in(path);
  for (double x; in >> x;) v.push_back(x);
  return v;
}

TEST(KnnCliTest, IrisScoresAndPredictionsEqualANaiveKnn) {
  const Table train = ReadIris(kIris + "train.csv");
  const Table test = ReadIris(kIris + "test.csv");
  ASSERT_EQ(train.x.size(), 120u);
  ASSERT_EQ(test.x.size(), 30u);
  const fs::path out = fs::temp_directory_path() / ("parasol_knn_out_" + std::to_string(getpid()));
  const std::vector<Config> configs = {
      {"l2", "brute", "uniform", false},     {"l2", "kdtree", "distance", false},
      {"l1", "kdtree", "uniform", false},    {"l1", "brute", "distance", false},
      {"cosine", "brute", "uniform", false}, {"l2", "kdtree", "uniform", true},
      {"l2", "brute", "distance", true},     {"l1", "kdtree", "distance", true},
      {"cosine", "auto", "uniform", true}};
  for (size_t k : {1u, 5u, 15u}) {
    for (const Config& c : configs) {
      const std::string what = c.metric + "/" + c.index + "/" + c.weights +
                               (c.regress ? " regress" : " classify") + " k=" + std::to_string(k);
      const Result r = Parasol(
          "knn --train " + kIris + "train.csv --test " + kIris + "test.csv --format csv --schema " +
          kIris + (c.regress ? "schema_regress.yaml --task regress" : "schema.yaml") + " -k " +
          std::to_string(k) + " --metric " + c.metric + " --index " + c.index + " --weights " +
          c.weights + " --threads 2 --json --out " + out.string());
      ASSERT_EQ(r.code, 0) << what << ": " << r.err;
      const nlohmann::json j = nlohmann::json::parse(r.out);
      const std::vector<int> dims =
          c.regress ? std::vector<int>{0, 1, 2} : std::vector<int>{0, 1, 2, 3};
      const std::vector<double> want = NaiveKnn(train, test, dims, c, k);
      const std::vector<double> got = ReadNumbers(out);
      ASSERT_EQ(got.size(), want.size()) << what;
      for (size_t i = 0; i < want.size(); ++i) {
        EXPECT_NEAR(got[i], want[i], 1e-5) << what << " row " << i;
      }
      EXPECT_EQ(j["count"], 30) << what;
      EXPECT_EQ(j["k"], k) << what;
      EXPECT_EQ(j["metric"], c.metric) << what;
      if (c.index != "auto") {
        EXPECT_EQ(j["index"], c.index) << what;
      }
      for (const char* key : {"load_seconds", "build_seconds", "search_seconds"}) {
        EXPECT_GE(j[key].get<double>(), 0) << what << " " << key;
      }
      if (c.regress) {
        double se = 0, ae = 0;
        for (size_t i = 0; i < want.size(); ++i) {
          const double e = want[i] - static_cast<float>(test.x[i][3]);
          se += e * e;
          ae += std::fabs(e);
        }
        EXPECT_NEAR(j["rmse"].get<double>(), std::sqrt(se / 30), 1e-5) << what;
        EXPECT_NEAR(j["mae"].get<double>(), ae / 30, 1e-5) << what;
      } else {
        int right = 0;
        for (size_t i = 0; i < want.size(); ++i) right += want[i] == test.species[i];
        EXPECT_DOUBLE_EQ(j["accuracy"].get<double>(), right / 30.0) << what;
        // A sanity floor on the real data: KNN separates iris well.
        EXPECT_GE(right, 27) << what;
      }
    }
  }
  fs::remove(out);
}

// The same data as libsvm (class ids as labels, indices 1..4) gives the same predictions.
TEST(KnnCliTest, LibsvmInputAgreesWithCsv) {
  const fs::path dir = fs::temp_directory_path() / ("parasol_knn_svm_" + std::to_string(getpid()));
  fs::create_directories(dir);
  for (const char* name : {"train", "test"}) {
    const Table t = ReadIris(kIris + name + ".csv");
    std::ofstream o(dir / (std::string(name) + ".svm"));
    for (size_t i = 0; i < t.x.size(); ++i) {
      o << t.species[i];
      for (int d = 0; d < 4; ++d) o << " " << d + 1 << ":" << t.x[i][d];
      o << "\n";
    }
  }
  const Result svm = Parasol("knn --train " + (dir / "train.svm").string() + " --test " +
                             (dir / "test.svm").string() + " -k 5 --out " +
                             (dir / "svm.txt").string() + " --json");
  ASSERT_EQ(svm.code, 0) << svm.err;
  const Result csv = Parasol("knn --train " + kIris + "train.csv --test " + kIris +
                             "test.csv --format csv --schema " + kIris + "schema.yaml -k 5 --out " +
                             (dir / "csv.txt").string());
  ASSERT_EQ(csv.code, 0) << csv.err;
  EXPECT_EQ(ReadNumbers(dir / "svm.txt"), ReadNumbers(dir / "csv.txt"));
  EXPECT_EQ(nlohmann::json::parse(svm.out)["dimensions"], 4);
  fs::remove_all(dir);
}

TEST(KnnCliTest, ExitCodes) {
  const std::string base = "knn --train " + kIris + "train.csv --test " + kIris +
                           "test.csv --format csv --schema " + kIris + "schema.yaml ";
  Result r = Parasol(base + "-k 3 --index kdtree --metric cosine");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--index kdtree supports --metric l2 and l1"), std::string::npos) << r.err;
  EXPECT_EQ(Parasol(base + "-k 3 --metric l7").code, 2);
  EXPECT_EQ(Parasol(base + "-k 0").code, 2);
  r = Parasol(base + "-k 121");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("more than the 120 training examples"), std::string::npos) << r.err;
  EXPECT_EQ(Parasol("knn --train x --test y").code, 2);  // -k missing

  const fs::path bad = fs::temp_directory_path() / ("parasol_knn_bad_" + std::to_string(getpid()));
  std::ofstream(bad) << "1 1:0.5\n2 2:oops\n";
  r = Parasol("knn --train " + bad.string() + " --test " + bad.string() + " -k 1");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find(bad.string() + ":2: bad feature '2:oops'"), std::string::npos) << r.err;
  fs::remove(bad);
}

}  // namespace
