#!/usr/bin/env bash
# Parameter-server throughput: one `parasol ps server` process on loopback, pulled and pushed by
# bench/ps_bench (batches of 10K, 100K, 1M keys; 8-float rows), against the same calls in-process.
# Writes bench/results/ps.json.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
TARGET=parasol ./scripts/build.sh >/dev/null
TARGET=ps_bench ./scripts/build.sh >/dev/null
mkdir -p bench/results
./build/src/cli/parasol ps server --listen 127.0.0.1:0 --model fm --k 7 --optimizer sgd \
  > bench/results/ps_server.out 2> bench/results/ps_server.err &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 50); do grep -q "listening on" bench/results/ps_server.out && break; sleep 0.1; done
ADDRESS=$(sed -n 's/^listening on //p' bench/results/ps_server.out)
./build/bench/ps_bench "$ADDRESS" | tee bench/results/ps.json
