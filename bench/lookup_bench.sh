#!/usr/bin/env bash
# Embedding lookups, one run: `parasol serve` gRPC Lookup vs Redis (Debian redis-server, started
# here) MGET of the same random keys, 8 floats per row. Both servers hold the same ROWS rows.
# Writes bench/results/lookup.{json,md}.
# Usage: bench/lookup_bench.sh [ROWS, default 10000000] [KEYS per request, default 150000]
#                              [REQUESTS per client, default 30]
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-10000000}
KEYS=${2:-150000}
REQUESTS=${3:-30}
./scripts/deps.sh --bench
TARGET=parasol ./scripts/build.sh >/dev/null
TARGET=lookup_bench ./scripts/build.sh >/dev/null
P=./build/src/cli/parasol
B=./build/bench/lookup_bench
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
mkdir -p bench/results
rss_mib() { awk '/VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$1/status"; }

echo "== $ROWS rows of 8 floats: model directory for parasol serve" >&2
$B make-model "$WORK/emb/1" "$ROWS"
start=$(date +%s.%N)
$P serve --model-base "$WORK/emb" --rest-port 0 --port 0 > "$WORK/serve.out" 2>/dev/null &
SERVE=$!
PIDS+=($SERVE)
for _ in $(seq 600); do grep -qs "gRPC listening" "$WORK/serve.out" && break; sleep 0.1; done
parasol_load=$(echo "$(date +%s.%N) - $start" | bc)
GRPC=$(sed -n 's/^gRPC listening on //p' "$WORK/serve.out")

echo "== the same rows into redis-server" >&2
RPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no > "$WORK/redis.log" &
REDIS=$!
PIDS+=($REDIS)
for _ in $(seq 100); do redis-cli -p "$RPORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
start=$(date +%s.%N)
$B redis-load "$RPORT" "$ROWS"
redis_load=$(echo "$(date +%s.%N) - $start" | bc)

LINES=()
for clients in 1 2; do
  for system in parasol redis; do
    target=$([[ $system == parasol ]] && echo "$GRPC" || echo "$RPORT")
    line=$($B "$system" "$target" "$ROWS" "$KEYS" "$REQUESTS" "$clients")
    echo "$line" >&2
    LINES+=("$line")
  done
done
parasol_rss=$(rss_mib $SERVE)
redis_rss=$(rss_mib $REDIS)

python3 - "$parasol_load" "$redis_load" "$parasol_rss" "$redis_rss" "${LINES[@]}" <<'PY'
import json, sys, datetime
pl, rl, prss, rrss = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
runs = [json.loads(l) for l in sys.argv[5:]]
by = {(r["system"], r["clients"]): r for r in runs}
out = {"date": datetime.date.today().isoformat(), "load_seconds": {"parasol": pl, "redis": rl},
       "rss_mib": {"parasol": prss, "redis": rrss}, "runs": runs}
json.dump(out, open("bench/results/lookup.json", "w"), indent=1)
with open("bench/results/lookup.md", "w") as f:
    r0 = runs[0]
    f.write(f"{r0['rows']:,} rows × 8 floats, {r0['keys']:,} random keys per request, loopback\n\n")
    f.write("| system | clients | p50 ms | p99 ms | requests/s | answers checked |\n|---|---|---|---|---|---|\n")
    for r in runs:
        f.write(f"| {r['system']} | {r['clients']} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['requests_per_s']:.1f} | {r['answers_checked']} |\n")
    for c in (1, 2):
        p, r = by[("parasol", c)], by[("redis", c)]
        f.write(f"\n{c} client(s): parasol/redis requests/s {p['requests_per_s'] / r['requests_per_s']:.1f}×, "
                f"p99 {p['p99_ms']:.1f} ms vs {r['p99_ms']:.1f} ms")
    f.write(f"\n\nLoad: parasol serve {pl:.1f} s (read + index + warm-up, until the port opens), "
            f"redis {rl:.1f} s (MSET pipelined). RSS: parasol serve {prss} MiB, redis {rrss} MiB.\n")
print(open("bench/results/lookup.md").read())
PY
