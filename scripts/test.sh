#!/usr/bin/env bash
# Runs the whole test suite: builds Parasol (RelWithDebInfo, warnings as errors) and runs every
# test under ctest. With --sanitize, builds with AddressSanitizer + UndefinedBehaviorSanitizer
# into build-asan/ and runs the unit tests there, then runs the libFuzzer targets briefly
# (scripts/fuzz.sh). Installs what it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh --test
if [[ "${1:-}" == "--sanitize" ]]; then
  BUILD_DIR=build-asan ./scripts/build.sh -DPARASOL_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
  ctest --test-dir build-asan -L unit --output-on-failure -j"$(nproc)"
  ./scripts/fuzz.sh 20
else
  ./scripts/build.sh
  ctest --test-dir build --output-on-failure -j"$(nproc)"
fi
