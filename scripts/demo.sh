#!/usr/bin/env bash
# The main job on the embedded default: train on the bundled churn data (local process, bundled
# files), evaluate on the held-out split, predict a few rows; then the same training as a
# distributed job (2 parameter-server and 2 worker processes on loopback). Installs what it needs
# first.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
TARGET=parasol ./scripts/build.sh >/dev/null
PARASOL=./build/src/cli/parasol
OUT=${OUT:-out/churn-lr}
DATA=data/churn

echo "== train: LR on $DATA/train.csv -> $OUT (config $DATA/model.yaml)"
$PARASOL train --config $DATA/model.yaml --train $DATA/train.csv --out "$OUT"
echo
echo "== evaluate on $DATA/test.csv (ROC/PR curves: $OUT/roc.svg)"
$PARASOL eval --model "$OUT" --data $DATA/test.csv --roc "$OUT/roc.svg"
echo
echo "== predict: churn probability of the first 5 test customers (label column removed)"
head -n 6 $DATA/test.csv | cut -d, -f2- > "$OUT/sample.csv"
$PARASOL predict --model "$OUT" --data "$OUT/sample.csv"
echo
echo "== distributed: the same training on 2 parameter servers + 2 workers (processes on loopback)"
$PARASOL cluster --servers 2 --workers 2 --config $DATA/model.yaml --train $DATA/train.csv \
  --out "$OUT-cluster"
$PARASOL eval --model "$OUT-cluster" --data $DATA/test.csv | head -n 3
