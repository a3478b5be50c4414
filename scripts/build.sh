#!/usr/bin/env bash
# Configures and builds Parasol into BUILD_DIR (default build/); TARGET=name builds one target
# (default: everything, tests included). Extra arguments go to CMake.
# Re-running is incremental.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
if [[ ! -f "$BUILD_DIR/build.ninja" ]]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja "${launcher[@]}" "$@" >/dev/null
fi
cmake --build "$BUILD_DIR" -j"$(nproc)" --target "${TARGET:-all}"
