#!/usr/bin/env bash
# Model-server HTTP figures, one run: (1) the HTTP library choice — a trivial JSON handler on
# cpp-httplib vs Boost.Beast (bench/http_bench.cc); (2) `parasol serve` answering TF Serving
# :predict for the churn LR and FM models (one row per request), without and with dynamic
# batching; (3) the same for a DeepFM (embeddings 16, MLP 400-400-400) at 1, 8, 32 and 64
# connections, where a batch turns many one-row passes through the layers into one GEMM. Load: wrk
# (Debian), keep-alive connections on loopback. Writes bench/results/serve.{json,md}.
# Usage: bench/serve_bench.sh [SECONDS per point, default 5]
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-5}
./scripts/deps.sh --bench
TARGET=parasol ./scripts/build.sh >/dev/null
TARGET=http_bench ./scripts/build.sh >/dev/null
source bench/wrk_lib.sh  # P, WORK, PIDS (killed on exit), free_port, load, CHURN_ROW

ROWS=()
CONNS="1 8 16"
measure() {  # NAME URL [LUA]: one point per connection count in CONNS
  for c in $CONNS; do
    read -r rps p50 p99 errs < <(load "$2" "$c" "${3:-}")
    echo "$1 c=$c: $rps req/s, p50 $p50 ms, p99 $p99 ms, non-2xx $errs" >&2
    ROWS+=("$1|$c|$rps|$p50|$p99|$errs")
  done
}

for lib in httplib beast; do
  port=$(free_port)
  ./build/bench/http_bench "$lib" "$port" "$([[ $lib == beast ]] && echo 2 || echo 16)" &
  PIDS+=($!)
  sleep 0.5
  measure "trivial handler, $lib" "http://127.0.0.1:$port/v1/models/x:predict"
  kill "${PIDS[-1]}"
done

mkdir -p "$WORK/base" "$WORK/fm" "$WORK/deepfm"
$P train --config data/churn/model.yaml --train data/churn/train.csv --out "$WORK/base/1" 2>/dev/null
$P train --config data/churn/fm.yaml --train data/churn/train.csv --out "$WORK/fm/1" 2>/dev/null
$P train --config data/churn/deep.yaml --model deepfm --train data/churn/train.csv --epochs 2 \
  --out "$WORK/deepfm/1" 2>/dev/null
write_predict_lua "$WORK/predict.lua"
serve() {  # NAME MODEL_BASE [serve flags...]: measures :predict with one row per request
  local name=$1 base=$2
  shift 2
  $P serve --model-base "$base" --model-name churn --rest-port 0 --port 0 "$@" \
    > "$WORK/serve.out" 2>/dev/null &
  local pid=$!
  PIDS+=($pid)
  for _ in $(seq 50); do grep -qs listening "$WORK/serve.out" && break; sleep 0.1; done
  local port
  port=$(sed -n 's/^REST listening on .*:\([0-9]*\)$/\1/p' "$WORK/serve.out")
  measure "$name" "http://127.0.0.1:$port/v1/models/churn:predict" "$WORK/predict.lua"
  kill "$pid"
  wait "$pid" 2>/dev/null || true
}
serve "parasol serve :predict, churn LR, 1 row" "$WORK/base"
serve "same, dynamic batching (32 rows, 200 us)" "$WORK/base" --max-batch-size 32 \
  --batch-timeout-micros 200
serve "parasol serve :predict, churn FM k=4, 1 row" "$WORK/fm"
serve "same, dynamic batching (32 rows, 200 us)" "$WORK/fm" --max-batch-size 32 \
  --batch-timeout-micros 200
CONNS="1 8 32 64"
serve "parasol serve :predict, churn DeepFM 400-400-400, 1 row" "$WORK/deepfm"
serve "same, dynamic batching (64 rows, 200 us)" "$WORK/deepfm" --max-batch-size 64 \
  --batch-timeout-micros 200
serve "same, dynamic batching (64 rows, 1000 us)" "$WORK/deepfm" --max-batch-size 64 \
  --batch-timeout-micros 1000

python3 - "${ROWS[@]}" <<'PY'
import json, sys, datetime
rows = [r.split("|") for r in sys.argv[1:]]
out = [dict(server=r[0], connections=int(r[1]), requests_per_s=float(r[2]), p50_ms=float(r[3]),
            p99_ms=float(r[4]), non_2xx=int(r[5])) for r in rows]
json.dump({"date": datetime.date.today().isoformat(), "results": out},
          open("bench/results/serve.json", "w"), indent=1)
with open("bench/results/serve.md", "w") as f:
    f.write("| server | connections | requests/s | p50 ms | p99 ms | non-2xx |\n|---|---|---|---|---|---|\n")
    for o in out:
        f.write(f"| {o['server']} | {o['connections']} | {o['requests_per_s']:,.0f} | {o['p50_ms']:.3f} | {o['p99_ms']:.3f} | {o['non_2xx']} |\n")
print(open("bench/results/serve.md").read())
PY
