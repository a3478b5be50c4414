#!/usr/bin/env bash
# Model-server HTTP figures, one run: (1) the HTTP library choice — a trivial JSON handler on
# cpp-httplib vs Boost.Beast (bench/http_bench.cc); (2) `parasol serve` answering TF Serving
# :predict for the churn LR and FM models (one row per request), without and with dynamic
# batching. Load: wrk (Debian), keep-alive
# connections on loopback, at several concurrencies. Writes bench/results/serve.{json,md}.
# Usage: bench/serve_bench.sh [SECONDS per point, default 5]
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-5}
./scripts/deps.sh --bench
TARGET=parasol ./scripts/build.sh >/dev/null
TARGET=http_bench ./scripts/build.sh >/dev/null
P=./build/src/cli/parasol
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
mkdir -p bench/results

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# wrk URL CONNECTIONS [LUA] → "requests/s p50_ms p99_ms"
load() {
  local url=$1 conns=$2 script=${3:-}
  local threads=$(( conns < 2 ? 1 : 2 ))
  local args=(-t"$threads" -c"$conns" -d"${SECS}s" --latency)
  [[ -n "$script" ]] && args+=(-s "$script")
  wrk "${args[@]}" "$url" | python3 -c '
import re, sys
text = sys.stdin.read()
def ms(label):
    m = re.search(r"^\s+" + label + r"\s+([\d.]+)(us|ms|s)", text, re.M)
    if not m: return float("nan")
    v, unit = float(m.group(1)), m.group(2)
    return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
p50, p99 = ms("50%"), ms("99%")
print(f"{rps:.0f} {p50:.3f} {p99:.3f} {errors.group(1) if errors else 0}")'
}

ROWS=()
measure() {  # NAME URL [LUA]
  for c in 1 8 16; do
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

mkdir -p "$WORK/base" "$WORK/fm"
$P train --config data/churn/model.yaml --train data/churn/train.csv --out "$WORK/base/1" 2>/dev/null
$P train --config data/churn/fm.yaml --train data/churn/train.csv --out "$WORK/fm/1" 2>/dev/null
cat > "$WORK/predict.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"instances": [{"female": 0, "senior_citizen": 0, "partner": 1, "dependents": 0, "tenure": 45, "phone_service": 1, "multiple_lines": "No", "internet_service": "DSL", "online_security": "Yes", "online_backup": "No", "device_protection": "Yes", "tech_support": "Yes", "streaming_tv": "No", "streaming_movies": "No", "contract": "One year", "paperless_billing": 0, "payment_method": "Bank transfer (automatic)", "monthly_charges": 42.3, "total_charges": 1840.75}]}'
LUA
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
