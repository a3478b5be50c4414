#!/usr/bin/env bash
# Distributed training throughput: `parasol cluster` with 1×1, 2×2 and 4×4 server × worker
# processes against `parasol train` on the same data, one run, with the test AUC of each.
#   bench/cluster_bench.sh [ROWS] [FEATURES] [CONSISTENCY]   (defaults 400000 40 bsp)
# Writes bench/results/cluster.{json,md}.
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-400000}
FEATURES=${2:-40}
MODE=${3:-bsp}
./scripts/deps.sh
command -v /usr/bin/time >/dev/null || { export DEBIAN_FRONTEND=noninteractive; apt-get install -y -qq time >/dev/null; }
TARGET=parasol ./scripts/build.sh >/dev/null
P=./build/src/cli/parasol
W=bench/results/cluster-work
mkdir -p "$W"
[[ -f "$W/all-$ROWS.svm" ]] || $P gen --rows "$ROWS" --features "$FEATURES" --seed 11 --out "$W/all-$ROWS.svm"
TRAIN=$((ROWS * 8 / 10))
head -n "$TRAIN" "$W/all-$ROWS.svm" > "$W/train.svm"
tail -n +"$((TRAIN + 1))" "$W/all-$ROWS.svm" > "$W/test.svm"
COMMON="--train $W/train.svm --optimizer adagrad --epochs 1 --batch-size 256"

rows_json=()
run() {  # run NAME CMD...
  local name=$1; shift
  /usr/bin/time -f "%e" -o "$W/$name.time" "$@" > "$W/$name.log" 2>&1
  local wall auc
  wall=$(cat "$W/$name.time")
  auc=$($P eval --model "$W/$name" --data "$W/test.svm" --json | sed 's/.*"auc":\([0-9.]*\).*/\1/')
  echo "$name: ${wall}s, auc $auc" >&2
  rows_json+=("{\"run\": \"$name\", \"wall_s\": $wall, \"examples_per_s\": $(python3 -c "print(round($TRAIN / $wall))"), \"test_auc\": $auc}")
}
run local_train_2threads $P train $COMMON --out "$W/local_train_2threads"
run cluster_1x1 $P cluster --servers 1 --workers 1 --consistency "$MODE" $COMMON --out "$W/cluster_1x1"
run cluster_2x2 $P cluster --servers 2 --workers 2 --consistency "$MODE" $COMMON --out "$W/cluster_2x2"
run cluster_4x4 $P cluster --servers 4 --workers 4 --consistency "$MODE" $COMMON --out "$W/cluster_4x4"
printf '{"train_rows": %d, "features": %d, "consistency": "%s", "cores": %d, "runs": [%s]}\n' \
  "$TRAIN" "$FEATURES" "$MODE" "$(nproc)" "$(IFS=,; echo "${rows_json[*]}")" > bench/results/cluster.json
python3 - <<'PY'
import json
r = json.load(open("bench/results/cluster.json"))
base = r["runs"][0]["examples_per_s"]
md = [f"# Distributed training, {r['train_rows']} rows x {r['features']} features, {r['consistency']}, {r['cores']} cores", "",
      "| run | wall s | examples/s | vs local | test AUC |", "|---|---|---|---|---|"]
for x in r["runs"]:
    md.append(f"| {x['run']} | {x['wall_s']} | {x['examples_per_s']:,} | {x['examples_per_s'] / base:.2f} | {x['test_auc']:.4f} |")
open("bench/results/cluster.md", "w").write("\n".join(md) + "\n")
print("\n".join(md))
PY
