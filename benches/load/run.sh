#!/usr/bin/env bash
# The server load test beside the offline number, in one session:
#   1. offline: `qkv embed --batch-size 32` over 1024 sentences of the load's distribution;
#   2. `qkv serve` on 127.0.0.1 (ephemeral port) and benches/load/loadgen.py against it:
#      64 clients for 30 s, then 10 s of overload at 4x, then 10 s of recovery;
#   3. SIGTERM, and the server's exit status; 4. the offline run again (the machine may drift).
# Usage: [LOADGEN_ARGS="--duration 30 ..."] benches/load/run.sh QKV_BIN MODEL_DIR [OUT_DIR] [SERVE_ARGS...]
# Needs python with aiohttp (scripts/ci_server.sh's venv: $HOME/.cache/qkv/server-venv).
set -euo pipefail
BIN="$1"; MODEL="$2"; OUT="${3:-load-out}"; shift $(( $# < 3 ? $# : 3 ))
PY="${PYTHON:-${QKV_CACHE:-$HOME/.cache/qkv}/server-venv/bin/python}"
HERE="$(cd "$(dirname "$0")" && pwd)"
mkdir -p "$OUT"

# Offline, the same sentences: `qkv embed` over a file of the load's distribution, batches of 32.
"$PY" "$HERE/loadgen.py" --dump "${OFFLINE_SENTENCES:-1024}" "$OUT/sentences.txt"
offline() {
    "$BIN" embed --model "$MODEL" --input "$OUT/sentences.txt" --batch-size 32 \
        --format npy --output "$OUT/offline.npy" 2>&1 | tail -n1 | tee -a "$OUT/offline.txt" >&2
}
echo "== offline before: qkv embed --batch-size 32" >&2
offline

echo "== server" >&2
"$BIN" serve --model "$MODEL" --port 0 "$@" 2> "$OUT/server.log" &
PID=$!
trap 'kill -TERM $PID 2>/dev/null || true' EXIT
URL=""
for _ in $(seq 1 600); do
    URL="$(grep -o 'ready, listening on http://[0-9.:]*' "$OUT/server.log" | head -n1 | sed 's/.* //')" || true
    [[ -n "$URL" ]] && break
    kill -0 $PID 2>/dev/null || { cat "$OUT/server.log" >&2; exit 1; }
    sleep 0.1
done
[[ -n "$URL" ]] || { echo "server not ready" >&2; exit 1; }
echo "server at $URL (pid $PID)" >&2

rc=0
"$PY" "$HERE/loadgen.py" --url "$URL" --pid $PID --json "$OUT/load.json" ${LOADGEN_ARGS:-} || rc=$?
kill -TERM $PID
wait $PID && echo "server exited 0" >&2 || { echo "server exited $?" >&2; rc=1; }
trap - EXIT
echo "== offline after: qkv embed --batch-size 32" >&2
offline
exit $rc
