// libFuzzer target for the model server's JSON request parser (request.h): any bytes must give
// a parsed request or an InvalidArgument, never a crash, hang or sanitizer report. Built and run
// by scripts/fuzz.sh (clang, -fsanitize=fuzzer,address,undefined).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "serve/request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  for (auto method : {parasol::TfMethod::kPredict, parasol::TfMethod::kClassify}) {
    auto r = parasol::ParseTfRequest(body, method);
    if (r.ok() && r->instances.empty()) __builtin_trap();  // parsed requests hold rows
  }
  auto v2 = parasol::ParseV2InferRequest(body);
  if (v2.ok() && v2->instances.empty()) __builtin_trap();
  return 0;
}
