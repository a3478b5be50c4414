#!/usr/bin/env bash
# Predict throughput and tail latency of `parasol serve` over REST (TF Serving :predict, wrk) and
# gRPC (Predict, bench/grpc_predict_bench.cc) for the churn LR and FM models, one row per
# request, at 1 / 8 / 32 / 64 concurrent connections; in the same run, a trivial cpp-httplib
# JSON handler (bench/http_bench.cc) at the same connections as the reference: what the HTTP
# transport alone reaches on this machine. The server runs with --rest-threads 64 so that no
# REST connection queues for a thread. Writes bench/results/predict.{json,md}.
# Usage: bench/predict_bench.sh [SECONDS per point, a whole number (wrk), default 3]
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-3}
CONCURRENCY=(1 8 32 64)
./scripts/deps.sh --bench
TARGET=parasol ./scripts/build.sh >/dev/null
TARGET=grpc_predict_bench ./scripts/build.sh >/dev/null
TARGET=http_bench ./scripts/build.sh >/dev/null
source bench/wrk_lib.sh  # P, WORK, PIDS (killed on exit), free_port, load, CHURN_ROW
write_predict_lua "$WORK/predict.lua"
# The same row as field=value arguments for the gRPC generator (values as CSV text).
mapfile -t FIELDS < <(python3 -c '
import json, sys
for k, v in json.loads(sys.argv[1]).items(): print(f"{k}={v}")' "$CHURN_ROW")

ROWS=()
record() {  # NAME API MODEL C "rps p50 p99 errors"
  read -r rps p50 p99 errs <<< "$5"
  echo "$1 $2 $3 c=$4: $rps req/s, p50 $p50 ms, p99 $p99 ms, errors $errs" >&2
  ROWS+=("$1|$2|$3|$4|$rps|$p50|$p99|$errs")
}

port=$(free_port)
./build/bench/http_bench httplib "$port" 64 &
PIDS+=($!)
sleep 0.5
for c in "${CONCURRENCY[@]}"; do
  record "trivial handler (cpp-httplib)" REST - "$c" \
    "$(load "http://127.0.0.1:$port/v1/models/x:predict" "$c")"
done
kill "${PIDS[-1]}"

mkdir -p "$WORK/lr" "$WORK/fm"
$P train --config data/churn/model.yaml --train data/churn/train.csv --out "$WORK/lr/1" 2>/dev/null
$P train --config data/churn/fm.yaml --train data/churn/train.csv --out "$WORK/fm/1" 2>/dev/null
for model in lr fm; do
  $P serve --model-base "$WORK/$model" --model-name churn --rest-port 0 --port 0 \
    --rest-threads 64 > "$WORK/serve.out" 2>/dev/null &
  pid=$!
  PIDS+=($pid)
  for _ in $(seq 50); do grep -qs "gRPC listening" "$WORK/serve.out" && break; sleep 0.1; done
  rest=$(sed -n 's/^REST listening on .*:\([0-9]*\)$/\1/p' "$WORK/serve.out")
  grpc=$(sed -n 's/^gRPC listening on \(.*\)$/\1/p' "$WORK/serve.out")
  name="parasol serve, churn $([[ $model == lr ]] && echo LR || echo 'FM k=4')"
  for c in "${CONCURRENCY[@]}"; do
    record "$name" REST "$model" "$c" \
      "$(load "http://127.0.0.1:$rest/v1/models/churn:predict" "$c" "$WORK/predict.lua")"
  done
  for c in "${CONCURRENCY[@]}"; do
    record "$name" gRPC "$model" "$c" \
      "$(./build/bench/grpc_predict_bench "$grpc" churn "$c" "$SECS" "${FIELDS[@]}")"
  done
  kill "$pid"
  wait "$pid" 2>/dev/null || true
done

python3 - "$SECS" "$(nproc)" "${ROWS[@]}" <<'PY'
import json, sys, datetime
secs, cores, rows = float(sys.argv[1]), int(sys.argv[2]), [r.split("|") for r in sys.argv[3:]]
out = [dict(server=r[0], api=r[1], connections=int(r[3]), requests_per_s=float(r[4]),
            p50_ms=float(r[5]), p99_ms=float(r[6]), errors=int(r[7])) for r in rows]
json.dump({"date": datetime.date.today().isoformat(), "seconds_per_point": secs, "cores": cores,
           "results": out}, open("bench/results/predict.json", "w"), indent=1)
with open("bench/results/predict.md", "w") as f:
    f.write(f"{cores} cores, {secs:g} s per point, one row per request, loopback.\n\n")
    f.write("| server | API | connections | requests/s | p50 ms | p99 ms | errors |\n"
            "|---|---|---|---|---|---|---|\n")
    for o in out:
        f.write(f"| {o['server']} | {o['api']} | {o['connections']} | {o['requests_per_s']:,.0f} "
                f"| {o['p50_ms']:.3f} | {o['p99_ms']:.3f} | {o['errors']} |\n")
print(open("bench/results/predict.md").read())
PY
