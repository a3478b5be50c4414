#include "stream/source.h"

#include "absl/strings/str_cat.h"
#include "stream/file_sources.h"
#include "stream/redis_source.h"

namespace parasol::stream {

absl::Status CheckSourceSpec(const std::string& spec) {
  if (spec == "-") return absl::OkStatus();
  if (spec.rfind("dir:", 0) == 0 && spec.size() > 4) return absl::OkStatus();
  if (spec.rfind("redis://", 0) == 0) return ParseRedisSpec(spec).status();
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown source '", spec, "': expected redis://HOST:PORT/STREAM, dir:PATH or - (stdin)"));
}

absl::StatusOr<std::unique_ptr<Source>> OpenSource(const std::string& spec,
                                                   const std::string& position,
                                                   const std::string& reader) {
  if (spec == "-") return std::make_unique<StdinSource>();
  if (spec.rfind("dir:", 0) == 0) {
    auto source = DirSource::Open(spec.substr(4), position);
    if (!source.ok()) return source.status();
    return std::unique_ptr<Source>(std::move(*source));
  }
  if (spec.rfind("redis://", 0) == 0) {
    auto source = RedisSource::Open(spec, position, reader);
    if (!source.ok()) return source.status();
    return std::unique_ptr<Source>(std::move(*source));
  }
  return CheckSourceSpec(spec);
}

}  // namespace parasol::stream
