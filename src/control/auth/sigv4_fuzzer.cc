// libFuzzer target for the SigV4 verifier (verifier.h, sigv4.h): the input's lines are the
// Authorization header, X-Amz-Date, the path, the query and (the rest) the body. Any bytes must
// give an accepted key or an Unauthenticated/PermissionDenied status, never a crash, hang or
// sanitizer report; and the same parts signed with SignRequest must verify once and then be
// refused as a replay. Built and run by scripts/fuzz.sh (clang,
// -fsanitize=fuzzer,address,undefined).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "control/auth/verifier.h"

namespace {
constexpr int64_t kNow = 1440938160;  // 20150830T123600Z
constexpr char kSecret[] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> parts;
  size_t start = 0;
  while (parts.size() < 4) {
    const size_t nl = input.find('\n', start);
    if (nl == std::string::npos) break;
    parts.push_back(input.substr(start, nl - start));
    start = nl + 1;
  }
  parts.resize(4);
  const std::string body = start <= input.size() ? input.substr(start) : "";
  parasol::auth::SigV4Verifier verifier(parasol::auth::VerifierOptions{},
                                        [](const std::string& key) -> absl::StatusOr<std::string> {
                                          if (key == "AKIDEXAMPLE") return std::string(kSecret);
                                          return absl::NotFoundError("unknown key");
                                        });
  parasol::auth::HttpRequestParts fuzzed{
      "POST",
      parts[2],
      parts[3],
      {{"Host", "127.0.0.1"}, {"Authorization", parts[0]}, {"X-Amz-Date", parts[1]}},
      body};
  auto got = verifier.Verify(fuzzed, kNow);
  if (!got.ok() && !absl::IsUnauthenticated(got.status()) &&
      !absl::IsPermissionDenied(got.status())) {
    __builtin_trap();
  }
  parasol::auth::HttpRequestParts request{"POST", parts[2], parts[3], {{"Host", "h"}}, body};
  if (!parasol::auth::SignRequest(request, {"AKIDEXAMPLE", kSecret, "local"}, kNow).ok()) {
    __builtin_trap();
  }
  if (!verifier.Verify(request, kNow).ok()) __builtin_trap();  // what we sign verifies
  if (verifier.Verify(request, kNow).ok()) __builtin_trap();   // exactly once
  return 0;
}
