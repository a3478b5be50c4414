#!/usr/bin/env bash
# The dashboard end to end: starts the real `parasol control`, submits a job whose workers log
# and report a loss curve, and the bundled distributed churn training job
# (src/control/examples/churn.yaml), and drives the page in headless Chromium (dashboard.mjs).
# The screenshots are kept as test artifacts in WORK/dashboard.png and WORK/dashboard-churn.png.
# Usage: dashboard_test.sh PARASOL SOURCE_DIR WORK_DIR
set -euo pipefail
parasol=$1 src=$2 work=$3
for tool in node npm "${CHROMIUM:-/usr/bin/chromium}"; do
  command -v "$tool" >/dev/null || { echo "FAIL: $tool not found (./scripts/deps.sh --test installs it)" >&2; exit 1; }
done
mkdir -p "$work"
cp "$src/tests/web/package.json" "$src/tests/web/package-lock.json" "$src/tests/web/dashboard.mjs" "$work/"
# (Re)installs when the lock file changed since the last install: `npm ci` installs exactly the
# versions package-lock.json records (the ones tested), never newer ones.
if ! cmp -s "$work/package-lock.json" "$work/node_modules/.installed-package-lock.json"; then
  (cd "$work" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  cp "$work/package-lock.json" "$work/node_modules/.installed-package-lock.json"
fi
state="$work/state.$$"
rm -rf "$state"
"$parasol" control --listen 127.0.0.1:0 --state-dir "$state" > "$work/control.out" 2> "$work/control.err" &
control=$!
cleanup() {
  for job in curves churn; do
    "$parasol" job delete $job --endpoint "${endpoint:-http://127.0.0.1:1}" >/dev/null 2>&1 || true
  done
  kill "$control" 2>/dev/null || true
  wait "$control" 2>/dev/null || true
  rm -rf "$state"
}
trap cleanup EXIT
for _ in $(seq 100); do
  grep -q "listening on" "$work/control.out" 2>/dev/null && break
  sleep 0.1
done
endpoint="http://$(sed -n 's/^listening on //p' "$work/control.out")"
cat > "$work/curves.yaml" <<'SPEC'
name: curves
kind: custom
replicas:
  worker:
    count: 2
    command:
      - sh
      - -c
      - |
        for s in 1 2 3; do
          echo "training step $s"
          echo "{\"step\": $s, \"loss\": 0.$((9 - s - PARASOL_REPLICA_INDEX))}" >> "$PARASOL_METRICS_FILE"
        done
SPEC
"$parasol" job submit -f "$work/curves.yaml" --watch --endpoint "$endpoint"
# The bundled example, run from the source tree, writing its model under WORK.
sed "s|out: out/churn-job|out: $work/churn-model|" "$src/src/control/examples/churn.yaml" \
  > "$work/churn.yaml"
echo "workingDir: $src" >> "$work/churn.yaml"
"$parasol" job submit -f "$work/churn.yaml" --watch --endpoint "$endpoint" || {
  "$parasol" job logs churn --endpoint "$endpoint"; exit 1; }
node "$work/dashboard.mjs" "$endpoint/" curves "$work/dashboard.png" churn "$work/dashboard-churn.png"
