#include "control/auth/credentials.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/files.h"

namespace parasol::auth {
namespace {

// `n` characters drawn uniformly from `alphabet` (rejection sampling over random bytes).
std::string RandomString(size_t n, absl::string_view alphabet) {
  std::string out;
  const size_t limit = 256 - 256 % alphabet.size();
  while (out.size() < n) {
    unsigned char buf[64];
    if (RAND_bytes(buf, sizeof(buf)) != 1) continue;
    for (unsigned char b : buf) {
      if (b < limit && out.size() < n) out += alphabet[b % alphabet.size()];
    }
  }
  return out;
}

}  // namespace

KeyPair GenerateKeyPair() {
  return {"PK" + RandomString(18, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"),
          RandomString(40, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")};
}

std::string FormatCredentials(const KeyPair& key, const std::string& profile) {
  return absl::StrCat("[", profile, "]\naws_access_key_id = ", key.access_key,
                      "\naws_secret_access_key = ", key.secret_key, "\n");
}

absl::StatusOr<SigningCredentials> ParseCredentials(const std::string& text,
                                                    const std::string& source,
                                                    const std::string& profile) {
  SigningCredentials creds;
  bool in_profile = false, seen_profile = false;
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_no;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    if (line.front() == '[') {
      if (line.back() != ']') {
        return absl::InvalidArgumentError(
            absl::StrCat(source, ":", line_no, ": expected [PROFILE]"));
      }
      in_profile = absl::StripAsciiWhitespace(line.substr(1, line.size() - 2)) == profile;
      seen_profile |= in_profile;
      continue;
    }
    const size_t eq = line.find('=');
    if (eq == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat(source, ":", line_no, ": expected KEY = VALUE"));
    }
    if (!in_profile) continue;
    const std::string key = absl::AsciiStrToLower(absl::StripAsciiWhitespace(line.substr(0, eq)));
    const std::string value(absl::StripAsciiWhitespace(line.substr(eq + 1)));
    if (key == "aws_access_key_id") creds.access_key = value;
    if (key == "aws_secret_access_key") creds.secret_key = value;
    if (key == "region") creds.region = value;
  }
  if (!seen_profile) {
    return absl::NotFoundError(absl::StrCat(source, ": no [", profile, "] section"));
  }
  if (creds.access_key.empty() || creds.secret_key.empty()) {
    return absl::NotFoundError(absl::StrCat(source, ": [", profile,
                                            "] needs aws_access_key_id and aws_secret_access_key"));
  }
  return creds;
}

absl::Status WriteSecretFile(const std::string& path, const std::string& text) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    const std::string why = std::strerror(errno);
    if (errno == EEXIST) return absl::AlreadyExistsError(path + " exists; not replacing it");
    return absl::UnavailableError("cannot create " + path + ": " + why);
  }
  const bool ok =
      write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && fsync(fd) == 0;
  close(fd);
  if (!ok) return absl::UnavailableError("cannot write " + path);
  return absl::OkStatus();
}

absl::StatusOr<std::optional<SigningCredentials>> ResolveCredentials(const char* env_access_key,
                                                                     const char* env_secret_key,
                                                                     const char* env_region,
                                                                     const char* home) {
  auto set = [](const char* v) { return v != nullptr && *v != '\0'; };
  std::optional<SigningCredentials> creds;
  if (set(env_access_key) || set(env_secret_key)) {
    if (!set(env_access_key) || !set(env_secret_key)) {
      return absl::InvalidArgumentError(
          "set both PARASOL_ACCESS_KEY_ID and PARASOL_SECRET_ACCESS_KEY, or neither");
    }
    creds = SigningCredentials{env_access_key, env_secret_key};
  } else if (set(home)) {
    const std::string path = std::string(home) + "/.parasol/credentials";
    if (std::filesystem::exists(path)) {
      auto text = ReadFileToString(path);
      if (!text) return absl::UnavailableError("cannot read " + path);
      auto parsed = ParseCredentials(*text, path);
      if (!parsed.ok()) return parsed.status();
      creds = *std::move(parsed);
    }
  }
  if (creds && set(env_region)) creds->region = env_region;
  return creds;
}

}  // namespace parasol::auth
