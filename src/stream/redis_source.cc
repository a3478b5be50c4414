#include "stream/redis_source.h"

#include <hiredis/hiredis.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/log.h"

namespace parasol::stream {
namespace {

constexpr int kFirstBackoffMs = 100;
constexpr int kMaxBackoffMs = 5000;
constexpr size_t kAckChunk = 1000;  // ids per XACK command

std::string ReplyText(const redisReply* r) {
  return r->str != nullptr ? std::string(r->str, r->len) : std::string();
}

std::string DefaultConsumer(const std::string& reader) {
  char host[256] = {0};
  if (gethostname(host, sizeof(host) - 1) != 0) std::snprintf(host, sizeof(host), "host");
  return absl::StrCat(host, ":", reader.empty() ? std::to_string(getpid()) : reader);
}

}  // namespace

absl::StatusOr<RedisSpec> ParseRedisSpec(const std::string& spec) {
  constexpr std::string_view kScheme = "redis://";
  auto bad = [&](const std::string& why) {
    return absl::InvalidArgumentError(absl::StrCat(
        "bad Redis source '", spec, "': ", why, " (expected redis://HOST:PORT/STREAM[?group=G])"));
  };
  if (spec.rfind(kScheme, 0) != 0) return bad("it does not start with redis://");
  std::string rest = spec.substr(kScheme.size());
  RedisSpec out;
  std::string query;
  if (const size_t q = rest.find('?'); q != std::string::npos) {
    query = rest.substr(q + 1);
    rest.resize(q);
  }
  const size_t slash = rest.find('/');
  if (slash == std::string::npos || slash + 1 == rest.size()) return bad("no stream name");
  out.stream = rest.substr(slash + 1);
  const std::string address = rest.substr(0, slash);
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) return bad("no port");
  out.host = address.substr(0, colon);
  if (out.host.empty()) return bad("no host");
  if (!absl::SimpleAtoi(address.substr(colon + 1), &out.port) || out.port <= 0 ||
      out.port > 65535) {
    return bad(absl::StrCat("port '", address.substr(colon + 1), "' is not a port number"));
  }
  for (absl::string_view kv : absl::StrSplit(query, '&', absl::SkipEmpty())) {
    const size_t eq = kv.find('=');
    const std::string key(kv.substr(0, eq));
    const std::string value(eq == absl::string_view::npos ? "" : kv.substr(eq + 1));
    if (value.empty()) return bad(absl::StrCat("'", key, "' has no value"));
    if (key == "group") {
      out.group = value;
    } else if (key == "consumer") {
      out.consumer = value;
    } else {
      return bad(absl::StrCat("unknown parameter '", key, "' (group and consumer are known)"));
    }
  }
  return out;
}

absl::StatusOr<std::unique_ptr<RedisSource>> RedisSource::Open(const std::string& spec,
                                                               const std::string& position,
                                                               const std::string& reader) {
  auto parsed = ParseRedisSpec(spec);
  if (!parsed.ok()) return parsed.status();
  if (parsed->consumer.empty() && !position.empty()) {
    const auto j = nlohmann::json::parse(position, nullptr, /*allow_exceptions=*/false);
    if (j.is_object() && j.contains("consumer") && j["consumer"].is_string()) {
      parsed->consumer = j["consumer"].get<std::string>();
    }
  }
  if (parsed->consumer.empty()) parsed->consumer = DefaultConsumer(reader);
  return std::unique_ptr<RedisSource>(new RedisSource(std::move(*parsed), spec));
}

RedisSource::~RedisSource() {
  if (ctx_ != nullptr) redisFree(ctx_);
}

void RedisSource::Disconnect(const std::string& why) {
  if (ctx_ != nullptr) redisFree(ctx_);
  ctx_ = nullptr;
  backoff_ms_ = backoff_ms_ == 0 ? kFirstBackoffMs : std::min(kMaxBackoffMs, backoff_ms_ * 2);
  retry_at_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(backoff_ms_);
  log::Warn("{}: Redis unreachable ({}); retrying in {} ms", text_, why, backoff_ms_);
  down_logged_ = true;
}

redisReply* RedisSource::Command(const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const std::string& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  auto* reply = static_cast<redisReply*>(
      redisCommandArgv(ctx_, static_cast<int>(argv.size()), argv.data(), lens.data()));
  if (reply == nullptr) {
    Disconnect(ctx_->errstr[0] != '\0' ? ctx_->errstr : "connection lost");
    return nullptr;
  }
  return reply;
}

bool RedisSource::CreateGroup() {
  // "0": a new group starts at the beginning of the stream; MKSTREAM: the stream may not exist
  // yet (a trainer started before its producers).
  redisReply* r = Command({"XGROUP", "CREATE", spec_.stream, spec_.group, "0", "MKSTREAM"});
  if (r == nullptr) return false;
  const bool ok = r->type != REDIS_REPLY_ERROR || ReplyText(r).rfind("BUSYGROUP", 0) == 0;
  if (!ok) log::Warn("{}: XGROUP CREATE: {}", text_, ReplyText(r));
  freeReplyObject(r);
  return ok;
}

bool RedisSource::EnsureConnected() {
  if (ctx_ != nullptr) return true;
  if (backoff_ms_ > 0 && std::chrono::steady_clock::now() < retry_at_) return false;
  const timeval timeout{2, 0};
  ctx_ = redisConnectWithTimeout(spec_.host.c_str(), spec_.port, timeout);
  if (ctx_ == nullptr || ctx_->err != 0) {
    const std::string why = ctx_ != nullptr ? ctx_->errstr : "out of memory";
    Disconnect(why);
    return false;
  }
  // Replies come within the BLOCK time (at most a read's wait); a server that stops answering
  // (not closed, just gone) fails the command after this and is retried like a closed one.
  const timeval reply_timeout{10, 0};
  redisSetTimeout(ctx_, reply_timeout);
  if (!CreateGroup()) {
    if (ctx_ != nullptr) Disconnect("cannot create the consumer group");
    return false;
  }
  if (down_logged_) {
    log::Info("{}: connected to Redis again, consumer {} of group {}", text_, spec_.consumer,
              spec_.group);
  }
  down_logged_ = false;
  backoff_ms_ = 0;
  return true;
}

size_t RedisSource::TakeEntries(redisReply* reply, std::vector<Event>* out, std::string* last) {
  // [[stream, [[id, [field, value, ...]], ...]]] or nil when nothing came.
  if (reply->type != REDIS_REPLY_ARRAY || reply->elements == 0) return 0;
  const redisReply* s = reply->element[0];
  if (s->type != REDIS_REPLY_ARRAY || s->elements < 2) return 0;
  const redisReply* entries = s->element[1];
  size_t taken = 0;
  for (size_t i = 0; i < entries->elements; ++i) {
    const redisReply* e = entries->element[i];
    if (e->type != REDIS_REPLY_ARRAY || e->elements < 2) continue;
    const std::string id = ReplyText(e->element[0]);
    *last = id;
    unacked_.push_back(id);
    const redisReply* fields = e->element[1];
    Event ev;
    ev.where = id;
    if (fields->type != REDIS_REPLY_ARRAY) {
      // A pending entry deleted from the stream (XDEL/XTRIM) since it was read: nothing to learn.
      log::Warn("{}: pending entry {} no longer exists in the stream", text_, id);
      continue;
    }
    for (size_t f = 0; f + 1 < fields->elements; f += 2) {
      const std::string name = ReplyText(fields->element[f]);
      if (name == "line") ev.line = ReplyText(fields->element[f + 1]);
      if (name == "id") ev.id = ReplyText(fields->element[f + 1]);
      if (name == "label") ev.label = ReplyText(fields->element[f + 1]);
    }
    out->push_back(std::move(ev));
    ++taken;
  }
  return taken;
}

absl::Status RedisSource::Read(size_t max, int wait_ms, std::vector<Event>* out) {
  if (!EnsureConnected()) {
    const auto left = retry_at_ - std::chrono::steady_clock::now();
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
        std::max<std::chrono::steady_clock::duration>(left, {}),
        std::chrono::milliseconds(wait_ms)));
    return absl::OkStatus();
  }
  const std::string count = std::to_string(std::max<size_t>(1, max));
  if (reading_pending_) {
    // This consumer's own entries read before a restart and never acknowledged.
    redisReply* r = Command({"XREADGROUP", "GROUP", spec_.group, spec_.consumer, "COUNT", count,
                             "STREAMS", spec_.stream, pending_cursor_});
    if (r == nullptr) return absl::OkStatus();
    if (r->type == REDIS_REPLY_ERROR) {
      log::Warn("{}: XREADGROUP: {}", text_, ReplyText(r));
      freeReplyObject(r);
      reading_pending_ = false;  // e.g. NOGROUP: a new stream has nothing pending
      return absl::OkStatus();
    }
    std::string last;
    const size_t before = out->size();
    const size_t n = TakeEntries(r, out, &last);
    freeReplyObject(r);
    replayed_ += out->size() - before;
    if (n == 0 && last.empty()) {
      reading_pending_ = false;
      if (replayed_ > 0) {
        log::Info("{}: re-read {} entries pending since before the restart", text_, replayed_);
      }
    } else {
      pending_cursor_ = last;
    }
    return absl::OkStatus();
  }
  redisReply* r =
      Command({"XREADGROUP", "GROUP", spec_.group, spec_.consumer, "COUNT", count, "BLOCK",
               std::to_string(std::max(1, wait_ms)), "STREAMS", spec_.stream, ">"});
  if (r == nullptr) return absl::OkStatus();
  if (r->type == REDIS_REPLY_ERROR) {
    const std::string error = ReplyText(r);
    freeReplyObject(r);
    if (error.rfind("NOGROUP", 0) == 0) {
      // The server restarted without the stream (no persistence): the group is made again.
      log::Warn("{}: the consumer group is gone ({}); creating it again", text_, error);
      CreateGroup();
      return absl::OkStatus();
    }
    return absl::InternalError(absl::StrCat(text_, ": XREADGROUP: ", error));
  }
  std::string last;
  TakeEntries(r, out, &last);
  freeReplyObject(r);
  return absl::OkStatus();
}

std::string RedisSource::Position() const {
  return nlohmann::json{{"consumer", spec_.consumer}, {"group", spec_.group}}.dump();
}

absl::Status RedisSource::Commit() {
  if (unacked_.empty()) return absl::OkStatus();
  if (!EnsureConnected()) return absl::OkStatus();  // still pending; acknowledged next time
  size_t done = 0;
  while (done < unacked_.size()) {
    const size_t end = std::min(unacked_.size(), done + kAckChunk);
    std::vector<std::string> args = {"XACK", spec_.stream, spec_.group};
    args.insert(args.end(), unacked_.begin() + done, unacked_.begin() + end);
    redisReply* r = Command(args);
    if (r == nullptr) break;
    const bool error = r->type == REDIS_REPLY_ERROR;
    if (error) log::Warn("{}: XACK: {}", text_, ReplyText(r));
    freeReplyObject(r);
    done = end;
  }
  unacked_.erase(unacked_.begin(), unacked_.begin() + done);
  return absl::OkStatus();
}

}  // namespace parasol::stream
