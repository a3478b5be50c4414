#!/usr/bin/env bash
# Deep-model benchmark: Parasol (LR, FM, DeepFM, DCN-v2) against PyTorch 1.13 (Debian's
# python3-torch: DeepFM, DCN-v2, bench/deep_torch.py) on the same files in one run, plus an sgemm
# reference rate and the bundled churn data. Writes bench/results/deep.json and deep.md.
#   bench/deep_bench.sh [ROWS]      (default 2000000 rows, 39 fields, vocabulary 1M)
# Environment: BATCHES ("1024 4096"), DEEP_MODELS ("deepfm dcn"), EPOCHS (1), VOCAB (1000000),
# CORETYPES (OpenBLAS core types PyTorch runs with: "SkylakeX default"; default = what OpenBLAS
# picks by itself, Haswell/AVX2 on these EPYCs), DEFAULT_CORE_BATCHES / DEFAULT_CORE_MODELS (what
# runs with the default core type too; "1024" / all deep models), REUSE (1: keep the figures of
# runs an earlier call finished, for the same ROWS), PERF (1: perf-record Parasol's DeepFM at the first batch size).
# Data: `parasol gen --fields --teacher deep` (labels from a random two-layer network over field
# embeddings, so interactions matter), 80/20 split. Both sides train one pass in file order on 2
# threads with Adam (lr 0.001) for rows and dense layers; PyTorch's data is parsed to numpy
# arrays before the timed region, Parasol trains and predicts from its binary cache (parsed
# blocks), so neither side's figure includes text parsing. CPU time per training example
# (Parasol: the whole train process; PyTorch: its training loop) is reported beside the rates:
# other processes on the cores disturb it far less than wall time.
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-2000000}
FIELDS=39
VOCAB=${VOCAB:-1000000}
EPOCHS=${EPOCHS:-1}
BATCHES=${BATCHES:-"1024 4096"}
DEEP_MODELS=${DEEP_MODELS:-"deepfm dcn"}
CORETYPES=${CORETYPES:-"SkylakeX default"}
DEFAULT_CORE_BATCHES=${DEFAULT_CORE_BATCHES:-"1024"}
DEFAULT_CORE_MODELS=${DEFAULT_CORE_MODELS:-$DEEP_MODELS}
PY=/usr/bin/python3  # Debian's, where python3-torch lives
need=()
[[ -x /usr/bin/time ]] || need+=(time)
$PY -c "import torch, numpy" 2>/dev/null || need+=(python3-torch python3-numpy)
[[ "${PERF:-0}" == 1 ]] && ! command -v perf >/dev/null && need+=(linux-perf)
if ((${#need[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
TARGET=parasol ./scripts/build.sh >/dev/null
P=./build/src/cli/parasol
W=bench/results/work/deep-$ROWS-$VOCAB  # split, caches and arrays per data set
mkdir -p "$W"
echo "== $(date -u +%FT%TZ) load: $(uptime | sed 's/.*load average: //')" >&2

declare -A WALL RSS CPU
timed() {  # timed NAME CMD...: wall seconds, peak RSS (KiB) and CPU seconds of CMD (/usr/bin/time)
  local name=$1; shift
  if [[ "${REUSE:-0}" == 1 && -s "$W/$name.time" ]]; then  # a finished run of an earlier call
    read -r WALL[$name] RSS[$name] CPU[$name] < "$W/$name.time"
    echo "$name: reused ${WALL[$name]} s, ${RSS[$name]} KiB" >&2
    return
  fi
  /usr/bin/time -f "%e %M %U %S" -o "$W/$name.time" "$@" > "$W/$name.out" 2> "$W/$name.err" || {
    tail -5 "$W/$name.err" >&2; return 1; }
  local user sys
  read -r WALL[$name] RSS[$name] user sys < "$W/$name.time"
  CPU[$name]=$($PY -c "print(round($user + $sys, 2))")
  echo "${WALL[$name]} ${RSS[$name]} ${CPU[$name]}" > "$W/$name.time"
  echo "$name: ${WALL[$name]} s, ${RSS[$name]} KiB, ${CPU[$name]} CPU s" >&2
}
auc_of() {  # auc_of PRED LABELS [logit] -> AUC (ties as half) and logloss
  $PY - "$@" <<'PY'
import sys, numpy as np
p = np.loadtxt(sys.argv[1], dtype=np.float64)
y = np.loadtxt(sys.argv[2], dtype=np.float64) > 0
if len(sys.argv) > 3: p = 1 / (1 + np.exp(-p))
order = np.argsort(p, kind="mergesort")
_, inv, counts = np.unique(p[order], return_inverse=True, return_counts=True)
ranks = np.empty(len(p)); ranks[order] = (np.cumsum(counts) - (counts - 1) / 2.0)[inv]
pos = y.sum(); neg = len(y) - pos
auc = (ranks[y].sum() - pos * (pos + 1) / 2) / (pos * neg)
q = np.clip(p, 1e-15, 1 - 1e-15)
print(f"{auc:.6f} {-np.mean(np.where(y, np.log(q), np.log(1 - q))):.6f}")
PY
}

# ---- data
DATA="$W/gen"
if [[ ! -f "$DATA.ffm" ]]; then
  echo "== data: $ROWS rows x $FIELDS fields, vocabulary $VOCAB, deep teacher" >&2
  $P gen --rows "$ROWS" --features $FIELDS --vocab "$VOCAB" --seed 7 --fields --teacher deep \
    --out "$DATA.ffm" --logits "$DATA.logits"
  rm -f "$W"/train.* "$W"/test.*
fi
TRAIN_ROWS=$((ROWS * 8 / 10))
if [[ ! -f "$W/test.npz" ]]; then
  head -n "$TRAIN_ROWS" "$DATA.ffm" > "$W/train.ffm"
  tail -n +"$((TRAIN_ROWS + 1))" "$DATA.ffm" > "$W/test.ffm"
  cut -d' ' -f1 "$W/test.ffm" > "$W/test.labels"
  tail -n +"$((TRAIN_ROWS + 1))" "$DATA.logits" > "$W/test.logits"
  # Parsed once, outside every timed region: Parasol's binary caches, PyTorch's numpy arrays.
  rm -f "$W/train.cache" "$W/test.cache"
  $P train --train "$W/train.ffm" --cache "$W/train.cache" --model lr --threads 2 --out "$W/cache-m" >/dev/null
  $P train --train "$W/test.ffm" --cache "$W/test.cache" --model lr --threads 2 --out "$W/cache-m" >/dev/null
  $PY bench/deep_torch.py parse "$W/train.ffm" "$W/train.npz"
  $PY bench/deep_torch.py parse "$W/test.ffm" "$W/test.npz"
fi
read -r TEACHER_AUC TEACHER_LL <<< "$(auc_of "$W/test.logits" "$W/test.labels" logit)"
echo "teacher (Bayes) test AUC $TEACHER_AUC logloss $TEACHER_LL" >&2

# ---- sgemm reference (numpy over Debian's OpenBLAS, 2 threads), the MLP's first-layer shape
declare -A GEMM
for ct in $CORETYPES; do
  env=(OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=2)
  [[ $ct != default ]] && env+=(OPENBLAS_CORETYPE=$ct)
  for shape in "1024 624 400" "1024 400 400" "512 624 400"; do
    GEMM["$ct ${shape}"]=$(env "${env[@]}" $PY bench/deep_torch.py gemm $shape)
    echo "sgemm $ct $shape: ${GEMM["$ct ${shape}"]} GFLOP/s" >&2
  done
done

# ---- Parasol
RESULTS=()  # lines: side model batch coretype train_eps predict_eps train_wall predict_wall rss auc ll
parasol_run() {  # parasol_run MODEL BATCH [--optimizer NAME] [extra train flags]
  local m=$1 b=$2; shift 2
  local label=$m  # the model as reported: lr+ftrl when an optimizer is named
  [[ "${1:-}" == --optimizer ]] && label="$m+$2"
  local name="parasol-$label-$b"
  timed "$name-train" $P train --train "$W/train.cache" --model "$m" --threads 2 --epochs "$EPOCHS" \
    --batch-size "$b" --out "$W/$name" "$@"
  timed "$name-predict" $P predict --model "$W/$name" --data "$W/test.cache" --out "$W/$name.pred"
  local eps
  eps=$($PY -c "
import json
e = [json.loads(l) for l in open('$W/$name/metrics.jsonl') if '\"event\": \"epoch\"' in l]
print(round(sum(x['examples'] for x in e) / sum(x['seconds'] for x in e)))")
  local test_rows=$((ROWS - TRAIN_ROWS))
  read -r auc ll <<< "$(auc_of "$W/$name.pred" "$W/test.labels")"
  RESULTS+=("parasol $label $b - $eps $($PY -c "print(round($test_rows / ${WALL[$name-predict]}))") \
${WALL[$name-train]} ${WALL[$name-predict]} ${RSS[$name-train]} $auc $ll ${CPU[$name-train]:-0}")
  echo "${RESULTS[-1]}" >&2
}
# LR and FM: their own defaults (AdaGrad, one example per step), the sparse baselines, and both
# with FTRL-Proximal, which does better on this data for both (on an 800K/200K split of it, with
# AdaGrad FM's factors overfit the long tail of the vocabulary: FM 0.699 against LR 0.717; with
# FTRL, FM 0.725 against LR 0.721).
parasol_run lr 1
parasol_run fm 1
parasol_run lr 1 --optimizer ftrl
parasol_run fm 1 --optimizer ftrl
for m in $DEEP_MODELS; do
  for b in $BATCHES; do parasol_run "$m" "$b"; done
done

# The GEMM kernels Parasol picked at run time (its training summary names them).
ISA=$(cat "$W"/parasol-*-train.err | grep -o 'dense kernels [a-z0-9]*' | head -1 | cut -d' ' -f3)
echo "Parasol dense kernels: $ISA" >&2

# ---- PyTorch
torch_run() {  # torch_run MODEL BATCH CORETYPE
  local m=$1 b=$2 ct=$3 name="torch-$1-$2-$3"
  local env=(OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2)
  [[ $ct != default ]] && env+=(OPENBLAS_CORETYPE=$ct)
  timed "$name" env "${env[@]}" $PY bench/deep_torch.py run --model "$m" --train "$W/train.npz" \
    --test "$W/test.npz" --batch "$b" --epochs "$EPOCHS" --threads 2 --vocab "$VOCAB" \
    --pred "$W/$name.pred" --json "$W/$name.json"
  read -r auc ll <<< "$(auc_of "$W/$name.pred" "$W/test.labels")"
  RESULTS+=("torch $m $b $ct $($PY -c "
import json
r = json.load(open('$W/$name.json'))
print(round(r['train_examples_per_s']), round(r['predict_examples_per_s']), round(r['train_s'], 2), round(r['predict_s'], 2))") \
${RSS[$name]} $auc $ll $($PY -c "import json; print(round(json.load(open('$W/$name.json'))['train_cpu_s'], 2))")")
  echo "${RESULTS[-1]}" >&2
}
for ct in $CORETYPES; do
  for m in $DEEP_MODELS; do
    for b in $BATCHES; do
      if [[ $ct == default && (" $DEFAULT_CORE_BATCHES " != *" $b "* ||
        " $DEFAULT_CORE_MODELS " != *" $m "*) ]]; then continue; fi
      torch_run "$m" "$b" "$ct"
    done
  done
done

# ---- where Parasol's DeepFM time goes
if [[ "${PERF:-0}" == 1 ]]; then
  b=${BATCHES%% *}
  perf record -F 499 -o "$W/perf.data" $P train --train "$W/train.cache" --model deepfm \
    --threads 2 --batch-size "$b" --out "$W/perf-model" > /dev/null 2>&1
  perf report -i "$W/perf.data" --no-children --percent-limit 1 --stdio 2>/dev/null |
    grep -E '^ +[0-9]' | sed 's/  */ /g' > "$W/perf.txt"
  cat "$W/perf.txt" >&2
fi

# ---- bundled churn data: LR against the deep models, tuned only on a split of train.csv
CW="$W/churn"
mkdir -p "$CW"
(head -1 data/churn/train.csv; tail -n +2 data/churn/train.csv | awk 'NR % 5 != 0') > "$CW/tr.csv"
(head -1 data/churn/train.csv; tail -n +2 data/churn/train.csv | awk 'NR % 5 == 0') > "$CW/va.csv"
# The deep models' rows take Adam at 0.001 (their default) instead of LR's AdaGrad at 0.2.
sed "s#^schema: schema.yaml#schema: $PWD/data/churn/schema.yaml#; s#^optimizer: adagrad#optimizer: adam#; s#^lr: 0.2#lr: 0.001#" \
  data/churn/model.yaml > "$CW/deep.yaml"
CHURN=()
churn_eval() {  # churn_eval NAME MODEL_DIR
  local j
  j=$($P eval --model "$2" --data data/churn/test.csv --json)
  CHURN+=("$1 $($PY -c "import json, sys; r = json.loads(sys.argv[1]); print(r['auc'], r['logloss'])" "$j")")
  echo "churn ${CHURN[-1]}" >&2
}
$P train --config data/churn/model.yaml --train data/churn/train.csv --out "$CW/lr-full" > /dev/null
churn_eval lr_model_yaml_full_train "$CW/lr-full"
$P train --config data/churn/model.yaml --train "$CW/tr.csv" --valid "$CW/va.csv" --out "$CW/lr" > /dev/null
churn_eval lr "$CW/lr"
for m in dnn wide_deep deepfm dcn; do
  $P train --config "$CW/deep.yaml" --model "$m" --train "$CW/tr.csv" --valid "$CW/va.csv" \
    --out "$CW/$m" > /dev/null
  churn_eval "$m" "$CW/$m"
done

# ---- report
printf '%s\n' "${RESULTS[@]}" > "$W/results.txt"
printf '%s\n' "${CHURN[@]}" > "$W/churn.txt"
for k in "${!GEMM[@]}"; do echo "$k ${GEMM[$k]}"; done > "$W/gemm.txt"
$PY - "$ROWS" "$TRAIN_ROWS" "$VOCAB" "$EPOCHS" "$TEACHER_AUC" "$TEACHER_LL" "$ISA" "$W" <<'PY'
import json, os, sys
rows, train_rows, vocab, epochs = (int(x) for x in sys.argv[1:5])
teacher_auc, teacher_ll, isa, w = float(sys.argv[5]), float(sys.argv[6]), sys.argv[7], sys.argv[8]
runs = []
for line in open(f"{w}/results.txt"):
    side, model, batch, ct, teps, peps, twall, pwall, rss, auc, ll, cpu = line.split()
    runs.append({"side": side, "model": model, "batch": int(batch),
                 "openblas_coretype": None if ct == "-" else ct,
                 "train_examples_per_s": int(teps), "predict_examples_per_s": int(peps),
                 "train_wall_s": float(twall), "predict_wall_s": float(pwall),
                 "peak_rss_mib": round(int(rss) / 1024), "test_auc": float(auc),
                 "test_logloss": float(ll), "train_cpu_s": float(cpu),
                 "train_cpu_us_per_example": round(float(cpu) / (train_rows * epochs) * 1e6, 1)})
gemm = {}
for line in open(f"{w}/gemm.txt"):
    ct, m, k, n, rate = line.split()
    gemm.setdefault(ct, {})[f"{m}x{k}x{n}"] = float(rate)
# MLP 624-400-400-400 (+ the output unit): FLOPs per example, forward + backward (x3).
mlp_flops = 3 * 2 * (624 * 400 + 400 * 400 + 400 * 400 + 400)
cross_flops = 3 * 3 * 2 * 624 * 624
def find(side, model, batch, ct=None):
    for r in runs:
        if r["side"] == side and r["model"] == model and r["batch"] == batch and \
           (side == "parasol" or r["openblas_coretype"] == ct):
            return r
ratios = []
for r in runs:
    if r["side"] != "parasol" or r["model"] not in ("deepfm", "dcn"):
        continue
    flops = mlp_flops + (cross_flops if r["model"] == "dcn" else 0)
    r["dense_gflop_per_s"] = round(flops * r["train_examples_per_s"] / 1e9, 1)
    for ct in gemm:
        t = find("torch", r["model"], r["batch"], ct)
        if t:
            ratios.append({"model": r["model"], "batch": r["batch"], "torch_coretype": ct,
                           "train_speedup": round(r["train_examples_per_s"] / t["train_examples_per_s"], 2),
                           "predict_speedup": round(r["predict_examples_per_s"] / t["predict_examples_per_s"], 2),
                           "auc_difference": round(r["test_auc"] - t["test_auc"], 4)})
churn = {}
for line in open(f"{w}/churn.txt"):
    name, auc, ll = line.split()
    churn[name] = {"test_auc": float(auc), "test_logloss": float(ll)}
load = os.getloadavg()
r = {"machine": {"cores": os.cpu_count(), "parasol_kernels": isa, "load_at_end": [round(x, 2) for x in load]},
     "data": {"generator": f"parasol gen --fields --teacher deep --features 39 --vocab {vocab} --seed 7",
              "train_rows": train_rows, "test_rows": rows - train_rows, "epochs": epochs,
              "teacher_test_auc": teacher_auc, "teacher_test_logloss": teacher_ll},
     "runs": runs, "sgemm_gflop_per_s": gemm, "parasol_over_torch": ratios,
     "mlp_flops_per_example_fwd_bwd": mlp_flops, "churn": churn}
json.dump(r, open("bench/results/deep.json", "w"), indent=2)
md = ["# Deep-model benchmark", "",
      f"{train_rows:,} train / {rows - train_rows:,} test rows, 39 fields, vocabulary {vocab:,}, "
      f"deep teacher (test AUC of its own logits {teacher_auc:.4f}); {epochs} epoch(s), 2 threads; "
      f"load average at the end {load[0]:.2f}.", "",
      "| side | model | batch | OpenBLAS core | train ex/s | predict ex/s | train wall s | predict wall s | peak MiB | test AUC | test logloss | train CPU µs/example |",
      "|---|---|---|---|---|---|---|---|---|---|---|---|"]
for x in runs:
    md.append(f"| {x['side']} | {x['model']} | {x['batch']} | {x['openblas_coretype'] or '-'} | "
              f"{x['train_examples_per_s']:,} | {x['predict_examples_per_s']:,} | {x['train_wall_s']:.1f} | "
              f"{x['predict_wall_s']:.1f} | {x['peak_rss_mib']} | {x['test_auc']:.4f} | {x['test_logloss']:.4f} | "
              f"{x['train_cpu_us_per_example']} |")
md += ["", "Parasol / PyTorch:", ""]
for q in ratios:
    md.append(f"- {q['model']} batch {q['batch']} (PyTorch with OpenBLAS {q['torch_coretype']}): "
              f"training {q['train_speedup']}x, prediction {q['predict_speedup']}x, AUC {q['auc_difference']:+.4f}")
md += ["", "sgemm (numpy over OpenBLAS, 2 threads), GFLOP/s: " +
       "; ".join(f"{ct}: " + ", ".join(f"{s} {v}" for s, v in sorted(g.items())) for ct, g in gemm.items())]
for x in runs:
    if "dense_gflop_per_s" in x:
        best = max(g.get("1024x624x400", 0) for g in gemm.values())
        md.append(f"- Parasol {x['model']} batch {x['batch']}: dense layers forward+backward "
                  f"{x['dense_gflop_per_s']} GFLOP/s ({x['dense_gflop_per_s'] / best:.0%} of the best sgemm at 1024x624x400)")
md += ["", "Churn (test AUC / logloss; deep models: 80/20 split of train.csv, best epoch on the 20%): " +
       ", ".join(f"{k} {v['test_auc']:.4f} / {v['test_logloss']:.4f}" for k, v in churn.items())]
open("bench/results/deep.md", "w").write("\n".join(md) + "\n")
print("\n".join(md))
PY
