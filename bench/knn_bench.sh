#!/usr/bin/env bash
# KNN benchmark: Parasol (brute force, k-d tree) against faiss IndexFlatL2 and nanoflann on the
# same random data (uniform [0, 1), seed 42) in one run, k = 5, 2 threads. Writes
# bench/results/knn.json (one object per implementation and case) and knn.md.
#   bench/knn_bench.sh [THREADS] [REPEAT]     (defaults: 2 threads, median of 3 searches)
# Cases: high = 8,000 train × 2,000 queries × 784 dims (Fashion-MNIST's shape), low = 60,000 ×
# 10,000 × 8 dims. Aims: Parasol brute force at least as fast as faiss at 784 dimensions; the
# k-d tree at least 1.5× nanoflann at 8 dimensions. The machines are shared and noisy: run it 3
# times and compare the ratios (measured back to back in one run), not absolute times.
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=${1:-2}
REPEAT=${2:-3}
./scripts/deps.sh --bench
TARGET=knn_bench ./scripts/build.sh >/dev/null
[[ -x build/bench/knn_bench ]] || { echo "knn_bench not built: needs libfaiss-dev and libnanoflann-dev" >&2; exit 1; }
mkdir -p bench/results
out=bench/results/knn.json
{
  ./build/bench/knn_bench high 8000 2000 784 5 "$THREADS" "$REPEAT"
  ./build/bench/knn_bench low 60000 10000 8 5 "$THREADS" "$REPEAT"
} > "$out.tmp"
python3 - "$out.tmp" "$out" bench/results/knn.md <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
json.dump(rows, open(sys.argv[2], "w"), indent=1)
qps = {(r["case"], r["impl"]): r["queries_per_second"] for r in rows}
md = ["# KNN benchmark", "",
      "Random data (uniform [0, 1), seed 42), k = 5, %d threads, median of the searches; "
      "`agree`: share of queries with the same neighbour set as Parasol brute force (exact)." % rows[0]["threads"], "",
      "| case | train × queries × dim | impl | build s | search s | search CPU s | queries/s | agree |",
      "|---|---|---|---:|---:|---:|---:|---:|"]
for r in rows:
    md.append("| %s | %d × %d × %d | %s | %.4f | %.4f | %.4f | %.0f | %.4f |" % (
        r["case"], r["train"], r["queries"], r["dim"], r["impl"], r["build_seconds"],
        r["search_seconds"], r["search_cpu_seconds"], r["queries_per_second"], r["agree"]))
md += ["",
       "- high: Parasol brute / faiss = %.2f× (aim ≥ 1×)" % (qps[("high", "parasol-brute")] / qps[("high", "faiss-flat-l2")]),
       "- low: Parasol k-d tree / nanoflann = %.2f× (aim ≥ 1.5×); Parasol brute / faiss = %.2f×" % (
           qps[("low", "parasol-kdtree")] / qps[("low", "nanoflann-kdtree")],
           qps[("low", "parasol-brute")] / qps[("low", "faiss-flat-l2")])]
open(sys.argv[3], "w").write("\n".join(md) + "\n")
print("\n".join(md))
PY
rm -f "$out.tmp"
