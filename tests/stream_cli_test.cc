// `parasol stream` as a real process learning from a real Redis (Debian redis-server, started
// here on a free loopback port), a folder and standard input: XACK only after a checkpoint,
// pending entries surviving kill -9, the label join, malformed events, SIGTERM writing a model
// that `parasol predict` reads, and Redis restarted mid-stream.
#include <arpa/inet.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "gtest/gtest.h"
#include "test_util/parasol_process.h"
#include "test_util/run_parasol.h"

namespace parasol {
namespace {
namespace fs = std::filesystem;
using testing::CommandResult;
using testing::ParasolProcess;
using testing::ReadFile;
using testing::RunParasol;

int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// Polls `done` every 50 ms for up to `seconds`.
bool WaitFor(const std::function<bool()>& done, double seconds = 30) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return done();
}

// A redis-server child process with an append-only file in `dir`, so that a restart keeps the
// streams and groups, as a production Redis would.
class RedisServer {
 public:
  RedisServer(int port, fs::path dir) : port_(port), dir_(std::move(dir)) { Start(); }
  ~RedisServer() {
    if (ctx_ != nullptr) redisFree(ctx_);
    Stop();
  }
  void Start() {
    pid_ = fork();
    if (pid_ == 0) {
      const std::string port = std::to_string(port_);
      const std::string dir = dir_.string();
      std::freopen((dir + "/redis.log").c_str(), "a", stdout);
      execlp("redis-server", "redis-server", "--port", port.c_str(), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "yes", "--appendfsync", "always", "--dir", dir.c_str(),
             static_cast<char*>(nullptr));
      _exit(127);
    }
    ASSERT_TRUE(WaitFor([&] { return Reconnect(); }, 10)) << "redis-server did not start";
  }
  void Stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  bool Reconnect() {
    if (ctx_ != nullptr) redisFree(ctx_);
    ctx_ = redisConnect("127.0.0.1", port_);
    if (ctx_ == nullptr || ctx_->err != 0) return false;
    auto* r = static_cast<redisReply*>(redisCommand(ctx_, "PING"));
    const bool ok = r != nullptr && r->type == REDIS_REPLY_STATUS;
    if (r != nullptr) freeReplyObject(r);
    return ok;
  }
  // XADD STREAM * FIELD VALUE ...
  void Add(const std::string& stream, const std::vector<std::string>& fields) {
    std::vector<std::string> args = {"XADD", stream, "*"};
    args.insert(args.end(), fields.begin(), fields.end());
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    auto* r = static_cast<redisReply*>(
        redisCommandArgv(ctx_, static_cast<int>(argv.size()), argv.data(), lens.data()));
    ASSERT_NE(r, nullptr);
    ASSERT_NE(r->type, REDIS_REPLY_ERROR) << r->str;
    freeReplyObject(r);
  }
  // Entries read by the group and not acknowledged (XPENDING's count); -1 without the group.
  long long Pending(const std::string& stream, const std::string& group) {
    auto* r = static_cast<redisReply*>(
        redisCommand(ctx_, "XPENDING %s %s", stream.c_str(), group.c_str()));
    long long n = -1;
    if (r != nullptr && r->type == REDIS_REPLY_ARRAY && r->elements > 0) n = r->element[0]->integer;
    if (r != nullptr) freeReplyObject(r);
    return n;
  }
  std::string url(const std::string& stream) const {
    return "redis://127.0.0.1:" + std::to_string(port_) + "/" + stream;
  }

 private:
  const int port_;
  const fs::path dir_;
  pid_t pid_ = -1;
  redisContext* ctx_ = nullptr;
};

class StreamCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("stream_cli_test_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "redis");
    ASSERT_EQ(RunParasol("gen --rows 3000 --features 8 --vocab 500 --seed 7 --out " +
                         (dir_ / "all.svm").string())
                  .code,
              0);
    std::ifstream in(dir_ / "all.svm");
    for (std::string line; std::getline(in, line);) lines_.push_back(line);
    ASSERT_EQ(lines_.size(), 3000u);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<RedisServer> StartRedis() {
    port_ = FreePort();
    return std::make_unique<RedisServer>(port_, dir_ / "redis");
  }
  // `parasol stream ARGS --out OUT`, stderr to OUT.log (appended per run in `log`).
  std::unique_ptr<ParasolProcess> Stream(std::vector<std::string> args, const std::string& log) {
    args.insert(args.end(), {"--out", out().string()});
    return std::make_unique<ParasolProcess>(args, (dir_ / log).string());
  }
  fs::path out() const { return dir_ / "out"; }
  // The newest checkpoint's stream.json (null when there is none yet).
  nlohmann::json State() const {
    const std::string text = ReadFile((out() / "checkpoint" / "stream.json").string());
    return nlohmann::json::parse(text, nullptr, false);
  }
  uint64_t CheckpointedExamples() const {
    const auto s = State();
    return s.is_object() ? s["examples"].get<uint64_t>() : 0;
  }
  // AUC of the model in out() on the generated file, through `parasol eval` (predict's reader).
  double EvalAuc() const {
    const CommandResult r = RunParasol("eval --json --model " + out().string() + " --data " +
                                       (dir_ / "all.svm").string());
    EXPECT_EQ(r.code, 0) << r.out;
    const auto j = nlohmann::json::parse(r.out.substr(r.out.find('{')), nullptr, false);
    return j.is_object() ? j["auc"].get<double>() : 0;
  }

  fs::path dir_;
  std::vector<std::string> lines_;
  int port_ = 0;
};

TEST_F(StreamCliTest, LearnsFromRedisAcksAfterCheckpointAndSigtermWritesAModel) {
  auto redis = StartRedis();
  for (size_t i = 0; i < 2000; ++i) redis->Add("ev", {"line", lines_[i]});
  auto p = Stream({"stream", "--source", redis->url("ev"), "--checkpoint-every", "0.3"}, "a.log");
  ASSERT_TRUE(WaitFor([&] { return CheckpointedExamples() == 2000; }))
      << ReadFile((dir_ / "a.log").string());
  // Acknowledged once checkpointed: nothing pending in the group.
  EXPECT_TRUE(WaitFor([&] { return redis->Pending("ev", "parasol") == 0; }));
  EXPECT_EQ(p->Stop(SIGTERM), 0) << ReadFile((dir_ / "a.log").string());
  const std::string log = ReadFile((dir_ / "a.log").string());
  EXPECT_NE(log.find("learned 2000 examples"), std::string::npos) << log;
  // OUT is a model directory: predict reads it, one probability per line.
  const CommandResult predict =
      RunParasol("predict --model " + out().string() + " --data " + (dir_ / "all.svm").string());
  ASSERT_EQ(predict.code, 0) << predict.out;
  EXPECT_EQ(std::count(predict.out.begin(), predict.out.end(), '\n'), 3000);
  EXPECT_GT(EvalAuc(), 0.65);
  // Progressive validation lines for the control plane's metrics reader.
  const std::string metrics = ReadFile((out() / "metrics.jsonl").string());
  const auto last = nlohmann::json::parse(
      metrics.substr(metrics.rfind('\n', metrics.size() - 2) + 1), nullptr, false);
  ASSERT_TRUE(last.is_object()) << metrics;
  EXPECT_EQ(last["step"], 2000);
  EXPECT_GT(last["progressive_auc"].get<double>(), 0.6);
  EXPECT_TRUE(last.contains("progressive_logloss"));
}

TEST_F(StreamCliTest, PendingEntriesSurviveKill9AndOnlyThoseAfterTheCheckpointAreLearnedTwice) {
  auto redis = StartRedis();
  // Run 1: 500 entries, checkpointed and acknowledged; then killed.
  for (size_t i = 0; i < 500; ++i) redis->Add("ev", {"line", lines_[i]});
  auto p = Stream({"stream", "--source", redis->url("ev"), "--checkpoint-every", "0.2"}, "1.log");
  ASSERT_TRUE(WaitFor([&] { return CheckpointedExamples() == 500; }));
  ASSERT_TRUE(WaitFor([&] { return redis->Pending("ev", "parasol") == 0; }));
  p->Stop(SIGKILL);
  // Run 2: checkpoints far apart, so 300 new entries are read and learned but not acknowledged
  // when it is killed.
  p = Stream({"stream", "--source", redis->url("ev"), "--checkpoint-every", "1000"}, "2.log");
  for (size_t i = 500; i < 800; ++i) redis->Add("ev", {"line", lines_[i]});
  ASSERT_TRUE(WaitFor([&] { return redis->Pending("ev", "parasol") == 300; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  p->Stop(SIGKILL);
  EXPECT_EQ(redis->Pending("ev", "parasol"), 300);  // kill -9 lost nothing
  EXPECT_EQ(CheckpointedExamples(), 500u);
  // Run 3: resumes from the checkpoint, re-reads exactly the 300 pending entries.
  p = Stream({"stream", "--source", redis->url("ev"), "--checkpoint-every", "1000"}, "3.log");
  ASSERT_TRUE(WaitFor([&] {
    return ReadFile((dir_ / "3.log").string()).find("re-read 300 entries") != std::string::npos;
  })) << ReadFile((dir_ / "3.log").string());
  EXPECT_EQ(p->Stop(SIGTERM), 0);
  const std::string log = ReadFile((dir_ / "3.log").string());
  EXPECT_NE(log.find("resuming"), std::string::npos) << log;
  EXPECT_NE(log.find("300 re-read after a restart (learned twice)"), std::string::npos) << log;
  EXPECT_NE(log.find("the previous run learned 300 examples after its last checkpoint; the "
                     "source gives them again"),
            std::string::npos)
      << log;
  EXPECT_EQ(CheckpointedExamples(), 800u);  // 500 from the checkpoint + the 300 re-read
  EXPECT_EQ(redis->Pending("ev", "parasol"), 0);
}

TEST_F(StreamCliTest, TwoTrainersInOneConsumerGroupShareTheStream) {
  auto redis = StartRedis();
  const fs::path a = dir_ / "a", b = dir_ / "b";
  ParasolProcess pa({"stream", "--source", redis->url("ev") + "?group=shared", "--out", a.string(),
                     "--checkpoint-every", "0.2"},
                    (dir_ / "a.log").string());
  ParasolProcess pb({"stream", "--source", redis->url("ev") + "?group=shared", "--out", b.string(),
                     "--checkpoint-every", "0.2"},
                    (dir_ / "b.log").string());
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // both are waiting on the group
  for (size_t i = 0; i < 2000; ++i) redis->Add("ev", {"line", lines_[i]});
  auto examples = [](const fs::path& out) {
    const auto s = nlohmann::json::parse(ReadFile((out / "checkpoint" / "stream.json").string()),
                                         nullptr, false);
    return s.is_object() ? s["examples"].get<uint64_t>() : 0;
  };
  ASSERT_TRUE(WaitFor([&] { return examples(a) + examples(b) == 2000; }));
  EXPECT_GT(examples(a), 0u);  // each entry went to one of them, and both got some
  EXPECT_GT(examples(b), 0u);
  EXPECT_TRUE(WaitFor([&] { return redis->Pending("ev", "shared") == 0; }));
  EXPECT_EQ(pa.Stop(SIGTERM), 0);
  EXPECT_EQ(pb.Stop(SIGTERM), 0);
}

TEST_F(StreamCliTest, CsvEventsGoThroughTheSchemaAndTransforms) {
  // The churn rows without their header line, one per Redis entry; the schema names the columns
  // (a stream has no header) and piecewise transforms run on the way in.
  auto redis = StartRedis();
  const std::string source = PARASOL_SOURCE_DIR "/data/churn/";
  std::ifstream in(source + "train.csv");
  std::string header, line;
  std::getline(in, header);
  std::erase(header, '"');
  int rows = 0;
  while (std::getline(in, line)) {
    redis->Add("rows", {"line", line});
    ++rows;
  }
  std::ofstream(dir_ / "schema.yaml")
      << ReadFile(source + "schema.yaml")
             .substr(0, ReadFile(source + "schema.yaml").find("header:"))
      << "header: false\ncolumns: [" << header << "]\n";
  std::ofstream(dir_ / "model.yaml")
      << "format: csv\nschema: schema.yaml\nmodel: lr\nlr: 0.1\ntransforms:\n"
         "  - {type: piecewise, field: tenure, boundaries: [6, 12, 24, 48]}\n"
         "  - {type: piecewise, field: monthly_charges, boundaries: [30, 50, 70, 90]}\n"
         "  - {type: piecewise, field: total_charges, boundaries: [500, 1000, 2000, 4000]}\n";
  auto p = Stream({"stream", "--source", redis->url("rows"), "--config",
                   (dir_ / "model.yaml").string(), "--checkpoint-every", "0.3"},
                  "c.log");
  ASSERT_TRUE(WaitFor([&] { return CheckpointedExamples() == static_cast<uint64_t>(rows); }))
      << ReadFile((dir_ / "c.log").string());
  EXPECT_EQ(p->Stop(SIGTERM), 0);
  // The streamed model scores the held-out rows (their header dropped: the schema has none).
  ASSERT_EQ(
      std::system(("tail -n +2 " + source + "test.csv > " + (dir_ / "test.csv").string()).c_str()),
      0);
  const CommandResult r = RunParasol("eval --json --model " + out().string() + " --data " +
                                     (dir_ / "test.csv").string());
  ASSERT_EQ(r.code, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out.substr(r.out.find('{')), nullptr, false);
  EXPECT_GT(j["auc"].get<double>(), 0.8) << r.out;
}

TEST_F(StreamCliTest, AModelTrainedOnFilesGoesOnLearningFromTheStream) {
  // parasol train on the churn files (normalize statistics and all) into OUT, then parasol
  // stream --out OUT: the stream starts from that model, with its transforms, and takes the
  // columns of header-less events from its own --schema.
  const std::string churn = PARASOL_SOURCE_DIR "/data/churn/";
  CommandResult r = RunParasol("train --config " + churn + "model.yaml --train " + churn +
                               "train.csv --out " + out().string());
  ASSERT_EQ(r.code, 0) << r.out;
  std::string header = ReadFile(churn + "test.csv");
  header = header.substr(0, header.find('\n'));
  std::erase(header, '"');
  const std::string schema = ReadFile(churn + "schema.yaml");
  std::ofstream(dir_ / "stream-schema.yaml")
      << schema.substr(0, schema.find("header:")) << "header: false\ncolumns: [" << header << "]\n";
  ASSERT_EQ(
      std::system(("tail -n +2 " + churn + "test.csv > " + (dir_ / "rows.csv").string()).c_str()),
      0);
  r = RunParasol("stream --source - --config " + churn + "model.yaml --schema " +
                 (dir_ / "stream-schema.yaml").string() + " --out " + out().string() + " < " +
                 (dir_ / "rows.csv").string());
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("starting from the model in"), std::string::npos) << r.out;
  // Scored by the trained model from the first event: a cold LR would start at 0.5.
  const size_t at = r.out.find("progressive auc ");
  ASSERT_NE(at, std::string::npos) << r.out;
  EXPECT_GT(std::stod(r.out.substr(at + 16)), 0.82) << r.out;
  // A fresh OUT with the same config is refused: normalize needs the statistics of a pass.
  r = RunParasol("stream --source - --config " + churn + "model.yaml --schema " +
                 (dir_ / "stream-schema.yaml").string() + " --out " + (dir_ / "cold").string() +
                 " < /dev/null");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("normalize"), std::string::npos) << r.out;
}

TEST_F(StreamCliTest, LearnsFromAFolderOnceEachFileIsMarkedDone) {
  const fs::path in = dir_ / "in";
  fs::create_directories(in);
  auto write = [&](const std::string& name, size_t from, size_t to) {
    std::ofstream f(in / name);
    for (size_t i = from; i < to; ++i) f << lines_[i] << "\n";
  };
  write("0001.svm", 0, 1000);
  std::ofstream(in / "0001.svm.done");
  write("0002.svm", 1000, 3000);  // no done-mark yet: not read
  auto p =
      Stream({"stream", "--source", "dir:" + in.string(), "--checkpoint-every", "0.2"}, "d.log");
  ASSERT_TRUE(WaitFor([&] { return CheckpointedExamples() == 1000; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(CheckpointedExamples(), 1000u);
  std::ofstream(in / "0002.svm.done");
  ASSERT_TRUE(WaitFor([&] { return CheckpointedExamples() == 3000; }));
  EXPECT_EQ(p->Stop(SIGTERM), 0);
  EXPECT_GT(EvalAuc(), 0.65);
  // A restart resumes after the last file: nothing is read again.
  p = Stream({"stream", "--source", "dir:" + in.string(), "--checkpoint-every", "0.2"}, "e.log");
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  EXPECT_EQ(p->Stop(SIGTERM), 0);
  EXPECT_EQ(CheckpointedExamples(), 3000u) << ReadFile((dir_ / "e.log").string());
}

TEST_F(StreamCliTest, AFolderReadAfterTheCheckpointIsReadAgainAfterKill9AndCounted) {
  const fs::path in = dir_ / "in";
  fs::create_directories(in);
  {
    std::ofstream f(in / "0001.svm");
    for (size_t i = 0; i < 1000; ++i) f << lines_[i] << "\n";
  }
  std::ofstream(in / "0001.svm.done");
  auto p =
      Stream({"stream", "--source", "dir:" + in.string(), "--checkpoint-every", "1000"}, "k1.log");
  auto progress = [&] {
    const std::string text = ReadFile((out() / "progress").string());
    return text.empty() ? 0ull : std::stoull(text);
  };
  ASSERT_TRUE(WaitFor([&] { return progress() == 1000; }));
  p->Stop(SIGKILL);  // learned, never checkpointed
  p = Stream({"stream", "--source", "dir:" + in.string(), "--checkpoint-every", "0.2"}, "k2.log");
  ASSERT_TRUE(WaitFor([&] { return CheckpointedExamples() == 1000; }));
  EXPECT_EQ(p->Stop(SIGTERM), 0);
  const std::string log = ReadFile((dir_ / "k2.log").string());
  EXPECT_NE(log.find("the previous run learned 1000 examples after its last checkpoint; the "
                     "source gives them again and they are learned twice"),
            std::string::npos)
      << log;
}

TEST_F(StreamCliTest, StdinIsLearnedToItsEndAndMalformedEventsAreCountedByKind) {
  const fs::path input = dir_ / "mixed.svm";
  {
    std::ofstream f(input);
    for (size_t i = 0; i < 1000; ++i) f << lines_[i] << "\n";
    f << "1 3:x\n";      // bad feature
    f << "maybe 3:1\n";  // bad label
    f << "0 5:y 6:1\n";  // bad feature
  }
  const std::string cmd =
      "stream --source - --out " + out().string() + " --max-bad-lines 3 < " + input.string();
  CommandResult r = RunParasol(cmd);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("learned 1000 examples"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("skipped 3 malformed events (bad feature: 2, bad label: 1)"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("stdin:1001"), std::string::npos) << r.out;  // examples in the log
  fs::remove_all(out());
  r = RunParasol("stream --source - --out " + out().string() + " --max-bad-lines 1 < " +
                 input.string());
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("stdin:1002: bad label"), std::string::npos) << r.out;
}

TEST_F(StreamCliTest, BadSourcesAndDurationsAreUsageErrorsNamingTheFlag) {
  const std::string o = " --out " + out().string();
  struct Case {
    std::string args, message;
  };
  for (const Case& c : std::vector<Case>{
           {"--source kafka://h:1/t", "unknown source 'kafka://h:1/t'"},
           {"--source redis://127.0.0.1/s", "no port"},
           {"--source - --labels dir:/tmp", "--labels must be a Redis stream"},
           {"--source - --labels redis://h:1/l --join-window 5x", "--join-window: '5x'"}}) {
    const CommandResult r = RunParasol("stream " + c.args + o + " < /dev/null");
    EXPECT_EQ(r.code, 2) << c.args << ": " << r.out;
    EXPECT_NE(r.out.find(c.message), std::string::npos) << c.args << ": " << r.out;
  }
}

TEST_F(StreamCliTest, LabelJoinLearnsJoinedNegativesOnWindowCloseAndCountsLateAndOrphans) {
  auto redis = StartRedis();
  auto features = [&](size_t i) { return lines_[i].substr(lines_[i].find(' ') + 1); };
  redis->Add("imp", {"id", "r1", "line", features(0)});
  redis->Add("imp", {"id", "r2", "line", features(1)});
  redis->Add("imp", {"id", "r3", "line", features(2)});
  redis->Add("clk", {"id", "r1", "label", "1"});
  redis->Add("clk", {"id", "nobody", "label", "1"});
  auto p = Stream({"stream", "--source", redis->url("imp"), "--labels", redis->url("clk"),
                   "--join-window", "1s", "--checkpoint-every", "0.2"},
                  "j.log");
  auto join = [&](const char* key) {
    const auto s = State();
    return s.is_object() && s.contains("join") ? s["join"][key].get<uint64_t>() : 0;
  };
  ASSERT_TRUE(WaitFor([&] { return join("joined") == 1 && join("orphan_labels") == 1; }))
      << ReadFile((dir_ / "j.log").string());
  EXPECT_EQ(join("negatives"), 0u);                              // r2, r3 wait for their window
  redis->Add("clk", {"id", "r3", "label", "1"});                 // within the window: joined
  ASSERT_TRUE(WaitFor([&] { return join("negatives") == 1; }));  // r2 closed unlabelled
  EXPECT_EQ(join("joined"), 2u);
  redis->Add("clk", {"id", "r2", "label", "1"});  // after r2's window: late, dropped
  ASSERT_TRUE(WaitFor([&] { return join("late") == 1; }));
  EXPECT_EQ(CheckpointedExamples(), 3u);  // 2 joined + 1 negative; the late label is not learned
  EXPECT_EQ(p->Stop(SIGTERM), 0);
  const std::string log = ReadFile((dir_ / "j.log").string());
  EXPECT_NE(log.find("join: 2 joined, 1 negatives, 1 late, 1 orphan labels, 0 evicted"),
            std::string::npos)
      << log;
}

TEST_F(StreamCliTest, JoinStateIsInTheCheckpointAcrossKill9) {
  auto redis = StartRedis();
  redis->Add("imp", {"id", "r1", "line", lines_[0].substr(lines_[0].find(' ') + 1)});
  auto args = std::vector<std::string>{"stream",   "--source",           redis->url("imp"),
                                       "--labels", redis->url("clk"),    "--join-window",
                                       "1h",       "--checkpoint-every", "0.2"};
  auto p = Stream(args, "k1.log");
  ASSERT_TRUE(WaitFor([&] {
    const auto s = State();
    return s.is_object() && s.contains("join") && s["join"]["waiting"].size() == 1;
  }));
  ASSERT_TRUE(WaitFor([&] { return redis->Pending("imp", "parasol") == 0; }));
  p->Stop(SIGKILL);  // the impression was acknowledged: only the checkpoint holds it now
  p = Stream(args, "k2.log");
  redis->Add("clk", {"id", "r1", "label", "1"});
  ASSERT_TRUE(WaitFor([&] { return CheckpointedExamples() == 1; }))
      << ReadFile((dir_ / "k2.log").string());
  EXPECT_EQ(State()["join"]["joined"], 1);
  EXPECT_EQ(p->Stop(SIGTERM), 0);
}

TEST_F(StreamCliTest, RedisRestartedMidStreamIsWaitedForAndNothingIsSkipped) {
  auto redis = StartRedis();
  for (size_t i = 0; i < 300; ++i) redis->Add("ev", {"line", lines_[i]});
  auto p = Stream({"stream", "--source", redis->url("ev"), "--checkpoint-every", "0.2"}, "r.log");
  ASSERT_TRUE(WaitFor([&] { return CheckpointedExamples() == 300; }));
  redis->Stop();
  ASSERT_TRUE(WaitFor([&] {
    return ReadFile((dir_ / "r.log").string()).find("Redis unreachable") != std::string::npos;
  }));
  std::this_thread::sleep_for(std::chrono::milliseconds(800));  // a few retries with backoff
  redis->Start();
  for (size_t i = 300; i < 600; ++i) redis->Add("ev", {"line", lines_[i]});
  ASSERT_TRUE(WaitFor([&] { return CheckpointedExamples() == 600; }))
      << ReadFile((dir_ / "r.log").string());
  EXPECT_EQ(p->Stop(SIGTERM), 0);  // it never crashed
  const std::string log = ReadFile((dir_ / "r.log").string());
  EXPECT_NE(log.find("retrying in"), std::string::npos) << log;
  EXPECT_NE(log.find("connected to Redis again"), std::string::npos) << log;
  EXPECT_EQ(redis->Pending("ev", "parasol"), 0);
}

TEST_F(StreamCliTest, DeepModelsLearnFromAStreamToo) {
  // libffm lines for a DeepFM; the field count comes from the config (a stream is not scanned).
  ASSERT_EQ(RunParasol("gen --rows 2000 --features 6 --vocab 300 --fields --out " +
                       (dir_ / "ffm.svm").string())
                .code,
            0);
  std::ofstream(dir_ / "deep.yaml") << "model: deepfm\nfields: 6\nembedding_dim: 4\n"
                                       "hidden: [16]\nbatch_size: 64\n";
  const CommandResult r =
      RunParasol("stream --source - --config " + (dir_ / "deep.yaml").string() +
                 " --threads 1 --out " + out().string() + " < " + (dir_ / "ffm.svm").string());
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("learned 2000 examples"), std::string::npos) << r.out;
  const CommandResult predict =
      RunParasol("predict --model " + out().string() + " --data " + (dir_ / "ffm.svm").string());
  ASSERT_EQ(predict.code, 0) << predict.out;
  EXPECT_EQ(std::count(predict.out.begin(), predict.out.end(), '\n'), 2000);
  // A second run resumes the layers and rows (with their Adam state) from the checkpoint.
  const CommandResult again =
      RunParasol("stream --source - --config " + (dir_ / "deep.yaml").string() +
                 " --threads 1 --out " + out().string() + " < " + (dir_ / "ffm.svm").string());
  ASSERT_EQ(again.code, 0) << again.out;
  EXPECT_NE(again.out.find("resuming deepfm"), std::string::npos) << again.out;
  EXPECT_EQ(CheckpointedExamples(), 4000u);
  // The resumed model has seen these rows: its progressive AUC on them beats the fresh run's.
  auto progressive_auc = [](const std::string& log) {
    const size_t at = log.find("progressive auc ");
    return at == std::string::npos ? 0.0 : std::stod(log.substr(at + 16));
  };
  EXPECT_GT(progressive_auc(again.out), progressive_auc(r.out) + 0.005) << r.out << again.out;
  // Without `fields`, the missing field count is a clear usage error.
  const CommandResult bad = RunParasol("stream --source - --model deepfm --out " +
                                       (dir_ / "x").string() + " < /dev/null");
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.out.find("fields: N"), std::string::npos) << bad.out;
}

}  // namespace
}  // namespace parasol
