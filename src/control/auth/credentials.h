// Access keys in the AWS credentials-file format ([profile], aws_access_key_id = ...,
// aws_secret_access_key = ...), fresh key generation (OpenSSL's RAND_bytes), and which
// credentials a `parasol` command signs with. Pure functions apart from the files named;
// thread-safe.
#pragma once

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "control/auth/sigv4.h"

namespace parasol::auth {

struct KeyPair {
  std::string access_key;  // "PK" + 18 characters of [A-Z2-7]: not secret, logged and shown
  std::string secret_key;  // 40 characters of [A-Za-z0-9]: shown once, never logged
};
KeyPair GenerateKeyPair();

// "[default]\naws_access_key_id = AK\naws_secret_access_key = SK\n".
std::string FormatCredentials(const KeyPair& key, const std::string& profile = "default");

// The `profile` section of credentials-file text; `source` names it in errors (InvalidArgument
// naming source:line, NotFound when the profile or one of the two keys is absent). A `region`
// key in the section sets the region.
absl::StatusOr<SigningCredentials> ParseCredentials(const std::string& text,
                                                    const std::string& source,
                                                    const std::string& profile = "default");

// Writes `text` to `path` with mode 0600 (created; refuses to replace an existing file:
// AlreadyExists).
absl::Status WriteSecretFile(const std::string& path, const std::string& text);

// What `parasol job|tenant|key|quota|audit` sign with: `env_access_key` and `env_secret_key`
// (PARASOL_ACCESS_KEY_ID / PARASOL_SECRET_ACCESS_KEY) when both are set, else the [default]
// section of `home`/.parasol/credentials when that file exists, else nullopt (requests go
// unsigned, as a service without --auth expects). `env_region` (PARASOL_REGION) overrides the
// region, which is otherwise the file's or "local". An error names the file or variable.
absl::StatusOr<std::optional<SigningCredentials>> ResolveCredentials(const char* env_access_key,
                                                                     const char* env_secret_key,
                                                                     const char* env_region,
                                                                     const char* home);

}  // namespace parasol::auth
