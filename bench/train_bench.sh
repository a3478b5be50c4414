#!/usr/bin/env bash
# Training benchmark: Parasol against liblinear (Debian liblinear-tools, L2-regularised LR) on
# the same data in one run. Writes bench/results/train.json and train.md.
#   bench/train_bench.sh [ROWS] [FEATURES]      (defaults: 1000000 rows, 40 features per row)
# Data: `parasol gen` (planted logistic model, power-law feature frequencies), 80/20 split, and
# the bundled churn data (tests/ export it to libsvm with the same features for liblinear).
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-1000000}
FEATURES=${2:-40}
./scripts/deps.sh --test
command -v /usr/bin/time >/dev/null || { export DEBIAN_FRONTEND=noninteractive; apt-get install -y -qq time python3 >/dev/null; }
command -v python3 >/dev/null || { export DEBIAN_FRONTEND=noninteractive; apt-get install -y -qq python3 >/dev/null; }
./scripts/build.sh >/dev/null
P=./build/src/cli/parasol
W=bench/results/work
mkdir -p "$W"
rm -f "$W"/*.cache

# run NAME CMD...: runs CMD REPEAT times under /usr/bin/time (the machines are noisy), records the
# median wall seconds and the largest peak RSS (KiB).
REPEAT=${REPEAT:-3}
declare -A WALL RSS
run() {
  local name=$1; shift
  local walls=() rss=0 w m
  for ((i = 0; i < REPEAT; i++)); do
    /usr/bin/time -f "%e %M" -o "$W/$name.time" "$@" > "$W/$name.out" 2> "$W/$name.err"
    read -r w m < "$W/$name.time"
    walls+=("$w"); (( m > rss )) && rss=$m
  done
  WALL[$name]=$(printf '%s\n' "${walls[@]}" | sort -g | sed -n "$(( (REPEAT + 1) / 2 ))p")
  RSS[$name]=$rss
  echo "$name: median ${WALL[$name]} s of ${walls[*]}, peak ${RSS[$name]} KiB" >&2
}
auc_of() {  # auc_of PROBS_FILE LABELS_FILE (one per line) -> Mann-Whitney AUC and logloss
  python3 - "$1" "$2" <<'PY'
import math, sys
p = [float(x) for x in open(sys.argv[1])]
y = [int(float(x) > 0) for x in open(sys.argv[2])]
order = sorted(range(len(p)), key=lambda i: p[i])
rank = [0.0] * len(p); i = 0
while i < len(order):
    j = i
    while j + 1 < len(order) and p[order[j + 1]] == p[order[i]]: j += 1
    for k in range(i, j + 1): rank[order[k]] = (i + j) / 2 + 1
    i = j + 1
pos = sum(y); neg = len(y) - pos
auc = (sum(r for r, t in zip(rank, y) if t) - pos * (pos + 1) / 2) / (pos * neg)
eps = 1e-15
ll = -sum(math.log(min(max(q, eps), 1 - eps)) if t else math.log(min(max(1 - q, eps), 1 - eps)) for q, t in zip(p, y)) / len(y)
print(f"{auc:.6f} {ll:.6f}")
PY
}

echo "== data: $ROWS rows x $FEATURES features" >&2
if [[ ! -f "$W/gen-$ROWS-$FEATURES.svm" ]]; then
  $P gen --rows "$ROWS" --features "$FEATURES" --seed 7 --out "$W/gen-$ROWS-$FEATURES.svm"
fi
TRAIN_ROWS=$((ROWS * 8 / 10))
head -n "$TRAIN_ROWS" "$W/gen-$ROWS-$FEATURES.svm" > "$W/train.svm"
tail -n +"$((TRAIN_ROWS + 1))" "$W/gen-$ROWS-$FEATURES.svm" > "$W/test.svm"
cut -d' ' -f1 "$W/test.svm" > "$W/test.labels"

T="--train $W/train.svm --model lr --optimizer ftrl --lr 0.05 --l2 0.0001"
run parasol_text_1ep $P train $T --epochs 1 --out "$W/m1"
REPEAT=1 run parasol_cache_write $P train $T --epochs 1 --out "$W/m2" --cache "$W/train.cache"
run parasol_cache_1ep $P train $T --epochs 1 --out "$W/m3" --cache "$W/train.cache"
run parasol_text_5ep $P train $T --epochs 5 --early-stopping 0 --out "$W/m5"
# Per-epoch rate of the in-memory epochs (2..5), from the metrics log of the last 5-epoch run.
MEM_RATE=$(python3 -c "
import json, statistics
rates = [json.loads(l)['examples_per_sec'] for l in open('$W/m5/metrics.jsonl') if '\"epoch\"' in l]
print(round(statistics.median(rates[1:])))")
for m in m1 m3 m5; do
  $P predict --model "$W/$m" --data "$W/test.svm" --out "$W/$m.pred"
done
REPEAT=1 run liblinear_train liblinear-train -s 0 -c 1 "$W/train.svm" "$W/liblinear.model"
REPEAT=1 run liblinear_predict liblinear-predict -b 1 "$W/test.svm" "$W/liblinear.model" "$W/liblinear.raw"
# liblinear's first line names the label order ("labels 1 0" or "labels 0 1").
python3 - "$W/liblinear.raw" > "$W/liblinear.pred" <<'PY'
import sys
lines = open(sys.argv[1]).read().split("\n")
labels = lines[0].split()[1:]
col = 1 + labels.index("1")
for l in lines[1:]:
    if l: print(l.split()[col])
PY
read -r AUC1 LL1 <<< "$(auc_of "$W/m1.pred" "$W/test.labels")"
read -r AUCC LLC <<< "$(auc_of "$W/m3.pred" "$W/test.labels")"
read -r AUC5 LL5 <<< "$(auc_of "$W/m5.pred" "$W/test.labels")"
read -r AUCL LLL <<< "$(auc_of "$W/liblinear.pred" "$W/test.labels")"

echo "== bundled churn data" >&2
# The liblinear comparison test exports the features Parasol's LR sees as libsvm; reuse them.
rm -rf "$W/churn" && mkdir -p "$W/churn"
PARASOL_KEEP_TEST_OUTPUT=1 TEST_TMPDIR="$W/churn" ./build/tests/churn_baseline_test --gtest_filter="*LrAndFm*" > "$W/churn/test.out"
CHURN_AUCS=$(grep "churn test AUC" "$W/churn/test.out")
CD=$(ls -d "$W"/churn/churn_baseline_*)
run churn_parasol_lr $P train --config data/churn/model.yaml --train data/churn/train.csv --out "$W/churn-lr"
run churn_liblinear liblinear-train -q -s 0 -c 1 "$CD/lr-train.svm" "$W/churn/ll.model"
echo "$CHURN_AUCS" >&2

python3 - "$TRAIN_ROWS" <<PY
import json, sys
rows = int(sys.argv[1])
def entry(wall, rss, auc, ll, examples):
    wall = float(wall)
    return {"wall_s": wall, "examples_per_s": round(examples / wall) if wall > 0 else None,
            "peak_rss_mib": round(int(rss) / 1024, 1), "test_auc": float(auc), "test_logloss": float(ll)}
r = {
  "machine": {"cores": $(nproc)},
  "data": {"generator": "parasol gen --features $FEATURES --seed 7", "train_rows": rows,
           "test_rows": $ROWS - rows},
  "parasol_one_pass_text": entry("${WALL[parasol_text_1ep]}", "${RSS[parasol_text_1ep]}", "$AUC1", "$LL1", rows),
  "parasol_one_pass_cache": entry("${WALL[parasol_cache_1ep]}", "${RSS[parasol_cache_1ep]}", "$AUCC", "$LLC", rows),
  "parasol_5_epochs_text": entry("${WALL[parasol_text_5ep]}", "${RSS[parasol_text_5ep]}", "$AUC5", "$LL5", 5 * rows),
  "parasol_cache_build_s": float("${WALL[parasol_cache_write]}"),
  "liblinear_l2lr_c1": entry(float("${WALL[liblinear_train]}") + float("${WALL[liblinear_predict]}"),
                             "${RSS[liblinear_train]}", "$AUCL", "$LLL", rows),
}
r["parasol_in_memory_epoch_examples_per_s"] = $MEM_RATE
aucs = "$CHURN_AUCS".split(":")[1].replace(",", "").split()
r["churn"] = {"rows_train": 5634, "rows_test": 1409,
              "test_auc": {"liblinear": float(aucs[1]), "parasol_lr": float(aucs[4]), "parasol_fm": float(aucs[7])},
              "train_wall_s": {"parasol_lr_50_epochs": float("${WALL[churn_parasol_lr]}"),
                               "liblinear": float("${WALL[churn_liblinear]}")}}
r["ratios"] = {
  "liblinear_wall_over_parasol_text": round(r["liblinear_l2lr_c1"]["wall_s"] / r["parasol_one_pass_text"]["wall_s"], 2),
  "auc_parasol_text_minus_liblinear": round(r["parasol_one_pass_text"]["test_auc"] - r["liblinear_l2lr_c1"]["test_auc"], 4),
}
json.dump(r, open("bench/results/train.json", "w"), indent=2)
md = ["# Training benchmark", "", f"{rows} train rows, {$ROWS - rows} test rows, $FEATURES features per row, {r['machine']['cores']} cores.", "",
      "| run | wall s | examples/s | peak MiB | test AUC | test logloss |", "|---|---|---|---|---|---|"]
for k in ["parasol_one_pass_text", "parasol_one_pass_cache", "parasol_5_epochs_text", "liblinear_l2lr_c1"]:
    e = r[k]
    md.append(f"| {k} | {e['wall_s']:.2f} | {e['examples_per_s']:,} | {e['peak_rss_mib']} | {e['test_auc']:.4f} | {e['test_logloss']:.4f} |")
md += ["", f"In-memory epochs (2-5 of the 5-epoch run): {r['parasol_in_memory_epoch_examples_per_s']:,} examples/s (median).",
       "", "Bundled churn data (test AUC): " + ", ".join(f"{k} {v:.4f}" for k, v in r["churn"]["test_auc"].items()) +
       f"; train wall: parasol LR 50 epochs {r['churn']['train_wall_s']['parasol_lr_50_epochs']:.2f} s, liblinear {r['churn']['train_wall_s']['liblinear']:.2f} s."]
md += ["", f"liblinear wall / Parasol one-pass wall: {r['ratios']['liblinear_wall_over_parasol_text']}x; "
       f"AUC difference (Parasol - liblinear): {r['ratios']['auc_parasol_text_minus_liblinear']:+.4f}"]
open("bench/results/train.md", "w").write("\n".join(md) + "\n")
print("\n".join(md))
PY
