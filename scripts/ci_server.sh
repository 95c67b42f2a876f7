#!/usr/bin/env bash
# `qkv serve` from the outside, for CI: builds the `qkv` binary, installs the Python test tools
# into a venv (openai, schemathesis, pytest, numpy, requests, aiohttp; pinned), then runs
#   1. pytest crates/server/tests/python: the official openai client, curl and requests against
#      the running server, compared bit for bit with `qkv embed` (f32 and int8) and, on the tiny
#      cross-encoder fixture, `qkv rerank`; SIGTERM with a request in flight (it completes,
#      exit 0);
#   2. schemathesis against /openapi.json of a running server (the embedding model, then the
#      tiny cross-encoder): no 5xx, every response matches the document.
# Uses the real all-MiniLM-L6-v2 when QKV_MODEL_DIR is set, the tiny fixture otherwise.
# Loopback only; every wait is bounded. About 1-3 minutes on 2 cores once the build is there.
#
# Usage: [QKV_BIN=path/to/qkv] scripts/ci_server.sh   (QKV_SERVER_VENV: where the venv lives)
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS

VENV="${QKV_SERVER_VENV:-${QKV_CACHE:-$HOME/.cache/qkv}/server-venv}"
PKGS=(openai==3.57.0 schemathesis==4.32.5 pytest==9.2.0 numpy==2.4.6 requests==2.34.2 aiohttp==3.14.5)
STAMP="$VENV/.qkv-pkgs"
if [[ ! -x "$VENV/bin/python" || "$(cat "$STAMP" 2>/dev/null)" != "${PKGS[*]}" ]]; then
    echo "== venv $VENV"
    PYTHON="${PYTHON:-$(command -v python3 || command -v python)}"
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "${PKGS[@]}"
    echo "${PKGS[*]}" > "$STAMP"
fi
command -v curl >/dev/null || { echo "error: curl is needed" >&2; exit 1; }

# .ci/run passes the binary `cargo test --workspace` just built (its CLI tests need it), so
# nothing is rebuilt; run alone, the script builds one.
if [[ -z "${QKV_BIN:-}" ]]; then
    echo "== build qkv"
    cargo build -p qkv-cli --bin qkv
    QKV_BIN="$PWD/target/debug/qkv"
fi
[[ -x "$QKV_BIN" ]] || { echo "error: no qkv binary at $QKV_BIN" >&2; exit 1; }
export QKV_BIN
if [[ -n "${QKV_MODEL_DIR:-}" ]]; then
    export QKV_SERVER_MODEL="$QKV_MODEL_DIR"
else
    export QKV_SERVER_MODEL="$PWD/crates/encoder/tests/fixtures/tiny_bert"
fi
echo "model: $QKV_SERVER_MODEL"

echo "== pytest (openai client, curl, requests, SIGTERM)"
"$VENV/bin/python" -m pytest -q -p no:cacheprovider crates/server/tests/python

echo "== schemathesis (/openapi.json of the running server)"
"$VENV/bin/python" crates/server/tests/python/run_schemathesis.py "$VENV/bin/schemathesis"

echo "== server checks done in $((SECONDS - start)) s"
