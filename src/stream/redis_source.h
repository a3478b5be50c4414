// The Redis Streams source (hiredis): reads a stream through a consumer group with XREADGROUP in
// batches and acknowledges (XACK) only at Commit, once what was read is safe in a checkpoint.
// Several processes in one group share a stream (each entry goes to one consumer). On start it
// first re-reads its own pending entries (read before a crash, never acknowledged), counted as
// replayed. A lost server is retried with backoff (100 ms doubling to 5 s), logged, never
// fatal; a group that disappeared with a restarted server is created again. One thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "stream/source.h"

struct redisContext;
struct redisReply;

namespace parasol::stream {

struct RedisSpec {
  std::string host;
  int port = 6379;
  std::string stream;
  std::string group = "parasol";
  std::string consumer;  // empty: from the stored position, else a new name
};

// Parses "redis://HOST:PORT/STREAM[?group=G&consumer=C]"; InvalidArgument naming the part wrong.
absl::StatusOr<RedisSpec> ParseRedisSpec(const std::string& spec);

class RedisSource : public Source {
 public:
  // `position`: a Position() of an earlier run (its consumer name), or "". `reader`: a name of
  // the reading process that is stable across restarts (see OpenSource).
  static absl::StatusOr<std::unique_ptr<RedisSource>> Open(const std::string& spec,
                                                           const std::string& position,
                                                           const std::string& reader);
  ~RedisSource() override;

  absl::Status Read(size_t max, int wait_ms, std::vector<Event>* out) override;
  std::string Position() const override;
  absl::Status Commit() override;
  uint64_t replayed() const override { return replayed_; }
  std::string Describe() const override { return text_; }
  std::string Where(const std::string& where) const override { return text_ + " entry " + where; }
  const std::string& consumer() const { return spec_.consumer; }

 private:
  RedisSource(RedisSpec spec, std::string text) : spec_(std::move(spec)), text_(std::move(text)) {}
  // Connects and makes sure the group exists; false (logged, backoff armed) when Redis cannot be
  // reached yet.
  bool EnsureConnected();
  // Runs a command; null after a connection failure (the connection is dropped and the backoff
  // armed). An error reply is returned as it is.
  redisReply* Command(const std::vector<std::string>& args);
  void Disconnect(const std::string& why);
  bool CreateGroup();
  // Appends the entries of an XREADGROUP reply; returns how many; *last gets the last entry id.
  size_t TakeEntries(redisReply* reply, std::vector<Event>* out, std::string* last);

  RedisSpec spec_;
  std::string text_;
  redisContext* ctx_ = nullptr;
  bool reading_pending_ = true;  // still re-reading this consumer's pending entries
  std::string pending_cursor_ = "0";
  std::vector<std::string> unacked_;  // ids read since the last Commit
  uint64_t replayed_ = 0;
  int backoff_ms_ = 0;  // 0: connected or never failed
  std::chrono::steady_clock::time_point retry_at_;
  bool down_logged_ = false;
};

}  // namespace parasol::stream
