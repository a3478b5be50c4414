# Shared by the serve benchmarks (sourced): a free loopback port, and one wrk point.
# SECS (seconds per point) must be set by the caller. Also sets P (the parasol binary), WORK (a
# temporary folder) and PIDS (background processes), both cleaned up on exit.

P=./build/src/cli/parasol
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
mkdir -p bench/results

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# wrk URL CONNECTIONS [LUA] → "requests/s p50_ms p99_ms"
load() {
  local url=$1 conns=$2 script=${3:-}
  local threads=$(( conns < 2 ? 1 : 2 ))
  local args=(-t"$threads" -c"$conns" -d"${SECS}s" --latency)
  [[ -n "$script" ]] && args+=(-s "$script")
  wrk "${args[@]}" "$url" | python3 -c '
import re, sys
text = sys.stdin.read()
def ms(label):
    m = re.search(r"^\s+" + label + r"\s+([\d.]+)(us|ms|s)", text, re.M)
    if not m: return float("nan")
    v, unit = float(m.group(1)), m.group(2)
    return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
p50, p99 = ms("50%"), ms("99%")
print(f"{rps:.0f} {p50:.3f} {p99:.3f} {errors.group(1) if errors else 0}")'
}

# One churn row (raw fields, as the training CSV has them), sent one per request.
CHURN_ROW='{"female": 0, "senior_citizen": 0, "partner": 1, "dependents": 0, "tenure": 45, "phone_service": 1, "multiple_lines": "No", "internet_service": "DSL", "online_security": "Yes", "online_backup": "No", "device_protection": "Yes", "tech_support": "Yes", "streaming_tv": "No", "streaming_movies": "No", "contract": "One year", "paperless_billing": 0, "payment_method": "Bank transfer (automatic)", "monthly_charges": 42.3, "total_charges": 1840.75}'

# write_predict_lua FILE: a wrk script POSTing {"instances": [CHURN_ROW]}.
write_predict_lua() {
  cat > "$1" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"instances": [$CHURN_ROW]}'
LUA
}
