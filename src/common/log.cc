#include "common/log.h"

#include <cstdio>
#include <memory>
#include <mutex>
#include <sstream>

#include "spdlog/sinks/ostream_sink.h"
#include "spdlog/sinks/stdout_sinks.h"
#include "spdlog/spdlog.h"

namespace parasol::log {
namespace {

struct Sink {
  std::mutex mu;
  std::shared_ptr<spdlog::logger> stderr_logger;
  std::shared_ptr<std::ostringstream> captured;  // non-null while a ScopedCapture lives
  std::shared_ptr<spdlog::logger> capture_logger;
  bool transient_shown = false;  // a status line is on standard error, without its newline
};

// REQUIRES: sink.mu held.
void ClearTransientLocked(Sink& sink) {
  if (!sink.transient_shown) return;
  std::fputs("\r\033[K", stderr);
  std::fflush(stderr);
  sink.transient_shown = false;
}

Sink& TheSink() {
  static Sink* sink = [] {
    auto* s = new Sink;
    // Not registered with spdlog's registry: the library's loggers are ours alone.
    s->stderr_logger = std::make_shared<spdlog::logger>(
        "parasol", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    s->stderr_logger->set_pattern("%v");
    s->stderr_logger->set_level(spdlog::level::info);
    s->stderr_logger->flush_on(spdlog::level::info);
    return s;
  }();
  return *sink;
}

spdlog::level::level_enum ToSpd(Level level) {
  switch (level) {
    case Level::kInfo:
      return spdlog::level::info;
    case Level::kWarn:
      return spdlog::level::warn;
    case Level::kError:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

}  // namespace

void Write(Level level, const std::string& line) {
  Sink& sink = TheSink();
  std::lock_guard<std::mutex> lock(sink.mu);
  if (sink.capture_logger) {
    sink.capture_logger->log(ToSpd(level), "{}", line);
    return;
  }
  ClearTransientLocked(sink);
  sink.stderr_logger->log(ToSpd(level), "{}", line);
}

void Transient(const std::string& text) {
  Sink& sink = TheSink();
  std::lock_guard<std::mutex> lock(sink.mu);
  if (sink.capture_logger) return;
  std::fprintf(stderr, "\r\033[K%s", text.c_str());
  std::fflush(stderr);
  sink.transient_shown = true;
}

void ClearTransient() {
  Sink& sink = TheSink();
  std::lock_guard<std::mutex> lock(sink.mu);
  ClearTransientLocked(sink);
}

ScopedCapture::ScopedCapture() {
  Sink& sink = TheSink();
  std::lock_guard<std::mutex> lock(sink.mu);
  sink.captured = std::make_shared<std::ostringstream>();
  sink.capture_logger = std::make_shared<spdlog::logger>(
      "parasol-capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(*sink.captured));
  sink.capture_logger->set_pattern("%v");
}

ScopedCapture::~ScopedCapture() {
  Sink& sink = TheSink();
  std::lock_guard<std::mutex> lock(sink.mu);
  sink.capture_logger.reset();
}

std::string ScopedCapture::text() const {
  Sink& sink = TheSink();
  std::lock_guard<std::mutex> lock(sink.mu);
  sink.capture_logger->flush();
  return sink.captured->str();
}

}  // namespace parasol::log
