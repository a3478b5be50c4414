#!/usr/bin/env bash
# Multi-host distributed training on one machine: two parameter servers and two workers, each in
# its own network namespace (its own "host" with its own address), joined by veth pairs to a
# bridge in a fifth namespace. Every process binds its namespace's address and learns the cluster
# from PARASOL_CLUSTER, as in a Kubernetes deployment; worker 0 writes the model.
# Exit 77 (skipped) when this machine cannot create network namespaces (not root, no bridge).
# Usage: netns_test.sh PARASOL_BINARY
set -euo pipefail
PARASOL=$1
ID="p$$"
WORK=$(mktemp -d)
HOSTS=(ps0 ps1 w0 w1)
ADDRS=(10.77.0.1 10.77.0.2 10.77.0.11 10.77.0.12)
PIDS=()

cleanup() {
  for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  for h in "${HOSTS[@]}" sw; do ip netns del "$ID-$h" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

skip() { echo "SKIPPED: $*"; exit 77; }
[[ $(id -u) -eq 0 ]] || skip "needs root for ip netns"
command -v ip >/dev/null || skip "no ip command (iproute2)"
ip netns add "$ID-sw" 2>/dev/null || skip "cannot create network namespaces here"
ip -n "$ID-sw" link add br0 type bridge 2>/dev/null || skip "no bridge support"
ip -n "$ID-sw" link set br0 up
for i in "${!HOSTS[@]}"; do
  ns="$ID-${HOSTS[$i]}"
  ip netns add "$ns"
  # The pair is created inside the host namespace, then one end moves to the switch.
  ip -n "$ns" link add eth0 type veth peer name "port$i"
  ip -n "$ns" link set "port$i" netns "$ID-sw"
  ip -n "$ID-sw" link set "port$i" master br0 up
  ip -n "$ns" addr add "${ADDRS[$i]}/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set lo up
done

"$PARASOL" gen --rows 60000 --features 15 --vocab 20000 --seed 12 --out "$WORK/all.svm"
head -n 50000 "$WORK/all.svm" > "$WORK/train.svm"
tail -n 10000 "$WORK/all.svm" > "$WORK/test.svm"

cluster() {  # role index
  printf '{"cluster":{"ps":["10.77.0.1:9100","10.77.0.2:9100"],"worker":["10.77.0.11:9200","10.77.0.12:9200"]},"task":{"type":"%s","index":%d}}' "$1" "$2"
}
MODEL=(--model fm --k 4 --optimizer adagrad --seed 7)
for s in 0 1; do
  ip netns exec "$ID-ps$s" env PARASOL_CLUSTER="$(cluster ps $s)" \
    "$PARASOL" ps server "${MODEL[@]}" > "$WORK/ps$s.out" 2> "$WORK/ps$s.err" &
  PIDS+=($!)
done
for s in 0 1; do
  for _ in $(seq 100); do grep -q listening "$WORK/ps$s.out" && break; sleep 0.1; done
  grep -q "listening on 10.77.0.$((s + 1)):9100" "$WORK/ps$s.out" ||
    { echo "server $s did not bind its namespace's address"; cat "$WORK/ps$s".*; exit 1; }
done
# A server is not reachable on loopback from a worker's host: the addresses are real.
if ip netns exec "$ID-w0" bash -c "echo > /dev/tcp/127.0.0.1/9100" 2>/dev/null; then
  echo "server reachable on the worker's loopback: namespaces are not separate"; exit 1
fi
for w in 0 1; do
  ip netns exec "$ID-w$w" env PARASOL_CLUSTER="$(cluster worker $w)" \
    "$PARASOL" ps worker "${MODEL[@]}" --train "$WORK/train.svm" --epochs 2 \
    $([[ $w -eq 0 ]] && echo "--out $WORK/model") > "$WORK/w$w.log" 2>&1 &
  PIDS+=($!)
done
status=0
wait "${PIDS[2]}" || status=$?
wait "${PIDS[3]}" || status=$?
if [[ $status -ne 0 ]]; then cat "$WORK"/w*.log; exit 1; fi
grep -q "worker 0: model written to" "$WORK/w0.log" || { cat "$WORK/w0.log"; exit 1; }
grep -q "worker 1/2: " "$WORK/w1.log" || { cat "$WORK/w1.log"; exit 1; }
AUC=$("$PARASOL" eval --json --model "$WORK/model" --data "$WORK/test.svm" |
  sed -n 's/.*"auc":\([0-9.]*\).*/\1/p')
echo "multi-host job (2 servers, 2 workers in 4 namespaces): test AUC $AUC"
awk -v a="$AUC" 'BEGIN { exit !(a > 0.7) }' || { echo "AUC $AUC too low"; exit 1; }
# Both servers saw pushes from the workers.
for s in 0 1; do kill -TERM "${PIDS[$s]}"; wait "${PIDS[$s]}" || true; done
for s in 0 1; do
  grep -Eq "[1-9][0-9]* pushed" "$WORK/ps$s.err" || { cat "$WORK/ps$s.err"; exit 1; }
done
echo "OK"
