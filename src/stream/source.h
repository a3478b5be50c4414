// Where a stream's events come from: a small interface that every source implements (Redis
// Streams, a folder of arriving files, standard input; a Kafka consumer over librdkafka would be
// one more implementation: Read = poll, Position = the partitions' offsets, Commit = commit those
// offsets), and OpenStreamSource, which picks one from its spec. A source is used by one thread.
//
// The contract that makes checkpoints exact: Read hands out events in order; Position() is a
// text that, given back to OpenStreamSource after a restart, resumes right after the last event
// read; Commit() tells the source that everything read so far is safe in a checkpoint, so it may
// let go of it (Redis: XACK). Events read but never committed come back after a restart where
// the source can replay them (Redis: the consumer's pending entries; a folder: the stored file
// offset), and `replayed()` counts those.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace parasol::stream {

// One event: `line` holds an example in the stream's --format (Redis field `line`), or for a
// label stream nothing. `id` and `label` are the Redis fields of the same names, empty when the
// entry has none. `where` locates the event within its source, short enough to stay in the
// string's own buffer (the Redis entry id, "file:line", the line number): Source::Where makes
// the full text for a message ("redis://h:p/s entry 1-0", "dir/f:17", "stdin:17").
struct Event {
  std::string id;
  std::string line;
  std::string label;
  std::string where;
};

class Source {
 public:
  virtual ~Source() = default;
  // Appends up to `max` events to *out, waiting up to `wait_ms` for the first one; none is not an
  // error. A source that loses its server (Redis restarted or unreachable) logs it and retries
  // with backoff inside Read, returning nothing meanwhile: it never skips and never fails for
  // that. Errors are for what retrying cannot mend (a bad spec, an unreadable file).
  virtual absl::Status Read(size_t max, int wait_ms, std::vector<Event>* out) = 0;
  // True once the source can give no more events (standard input at end of file).
  virtual bool finished() const { return false; }
  // Where to resume: stored with a checkpoint and handed back to OpenStreamSource.
  virtual std::string Position() const = 0;
  // Everything read so far is in a checkpoint now. Redis acknowledges it (XACK); a failure to
  // reach the server is retried at the next Commit (the entries stay pending meanwhile).
  virtual absl::Status Commit() = 0;
  // Events handed out again after a restart because they had been read but not committed.
  virtual uint64_t replayed() const { return 0; }
  // The spec, for messages.
  virtual std::string Describe() const = 0;
  // An event's `where` as a message names it.
  virtual std::string Where(const std::string& where) const = 0;
};

// Checks the form of a spec without opening it (a usage error before anything runs).
absl::Status CheckSourceSpec(const std::string& spec);

// Opens `spec`:
//   redis://HOST:PORT/STREAM[?group=G&consumer=C]  consumer group G (default "parasol"); the
//       consumer name C defaults to the one stored in `position`, else to "HOST:" + `reader`,
//       so that a restart — even one before any checkpoint — reads as the same consumer and
//       gets its own pending entries back;
//   dir:PATH   files of PATH in name order, each once NAME.done exists beside it;
//   -          standard input, one event per line (no replay: what was read is gone).
// `position` is a Position() from a checkpoint, or "" to start afresh. `reader` names the
// reading process stably across restarts (parasol stream: its absolute output directory).
// InvalidArgument names what is wrong with the spec.
absl::StatusOr<std::unique_ptr<Source>> OpenSource(const std::string& spec,
                                                   const std::string& position,
                                                   const std::string& reader);

}  // namespace parasol::stream
