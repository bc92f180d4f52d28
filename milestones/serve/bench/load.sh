#!/usr/bin/env bash
# Load benchmark of `roadmap serve` with wrk, the same way the FastAPI baseline is measured:
# start the server on 127.0.0.1:<free port>, 3 s warm-up, then `wrk -t2 -c32 -d10s --latency`
# RUNS times (default 5) with the fixed 17-word review of post.lua, stop the server (SIGTERM).
# Prints each run as JSON, then the medians as JSON on the last line.
#
# Usage: milestones/serve/bench/load.sh MODEL_DIR     (needs wrk: `apt-get install -y wrk`)
# Env:   ROADMAP=path/to/roadmap (default target/release/roadmap; the crate's `serve` example,
#        target/release/examples/serve, takes the same `serve --model --addr` flags), RUNS=5,
#        SERVE_ARGS (extra server flags, e.g. "--inline-max-bytes 0"), RUST_LOG=warn (the access log off, like the baseline's `--no-access-log`; set info to include it)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
MODEL=${1:?usage: load.sh MODEL_DIR (a model saved by roadmap run phase2)}
ROADMAP=${ROADMAP:-$HERE/../../../target/release/roadmap}
RUNS=${RUNS:-5}
export RUST_LOG=${RUST_LOG:-warn}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }
[ -x "$ROADMAP" ] || { echo "no binary at $ROADMAP: cargo build --release" >&2; exit 1; }

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
URL="http://127.0.0.1:$PORT"
if [[ "$ROADMAP" == */examples/serve ]]; then SUB=(); else SUB=(serve); fi
"$ROADMAP" "${SUB[@]}" --model "$MODEL" --addr "127.0.0.1:$PORT" ${SERVE_ARGS:-} &
PID=$!
trap 'kill -TERM "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true' EXIT

for _ in $(seq 60); do
  curl -fsS "$URL/readyz" >/dev/null 2>&1 && break
  sleep 0.5
done
echo "sanity: $(curl -fsS -H 'content-type: application/json' -d '{"text": "a wonderful, moving film"}' "$URL/v1/predict")"

timeout 30 wrk -t2 -c32 -d3s -s "$HERE/post.lua" "$URL/v1/predict" >/dev/null     # warm-up
OUT=$(mktemp)
for _ in $(seq "$RUNS"); do
  timeout 60 wrk -t2 -c32 -d10s --latency -s "$HERE/post.lua" "$URL/v1/predict" | grep '^{' | tee -a "$OUT"
done

python3 - "$OUT" <<'PYEOF'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
med = {k: statistics.median(r[k] for r in runs) for k in ("rps", "p50_ms", "p99_ms")}
print(json.dumps({"server": "roadmap serve", "wrk": "-t2 -c32 -d10s", "runs": len(runs),
                  "errors": sum(r["non2xx"] + r["socket_errors"] for r in runs), **{f"median_{k}": v for k, v in med.items()}}))
PYEOF
rm -f "$OUT"
