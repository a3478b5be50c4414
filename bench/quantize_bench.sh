#!/usr/bin/env bash
# Quantized serving tables (`parasol serve --quantize fp16|int8`), one run:
#  1. test AUC of every model type served in fp32, fp16 and int8, on the bundled churn data and
#     on generated data (`parasol gen --fields --teacher deep`), through the server's Servable;
#  2. memory: bytes per stored row and per table row (index included), and the resident memory
#     a table of ROWS rows of 8 floats adds to a process, per precision;
#  3. the lookup benchmark (bench/lookup_bench.cc's gRPC client, KEYS random keys per request)
#     against `parasol serve` in each precision, with its server's RSS.
# Writes bench/results/quantize.{json,md}.
# Usage: bench/quantize_bench.sh [ROWS, default 2000000] [KEYS, default 150000]
#                                [REQUESTS per client, default 20] [GEN_ROWS, default 100000]
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-2000000}
KEYS=${2:-150000}
REQUESTS=${3:-20}
GEN_ROWS=${4:-100000}
./scripts/deps.sh --bench
for t in parasol quantize_bench lookup_bench; do TARGET=$t ./scripts/build.sh >/dev/null; done
P=./build/src/cli/parasol
Q=./build/bench/quantize_bench
L=./build/bench/lookup_bench
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
mkdir -p bench/results
OUT="$WORK/lines.jsonl"
: > "$OUT"
tag() { sed "s/^{/{\"dataset\": \"$1\", /" >> "$OUT"; }

echo "== 1. accuracy: churn" >&2
C=data/churn
train() { $P train "$@" >/dev/null 2>&1; }
train --config $C/model.yaml --train $C/train.csv --out "$WORK/churn-lr"
train --config $C/fm.yaml --train $C/train.csv --out "$WORK/churn-fm"
train --config $C/fm.yaml --model ffm --train $C/train.csv --out "$WORK/churn-ffm"
for m in dnn wide_deep deepfm dcn; do
  train --config $C/deep.yaml --model $m --train $C/train.csv --valid $C/test.csv \
    --out "$WORK/churn-$m"
done
for m in lr fm ffm dnn wide_deep deepfm dcn; do
  $Q score "$WORK/churn-$m" $C/test.csv | tag churn
done

echo "== 1. accuracy: generated ($GEN_ROWS training rows, 20 fields, deep teacher)" >&2
$P gen --rows "$GEN_ROWS" --features 20 --fields --teacher deep --vocab 100000 --seed 1 \
  --out "$WORK/gen-all.svm" >/dev/null
head -n $((GEN_ROWS * 4 / 5)) "$WORK/gen-all.svm" > "$WORK/gen-train.svm"
tail -n +$((GEN_ROWS * 4 / 5 + 1)) "$WORK/gen-all.svm" > "$WORK/gen-test.svm"
G="--train $WORK/gen-train.svm --epochs 2"
train $G --model lr --out "$WORK/gen-lr"
train $G --model fm --k 8 --out "$WORK/gen-fm"
train $G --model ffm --k 4 --out "$WORK/gen-ffm"
for m in dnn wide_deep deepfm dcn; do
  train $G --model $m --config <(printf 'hidden: [200, 200]\nembedding_dim: 16\n') \
    --out "$WORK/gen-$m"
done
for m in lr fm ffm dnn wide_deep deepfm dcn; do
  $Q score "$WORK/gen-$m" "$WORK/gen-test.svm" | tag generated
done

echo "== 2. memory: $ROWS rows of 8 floats" >&2
$L make-model "$WORK/emb/1" "$ROWS"
for p in fp32 fp16 int8; do $Q rss "$WORK/emb/1" $p | tag "memory"; done

echo "== 3. lookups: $KEYS keys per request, $REQUESTS requests per client" >&2
rss_mib() { awk '/VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$1/status"; }
for p in fp32 fp16 int8; do
  $P serve --model-base "$WORK/emb" --rest-port 0 --port 0 --quantize $p > "$WORK/serve.out" \
    2>/dev/null &
  SERVE=$!
  PIDS+=($SERVE)
  for _ in $(seq 1200); do grep -qs "gRPC listening" "$WORK/serve.out" && break; sleep 0.1; done
  GRPC=$(sed -n 's/^gRPC listening on //p' "$WORK/serve.out")
  tolerance=$([[ $p == fp32 ]] && echo 0 || echo 0.04)
  for clients in 1 2; do
    line=$($L parasol "$GRPC" "$ROWS" "$KEYS" "$REQUESTS" $clients $tolerance)
    echo "$line" | sed "s/^{/{\"precision\": \"$p\", \"server_rss_mib\": $(rss_mib $SERVE), /" |
      tag lookup
  done
  kill $SERVE
  wait $SERVE 2>/dev/null || true
done

python3 - "$OUT" "$(uptime)" <<'PY'
import json, sys, datetime
lines = [json.loads(l) for l in open(sys.argv[1])]
load = sys.argv[2].split("load average:")[-1].strip()
report = {"date": datetime.datetime.utcnow().isoformat() + "Z", "load_average": load,
          "runs": lines}
json.dump(report, open("bench/results/quantize.json", "w"), indent=1)
md = [f"# Quantized serving tables ({report['date']}, load average {load})", ""]
md += ["## Test AUC per precision (loss = fp32 AUC - AUC)", "",
       "| data | model | dim | fp32 AUC | fp16 AUC (loss) | int8 AUC (loss) | max prob change fp16 / int8 | table bytes per row fp32 / fp16 / int8 |",
       "|---|---|---|---|---|---|---|---|"]
acc = {}
for r in lines:
    if r["dataset"] in ("churn", "generated"):
        acc.setdefault((r["dataset"], r["model"]), {})[r["precision"]] = r
for (ds, model), by in acc.items():
    f32, f16, i8 = by["fp32"], by["fp16"], by["int8"]
    md.append(f"| {ds} | {model} | {f32['dim']} | {f32['auc']:.4f} | "
              f"{f16['auc']:.4f} ({f32['auc'] - f16['auc']:+.5f}) | "
              f"{i8['auc']:.4f} ({f32['auc'] - i8['auc']:+.5f}) | "
              f"{f16['max_prob_change']:.2g} / {i8['max_prob_change']:.2g} | "
              + " / ".join(f"{r['table_bytes'] / r['table_rows']:.0f}" for r in (f32, f16, i8))
              + " |")
md += ["", "## Memory per row (8-float rows)", "",
       "| precision | rows | stored row bytes | table bytes per row (index included) | RSS bytes per row |",
       "|---|---|---|---|---|"]
for r in lines:
    if r["dataset"] == "memory":
        md.append(f"| {r['precision']} | {r['table_rows']} | {r['row_payload_bytes']} | "
                  f"{r['table_bytes'] / r['table_rows']:.1f} | {r['rss_bytes_per_row']:.1f} |")
md += ["", "## Lookups over gRPC", "",
       "| precision | clients | keys | p50 ms | p99 ms | requests/s | server RSS MiB | answers checked |",
       "|---|---|---|---|---|---|---|---|"]
for r in lines:
    if r["dataset"] == "lookup":
        md.append(f"| {r['precision']} | {r['clients']} | {r['keys']} | {r['p50_ms']:.1f} | "
                  f"{r['p99_ms']:.1f} | {r['requests_per_s']:.1f} | {r['server_rss_mib']} | "
                  f"{r['answers_checked']} |")
open("bench/results/quantize.md", "w").write("\n".join(md) + "\n")
print("\n".join(md))
PY
