#!/usr/bin/env bash
# Learning from Redis at full speed, one run: ROWS generated rows loaded into a Redis stream
# (Debian redis-server, started here), then drained twice — by a bare consumer (XREADGROUP +
# XACK, nothing else: the Redis-side ceiling) and by `parasol stream` learning LR — each through
# its own consumer group. Writes bench/results/stream.{json,md}. The parasol figure is wall time
# from launch until its checkpoint holds every row (start-up and checkpoints included).
# Usage: bench/stream_bench.sh [ROWS, default 1000000] [FEATURES per row, default 20]
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-1000000}
FEATURES=${2:-20}
./scripts/deps.sh --bench
TARGET=parasol ./scripts/build.sh >/dev/null
TARGET=stream_bench ./scripts/build.sh >/dev/null
P=./build/src/cli/parasol
B=./build/bench/stream_bench
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
mkdir -p bench/results

$P gen --rows "$ROWS" --features "$FEATURES" --out "$WORK/rows.svm" 2>/dev/null
RPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no > "$WORK/redis.log" &
PIDS+=($!)
for _ in $(seq 100); do redis-cli -p "$RPORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
echo "== loading $ROWS rows into Redis" >&2
$B load "$RPORT" ev "$WORK/rows.svm"

echo "== bare consumer" >&2
bare=$($B drain "$RPORT" ev bare "$ROWS")

echo "== parasol stream (lr)" >&2
start=$(date +%s.%N)
$P stream --source "redis://127.0.0.1:$RPORT/ev" --out "$WORK/model" --checkpoint-every 1 \
  2> "$WORK/stream.log" &
STREAM=$!
PIDS+=($STREAM)
examples() {  # cheap enough to poll often on a loaded machine
  local n
  n=$(grep -o '"examples":[0-9]*' "$WORK/model/checkpoint/stream.json" 2>/dev/null | cut -d: -f2)
  echo "${n:-0}"
}
while [[ $(examples) -lt $ROWS ]]; do sleep 0.2; done
seconds=$(echo "$(date +%s.%N) - $start" | bc)
# The trainer's own CPU time (user + system), which other processes' load moves much less than
# wall time on a shared machine.
cpu=$(awk -v hz="$(getconf CLK_TCK)" '{printf "%.3f", ($14 + $15) / hz}' "/proc/$STREAM/stat")
kill -TERM $STREAM
wait $STREAM
tail -2 "$WORK/stream.log" >&2

python3 - "$ROWS" "$seconds" "$bare" "$(nproc)" "$(cut -d' ' -f1 /proc/loadavg)" "$cpu" <<'PY'
import datetime, json, sys
rows, seconds, bare, cores, load = int(sys.argv[1]), float(sys.argv[2]), json.loads(sys.argv[3]), sys.argv[4], sys.argv[5]
cpu = float(sys.argv[6])
p_rate = rows / seconds
b_rate = bare["entries"] / bare["seconds"]
out = {"date": datetime.date.today().isoformat(), "rows": rows, "cores": cores, "load_average": load,
       "parasol_examples_per_s": p_rate, "bare_consumer_entries_per_s": b_rate,
       "ratio": p_rate / b_rate, "parasol_cpu_seconds": cpu,
       "parasol_examples_per_cpu_s": rows / cpu}
json.dump(out, open("bench/results/stream.json", "w"), indent=1)
with open("bench/results/stream.md", "w") as f:
    f.write(f"# parasol stream from Redis ({out['date']}, {rows} rows, {cores} cores, load {load})\n\n"
            f"| reader | per second |\n|---|---|\n"
            f"| parasol stream, LR (read + parse + score + learn + checkpoint + XACK) | {p_rate:,.0f} |\n"
            f"| bare consumer (XREADGROUP + XACK) | {b_rate:,.0f} |\n\n"
            f"Ratio: {p_rate / b_rate:.2f} of the Redis-side ceiling. parasol stream used {cpu:.2f} s of CPU "
            f"({rows / cpu:,.0f} examples per CPU-second).\n")
print(open("bench/results/stream.md").read())
PY
