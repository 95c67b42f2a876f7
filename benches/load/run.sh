#!/usr/bin/env bash
# The server load test beside the offline numbers, in one session (loopback only, every phase
# bounded):
#   1. offline: `qkv bench embed` (the 32-sentence benchmark batch) and `qkv embed --batch-size 32`
#      over 1024 sentences of the load's distribution;
#   2. `qkv serve` on 127.0.0.1 (ephemeral port) and benches/load/loadgen.py against it: 64
#      clients (10 s warm-up, 30 s measured), 10 s of overload at 4x, 10 s of recovery, then
#      the concurrency sweep ($SWEEP clients, $SWEEP_SECONDS s each);
#   3. SIGTERM, and the server's exit status; 4. the offline runs again (the machine may drift);
#   5. with INFINITY=path/to/infinity_emb: Infinity serving INFINITY_MODEL (a directory) under
#      the same steady load and sweep (its `/embeddings` route; INFINITY_ENGINE, default torch);
#   6. everything in one file, OUT_DIR/server_run.json (with the load average at each phase).
# Usage: [THREADS=2] [SWEEP=1,4,16,64] [INFINITY=... INFINITY_MODEL=...] [PHASES=before,qkv,after,infinity] \
#        benches/load/run.sh QKV_BIN MODEL_DIR [OUT_DIR] [SERVE_ARGS...]
# PHASES picks the steps (all by default); results of earlier runs into the same OUT_DIR stay.
# Needs python with aiohttp (scripts/ci_server.sh's venv: $HOME/.cache/qkv/server-venv).
set -euo pipefail
BIN="$1"; MODEL="$2"; OUT="${3:-load-out}"; shift $(( $# < 3 ? $# : 3 ))
PY="${PYTHON:-${QKV_CACHE:-$HOME/.cache/qkv}/server-venv/bin/python}"
HERE="$(cd "$(dirname "$0")" && pwd)"
THREADS="${THREADS:-2}"
SWEEP="${SWEEP:-1,4,16,64}"
SWEEP_SECONDS="${SWEEP_SECONDS:-10}"
PHASES=",${PHASES:-before,qkv,after,infinity},"
mkdir -p "$OUT"

# Offline, the same sentences: `qkv embed` over a file of the load's distribution, batches of 32;
# and `qkv bench embed` on the benchmark batch.
"$PY" "$HERE/loadgen.py" --dump "${OFFLINE_SENTENCES:-1024}" "$OUT/sentences.txt"
offline() {
    echo "load1 $(cut -d' ' -f1 /proc/loadavg)" >> "$OUT/offline_$1.txt"
    "$BIN" bench embed --model "$MODEL" --threads "$THREADS" --json > "$OUT/bench_embed_$1.json"
    "$BIN" embed --model "$MODEL" --threads "$THREADS" --input "$OUT/sentences.txt" \
        --batch-size 32 --format npy --output "$OUT/offline.npy" 2>&1 | tail -n1 \
        | tee -a "$OUT/offline_$1.txt" >&2
    echo "load1 $(cut -d' ' -f1 /proc/loadavg)" >> "$OUT/offline_$1.txt"
}
if [[ $PHASES == *,before,* ]]; then
    echo "== offline before: qkv bench embed, qkv embed --batch-size 32" >&2
    offline before
fi

# Waits for `pattern` in `log` (the server's ready line) while `pid` lives; prints the URL.
wait_url() {
    local log="$1" pid="$2" re="$3" url=""
    for _ in $(seq 1 1200); do
        url="$(grep -o "$re" "$log" | head -n1 | grep -o 'http://[0-9.:]*')" || true
        [[ -n "$url" ]] && { echo "$url"; return 0; }
        kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; return 1; }
        sleep 0.1
    done
    return 1
}

rc=0
if [[ $PHASES == *,qkv,* ]]; then
echo "== qkv serve" >&2
"$BIN" serve --model "$MODEL" --port 0 --threads "$THREADS" "$@" 2> "$OUT/server.log" &
PID=$!
trap 'kill -TERM $PID 2>/dev/null || true' EXIT
URL="$(wait_url "$OUT/server.log" $PID 'ready, listening on http://[0-9.:]*')" \
    || { echo "server not ready" >&2; exit 1; }
echo "server at $URL (pid $PID)" >&2
"$PY" "$HERE/loadgen.py" --url "$URL" --pid $PID --json "$OUT/qkv.json" --sweep "$SWEEP" \
    --sweep-seconds "$SWEEP_SECONDS" ${LOADGEN_ARGS:-} || rc=$?
kill -TERM $PID
wait $PID && echo "server exited 0" >&2 || { echo "server exited $?" >&2; rc=1; }
trap - EXIT
fi

if [[ $PHASES == *,after,* ]]; then
    echo "== offline after: qkv bench embed, qkv embed --batch-size 32" >&2
    offline after
fi

if [[ -n "${INFINITY:-}" && $PHASES == *,infinity,* ]]; then
    echo "== Infinity ($INFINITY, model ${INFINITY_MODEL:?set INFINITY_MODEL})" >&2
    PORT="$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
    HF_HUB_OFFLINE=1 INFINITY_ANONYMOUS_USAGE_STATS=0 DO_NOT_TRACK=1 \
        "$INFINITY" v2 --model-id "$INFINITY_MODEL" --served-model-name load \
        --engine "${INFINITY_ENGINE:-torch}" \
        --device cpu --host 127.0.0.1 --port "$PORT" --batch-size 32 --no-model-warmup \
        > "$OUT/infinity.log" 2>&1 &
    IPID=$!
    trap 'kill -TERM $IPID 2>/dev/null || true' EXIT
    for _ in $(seq 1 1800); do
        curl -sf "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break
        kill -0 $IPID 2>/dev/null || { tail -n 40 "$OUT/infinity.log" >&2; exit 1; }
        sleep 0.2
    done
    "$PY" "$HERE/loadgen.py" --url "http://127.0.0.1:$PORT" --pid $IPID --path /embeddings \
        --model load --no-truncate --overload 0 --json "$OUT/infinity.json" --sweep "$SWEEP" \
        --sweep-seconds "$SWEEP_SECONDS" ${LOADGEN_ARGS:-} || rc=$?
    kill -TERM $IPID; wait $IPID || true
    trap - EXIT
fi

"$PY" - "$OUT" <<'EOF'
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
def read(name):
    p = out / name
    return json.loads(p.read_text()) if p.exists() else None
def offline(tag):
    if not (out / f"offline_{tag}.txt").exists():
        return None
    lines = (out / f"offline_{tag}.txt").read_text().split("\n")
    bench_file = out / f"bench_embed_{tag}.json"
    bench = [json.loads(l) for l in bench_file.read_text().splitlines() if l.strip()]
    return {"bench_embed": bench, "qkv_embed_line": next((l for l in lines if "sentences" in l), None),
            "load1": [float(l.split()[1]) for l in lines if l.startswith("load1 ")]}
run = {"offline_before": offline("before"), "offline_after": offline("after"),
       "qkv": read("qkv.json"), "infinity": read("infinity.json")}
(out / "server_run.json").write_text(json.dumps(run, indent=2) + "\n")
print(f"wrote {out / 'server_run.json'}", file=sys.stderr)
EOF
exit $rc
