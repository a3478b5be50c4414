#!/usr/bin/env bash
# Renders job specs with the real `parasol job render --backend k8s -o json` and validates every
# manifest with kubernetes-models (npm). Installs the validator into WORK on first use.
# Usage: validate_rendered.sh PARASOL SOURCE_DIR WORK_DIR
set -euo pipefail
parasol=$1 src=$2 work=$3
for tool in node npm; do
  command -v "$tool" >/dev/null || { echo "FAIL: $tool not found (./scripts/deps.sh --test installs it)" >&2; exit 1; }
done
mkdir -p "$work"
cp "$src/tests/k8s/package.json" "$src/tests/k8s/package-lock.json" "$src/tests/k8s/validate.mjs" "$work/"
# (Re)installs when the lock file changed since the last install: `npm ci` installs exactly the
# versions package-lock.json records (the ones tested), never newer ones.
if ! cmp -s "$work/package-lock.json" "$work/node_modules/.installed-package-lock.json"; then
  (cd "$work" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  cp "$work/package-lock.json" "$work/node_modules/.installed-package-lock.json"
fi
"$parasol" job render --backend k8s -f "$src/src/control/examples/hello.yaml" --image busybox:1.36 \
  -o json > "$work/hello.json"
"$parasol" job render --backend k8s -f "$src/src/control/testdata/k8s/full.yaml" --namespace ml \
  -o json > "$work/full.json"
printf 'name: t\nkind: train\ntrain: {servers: 2, workers: 2, args: {train: /data/t.svm, out: /data/m}}\nrestartPolicy: OnFailure\n' \
  > "$work/train.yaml"
"$parasol" job render --backend k8s -f "$work/train.yaml" -o json > "$work/train.json"
for list in hello full train; do
  node "$work/validate.mjs" "$work/$list.json"
done
# The validator must catch a broken manifest, or the checks above prove nothing.
sed 's/"completions": 2/"completions": "two"/' "$work/hello.json" > "$work/broken.json"
if node "$work/validate.mjs" "$work/broken.json" 2>/dev/null; then
  echo "FAIL: the validator accepted completions: \"two\"" >&2
  exit 1
fi
echo "rendered manifests are valid; a broken one is rejected"
