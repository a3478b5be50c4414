#!/usr/bin/env bash
# Installs the Debian 12 packages Parasol builds and tests with. Idempotent and fast when
# everything is present: apt-get runs only for missing packages. Works as root or through sudo.
set -euo pipefail

PACKAGES=(
  g++ cmake ninja-build pkg-config make
  libabsl-dev libspdlog-dev libyaml-cpp-dev nlohmann-json3-dev libcli11-dev libxxhash-dev libzstd-dev zlib1g-dev
  libgtest-dev libgmock-dev
  libprotobuf-dev protobuf-compiler libgrpc++-dev protobuf-compiler-grpc
  libsqlite3-dev libcpp-httplib-dev curl libssl-dev
  libeigen3-dev libopenblas-dev
  libboost-dev     # http/: Boost.Beast, the REST front ends' event-driven server
  libhiredis-dev  # parasol stream: the Redis Streams source
)
# Peers the tests (--test) and benchmarks (--bench) compare against.
# KNN benchmark peers (bench/knn_bench.sh): faiss with OpenBLAS (not the reference BLAS) and
# nanoflann; the bench driver is built only when they are present. Not needed by the tests.
if [[ "${1:-}" == "--bench" ]]; then
  PACKAGES+=(liblinear-tools libfaiss-dev libopenblas0-pthread libnanoflann-dev)
  # Model-server benchmark (bench/serve_bench.sh): the load generator.
  PACKAGES+=(wrk)
  # Embedding-lookup benchmark (bench/lookup_bench.sh): Redis and its C client.
  PACKAGES+=(redis-server libhiredis-dev bc)
fi
if [[ "${1:-}" == "--test" ]]; then
  # clang: libFuzzer targets (scripts/fuzz.sh); their sanitizer headers and runtimes
  # (sanitizer/asan_interface.h, libclang_rt.fuzzer) are only a Recommends of clang, and this
  # script installs without Recommends.
  PACKAGES+=(liblinear-tools iproute2 clang libclang-rt-14-dev)
  # A real SigV4 client for the control service's signed API (tests/control_auth_test.cc).
  PACKAGES+=(python3-botocore)
  # parasol stream's tests start a real Redis on a loopback port.
  PACKAGES+=(redis-server)
  # Node.js runs the Kubernetes schema validator (npm kubernetes-models) of tests/k8s and the
  # dashboard test (npm playwright-core driving Debian's chromium) of tests/web; a Node.js that
  # is already there (with its own npm) is used as it is.
  PACKAGES+=(chromium)
  command -v npm >/dev/null || PACKAGES+=(nodejs npm)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "deps.sh: run as root or install sudo" >&2; exit 1; }
  SUDO=sudo
fi
echo "Installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
