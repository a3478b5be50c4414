#!/usr/bin/env bash
# The main job on the embedded default: train on the bundled churn data (local process, bundled
# files), evaluate on the held-out split, predict a few rows; then the same training as a
# distributed job (2 parameter-server and 2 worker processes on loopback); then the control plane:
# starts `parasol control` (job API, SQLite state in out/control, web dashboard), submits the same
# training as a distributed job (replicas ps-0, ps-1, worker-0, worker-1), watches it, prints its
# loss/AUC series and the dashboard's address, and stops the service; then serves the trained
# model with `parasol serve` (TF Serving and KServe V2 REST on loopback), queries it with curl;
# then runs data/churn/pipeline.yaml on the control plane against that server (train, evaluate,
# gate against the served version, deploy the blessed candidate as version 2, which then
# answers), and stops both. Installs what it needs first.
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

echo
echo "== control plane: parasol control (state in out/control), the training as a distributed job"
STATE=out/control
rm -rf "$STATE" out/churn-job && mkdir -p "$STATE"
$PARASOL control --listen 127.0.0.1:0 --state-dir "$STATE" > "$STATE/control.out" \
  2> "$STATE/control.log" &
CONTROL=$!
trap 'kill $CONTROL 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -qs "listening" "$STATE/control.out" && break; sleep 0.1; done
export PARASOL_ENDPOINT=http://$(sed -n 's/^listening on //p' "$STATE/control.out")
echo "\$ parasol job submit -f src/control/examples/churn.yaml --watch   (service at $PARASOL_ENDPOINT)"
$PARASOL job submit -f src/control/examples/churn.yaml --watch
$PARASOL job describe churn
echo "\$ parasol job metrics churn   (one point per epoch; valid_* from worker-0 on $DATA/test.csv)"
$PARASOL job metrics churn
$PARASOL eval --model out/churn-job --data $DATA/test.csv | head -n 3
echo "dashboard (jobs, replicas, logs, loss/AUC curves): $PARASOL_ENDPOINT/"
kill $CONTROL && wait $CONTROL 2>/dev/null || true
trap - EXIT
unset PARASOL_ENDPOINT
echo "control service stopped; the job's record, logs and curves stay in $STATE: to browse them, run"
echo "  $PARASOL control --listen 127.0.0.1:7900 --state-dir $STATE   and open http://127.0.0.1:7900/"

echo
echo "== serve: parasol serve on $OUT-serving/churn (version 1 = the model above), REST on loopback"
rm -rf "$OUT-serving" && mkdir -p "$OUT-serving/churn" && cp -r "$OUT" "$OUT-serving/churn/1"
$PARASOL serve --model-base "$OUT-serving/churn" --rest-port 0 --port 0 > "$OUT-serving/serve.out" \
  2> "$OUT-serving/serve.log" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -qs "listening" "$OUT-serving/serve.out" && break; sleep 0.1; done
URL=http://$(sed -n 's/^REST listening on //p' "$OUT-serving/serve.out")
echo "\$ curl $URL/v1/models/churn"
curl -sS "$URL/v1/models/churn"; echo
ROW1='{"female": 0, "senior_citizen": 0, "partner": 0, "dependents": 0, "tenure": 45, "phone_service": 0, "multiple_lines": "No phone service", "internet_service": "DSL", "online_security": "Yes", "online_backup": "No", "device_protection": "Yes", "tech_support": "Yes", "streaming_tv": "No", "streaming_movies": "No", "contract": "One year", "paperless_billing": 0, "payment_method": "Bank transfer (automatic)", "monthly_charges": 42.3, "total_charges": 1840.75}'
ROW2='{"female": 0, "senior_citizen": 0, "partner": 0, "dependents": 0, "tenure": 1, "phone_service": 1, "multiple_lines": "No", "internet_service": "Fiber optic", "contract": "Month-to-month", "paperless_billing": 1, "payment_method": "Electronic check", "monthly_charges": 70.7, "total_charges": 70.7}'
echo "\$ curl -d '{\"instances\": [ROW1, ROW2]}' $URL/v1/models/churn:predict   (raw CSV fields as JSON)"
curl -sS -H 'Content-Type: application/json' -d "{\"instances\": [$ROW1, $ROW2]}" \
  "$URL/v1/models/churn:predict"; echo
echo "(ROW1 is the first test customer: the same probability as the first line of predict above)"
echo "\$ curl -d '{\"inputs\": [{\"name\": \"tenure\", ...}]}' $URL/v2/models/churn/infer   (KServe V2)"
curl -sS -H 'Content-Type: application/json' \
  -d '{"inputs": [{"name": "tenure", "shape": [2], "datatype": "FP32", "data": [45, 1]}, {"name": "contract", "shape": [2], "datatype": "BYTES", "data": ["Two year", "Month-to-month"]}]}' \
  "$URL/v2/models/churn/infer"; echo
echo "\$ curl $URL/metrics | grep requests_total"
curl -sS "$URL/metrics" | grep '^parasol_serve_requests_total'

echo
echo "== workflow: $DATA/pipeline.yaml against this server: train -> eval -> gate -> deploy"
rm -f "$STATE/control.out"
$PARASOL control --listen 127.0.0.1:0 --state-dir "$STATE" > "$STATE/control.out" \
  2> "$STATE/control.log" &
CONTROL=$!
trap 'kill $SERVER $CONTROL 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -qs "listening" "$STATE/control.out" && break; sleep 0.1; done
export PARASOL_ENDPOINT=http://$(sed -n 's/^listening on //p' "$STATE/control.out")
echo "\$ parasol workflow run -f $DATA/pipeline.yaml --set model_base=$OUT-serving/churn --set server=$URL --watch"
$PARASOL workflow run -f $DATA/pipeline.yaml --set model_base="$OUT-serving/churn" \
  --set server="$URL" --watch | tee "$STATE/workflow.out"
RUN=$(sed -n '1s/^run //p' "$STATE/workflow.out")
$PARASOL workflow describe "$RUN"
echo "\$ curl $URL/v1/models/churn   (version 2: the blessed candidate, deployed by the run)"
curl -sS "$URL/v1/models/churn"; echo
curl -sS -H 'Content-Type: application/json' -d "{\"instances\": [$ROW1]}" \
  "$URL/v1/models/churn/versions/2:predict"; echo
kill $CONTROL && wait $CONTROL 2>/dev/null || true
kill $SERVER && wait $SERVER 2>/dev/null || true
trap - EXIT
echo "control service and server stopped"
