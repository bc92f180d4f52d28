#!/usr/bin/env bash
# Load benchmark of `roadmap rag serve`, measured the way the FastAPI baseline is (a FastAPI +
# sentence-transformers + rank_bm25 service over the same SQuAD paragraphs, hybrid = convex fusion
# α = 0.5 of min-max-normalised dense and BM25 scores): ingest the SQuAD subset into a fresh SQLite
# store (one chunk per paragraph), start the service on 127.0.0.1:<free port> with hybrid convex
# α = 0.5 retrieval, warm up 3 s, then run `wrk -t2 -c32 -d10s --latency` RUNS times (default 3)
# with the file's first 500 questions round-robin. Prints each run as JSON, then the medians as JSON
# on the last line, with the 5xx count read back from the service's own /metrics (wrk counts 429s
# and 5xx alike).
#
# Usage: milestones/rag-service/bench/load.sh [search|ask|c1000]   (needs wrk: apt-get install -y wrk)
#   search  /v1/search, -c32 (the baseline's measurement)
#   ask     /v1/ask with the extractive generator, -c32 (goal: p50 under 20 ms)
#   c1000   -c1000 for 10 s on /v1/search, then on /healthz: socket errors and 5xx must be zero
# Env: ROADMAP=path/to/roadmap (default target/release/roadmap), RUNS=3,
#      SQUAD=SQuAD-format file (default data/squad/squad_dev_subset.json), RUST_LOG=warn,
#      MODEL_DIR=all-MiniLM-L6-v2 directory (default: the asset cache)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$HERE/../../.."
WHAT=${1:-search}
ROADMAP=${ROADMAP:-$ROOT/target/release/roadmap}
RUNS=${RUNS:-3}
SQUAD=${SQUAD:-$ROOT/data/squad/squad_dev_subset.json}
export RUST_LOG=${RUST_LOG:-warn}
case "$WHAT" in search|ask|c1000) ;; *) echo "unknown benchmark '$WHAT': use search, ask or c1000" >&2; exit 2;; esac
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }
[ -x "$ROADMAP" ] || { echo "no binary at $ROADMAP: cargo build --release" >&2; exit 1; }
[ -f "$SQUAD" ] || { echo "no SQuAD file at $SQUAD (set SQUAD)" >&2; exit 1; }

TMP=$(mktemp -d)
PID=
cleanup() {
  if [ -n "$PID" ]; then kill -TERM "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
  rm -rf "$TMP"
}
trap cleanup EXIT
MODEL_FLAG=()
[ -n "${MODEL_DIR:-}" ] && MODEL_FLAG=(--model-dir "$MODEL_DIR")

echo "ingesting $(basename "$SQUAD") into a fresh store" >&2
"$ROADMAP" rag --store "$TMP/rag.sqlite" "${MODEL_FLAG[@]}" ingest "$SQUAD" --collection squad --json >"$TMP/ingest.json"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
URL="http://127.0.0.1:$PORT"
cat >"$TMP/service.toml" <<TOML
[server]
addr = "127.0.0.1:$PORT"
[store]
url = "$TMP/rag.sqlite"
[retrieval]
default_collection = "squad"
mode = "hybrid"
fusion = "convex"
alpha = 0.5
TOML
if [ "$WHAT" = c1000 ]; then ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"; fi
"$ROADMAP" rag --store "$TMP/rag.sqlite" "${MODEL_FLAG[@]}" serve --config "$TMP/service.toml" &
PID=$!
for _ in $(seq 240); do
  curl -fsS "$URL/readyz" >/dev/null 2>&1 && break
  kill -0 "$PID" 2>/dev/null || { echo "the service exited before it was ready" >&2; exit 1; }
  sleep 0.5
done
curl -fsS "$URL/readyz" >/dev/null || { echo "the service did not become ready in 120 s" >&2; exit 1; }

status_5xx() {
  curl -fsS "$URL/metrics" | awk '/^roadmap_rag_requests_total\{/ && /status="5/ { s += $NF } END { print s + 0 }'
}

OUT="$TMP/runs.jsonl"
case "$WHAT" in
  search|ask)
    if [ "$WHAT" = search ]; then ROUTE=/v1/search; FIELD=query; else ROUTE=/v1/ask; FIELD=question; fi
    python3 "$HERE/make_lua.py" "$SQUAD" "$TMP/load.lua" 500 5 "$FIELD"
    echo "sanity: $(curl -fsS -H 'content-type: application/json' -d "{\"$FIELD\": \"Who was born in Warsaw?\", \"k\": 5}" "$URL$ROUTE" | head -c 300)" >&2
    timeout 30 wrk -t2 -c32 -d3s -s "$TMP/load.lua" "$URL$ROUTE" >/dev/null
    for _ in $(seq "$RUNS"); do
      timeout 60 wrk -t2 -c32 -d10s --latency -s "$TMP/load.lua" "$URL$ROUTE" | grep '^{' | tee -a "$OUT"
    done
    ;;
  c1000)
    ROUTE="/v1/search and /healthz"
    python3 "$HERE/make_lua.py" "$SQUAD" "$TMP/load.lua" 500 5 query
    timeout 60 wrk -t2 -c1000 -d10s --latency -s "$TMP/load.lua" "$URL/v1/search" | grep '^{' | tee -a "$OUT"
    timeout 60 wrk -t2 -c1000 -d10s --latency -s "$HERE/get.lua" "$URL/healthz" | grep '^{' | tee -a "$OUT"
    ;;
esac
FIVE=$(status_5xx)

python3 - "$OUT" "$WHAT" "$ROUTE" "$FIVE" <<'PYEOF'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
med = {k: statistics.median(r[k] for r in runs) for k in ("rps", "p50_ms", "p99_ms")}
print(json.dumps({"server": "roadmap rag serve", "benchmark": sys.argv[2], "route": sys.argv[3],
                  "runs": len(runs), "non2xx": sum(r["non2xx"] for r in runs),
                  "socket_errors": sum(r["socket_errors"] for r in runs),
                  "status_5xx": int(sys.argv[4]), **{f"median_{k}": v for k, v in med.items()}}))
PYEOF
