// Redis side of bench/stream_bench.sh: loads a file into a stream (one entry per line, field
// `line`, XADD pipelined) and drains a stream through a consumer group as a bare consumer
// (XREADGROUP COUNT 1000 + XACK per batch, no parsing or learning): the ceiling `parasol stream`
// is compared with.
//   stream_bench load PORT STREAM FILE
//   stream_bench drain PORT STREAM GROUP N     prints {"entries": N, "seconds": S}
#include <hiredis/hiredis.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace {

redisReply* Run(redisContext* c, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  return static_cast<redisReply*>(
      redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data()));
}

int Load(redisContext* c, const std::string& stream, const std::string& path) {
  std::ifstream in(path);
  std::string line;
  size_t queued = 0;
  auto flush = [&] {
    for (; queued > 0; --queued) {
      void* r = nullptr;
      if (redisGetReply(c, &r) != REDIS_OK) return false;
      freeReplyObject(r);
    }
    return true;
  };
  while (std::getline(in, line)) {
    const char* argv[] = {"XADD", stream.c_str(), "*", "line", line.c_str()};
    const size_t lens[] = {4, stream.size(), 1, 4, line.size()};
    redisAppendCommandArgv(c, 5, argv, lens);
    if (++queued == 1000 && !flush()) return 1;
  }
  return flush() ? 0 : 1;
}

int Drain(redisContext* c, const std::string& stream, const std::string& group, long n) {
  freeReplyObject(Run(c, {"XGROUP", "CREATE", stream, group, "0", "MKSTREAM"}));
  const auto start = std::chrono::steady_clock::now();
  long got = 0;
  while (got < n) {
    redisReply* r = Run(c, {"XREADGROUP", "GROUP", group, "bare", "COUNT", "1000", "BLOCK", "1000",
                            "STREAMS", stream, ">"});
    if (r == nullptr) return 1;
    std::vector<std::string> ack = {"XACK", stream, group};
    if (r->type == REDIS_REPLY_ARRAY && r->elements > 0) {
      const redisReply* entries = r->element[0]->element[1];
      for (size_t i = 0; i < entries->elements; ++i) {
        ack.emplace_back(entries->element[i]->element[0]->str);
      }
    }
    freeReplyObject(r);
    got += static_cast<long>(ack.size() - 3);
    if (ack.size() > 3) freeReplyObject(Run(c, ack));
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("{\"entries\": %ld, \"seconds\": %.3f}\n", got, s);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: stream_bench load PORT STREAM FILE | drain PORT STREAM GROUP N\n");
    return 2;
  }
  redisContext* c = redisConnect("127.0.0.1", std::atoi(argv[2]));
  if (c == nullptr || c->err != 0) {
    std::fprintf(stderr, "cannot connect to Redis on port %s\n", argv[2]);
    return 1;
  }
  const std::string mode = argv[1];
  int rc = 2;
  if (mode == "load") rc = Load(c, argv[3], argv[4]);
  if (mode == "drain" && argc >= 6) rc = Drain(c, argv[3], argv[4], std::atol(argv[5]));
  redisFree(c);
  return rc;
}
