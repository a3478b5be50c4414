#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) into build-fuzz/ and runs each for
# SECONDS (default 20) from its seed corpus. Exit status non-zero on any finding, whose input is
# left in build-fuzz/. Targets: the model server's JSON request parser (src/serve/request.h) and
# the control service's SigV4 verifier (src/control/auth/verifier.h).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-20}
./scripts/deps.sh --test
mkdir -p build-fuzz/corpus
CXX=${FUZZ_CXX:-clang++}
# Abseil is Debian's build; pkg-config gives its link line.
ABSL=$(pkg-config --cflags --libs absl_status absl_statusor absl_strings)
OPENSSL=$(pkg-config --cflags --libs libcrypto)
# shellcheck disable=SC2086
$CXX -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
  -Isrc src/serve/request_fuzzer.cc src/serve/request.cc $ABSL -o build-fuzz/request_fuzzer
# shellcheck disable=SC2086
$CXX -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
  -Isrc src/control/auth/sigv4_fuzzer.cc src/control/auth/verifier.cc src/control/auth/sigv4.cc \
  $ABSL $OPENSSL -o build-fuzz/sigv4_fuzzer
cp -n src/serve/fuzz_corpus/* build-fuzz/corpus/ 2>/dev/null || true
mkdir -p build-fuzz/sigv4_corpus
cp -n src/control/auth/fuzz_corpus/* build-fuzz/sigv4_corpus/ 2>/dev/null || true
cd build-fuzz
./request_fuzzer -max_total_time="$SECONDS_EACH" -max_len=4096 -timeout=10 -print_final_stats=1 \
  corpus 2>&1 | tail -n 12
./sigv4_fuzzer -max_total_time="$SECONDS_EACH" -max_len=4096 -timeout=10 -print_final_stats=1 \
  sigv4_corpus 2>&1 | tail -n 12
