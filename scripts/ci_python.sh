#!/usr/bin/env bash
# The Python package's CI: a venv with maturin, numpy, pytest, Ray, PySpark, pandas and
# pyarrow (Java 17 is on the machine for Spark); the wheel built with maturin in the
# workspace's target/ (the `wheel` profile: opt-level 3 without LTO, so it shares the build
# scripts and proc-macros already compiled and takes minutes, not the fat-LTO release build's
# tens); the wheel installed alone into a bare venv to prove it needs nothing but numpy; and
# pytest over crates/python/tests (API, cross-encoder, errors, threads and GIL, bits equal to
# `qkv embed` and `qkv rerank`, the Ray and Spark pipelines with a worker killed mid-job).
#
# Usage: scripts/ci_python.sh            (from a clean clone; installs what it needs)
# Env:   QKV_MODEL_DIR (default: scripts/fetch_model.sh), PYTHON (default python3),
#        QKV_PY_VENV (default target/py-venv), QKV_BIN (default: target/debug/qkv, built
#        here in the test profile unless it exists), extra pytest arguments after `--`.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
PYTHON="${PYTHON:-$(command -v python3 || command -v python)}"
VENV="${QKV_PY_VENV:-$PWD/target/py-venv}"
WHEELS="$PWD/target/py-wheels"
lap() { echo "python: $1 took $((SECONDS - ${2})) s"; }

echo "== python: venv $VENV"
t=$SECONDS
[[ -x "$VENV/bin/python" ]] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    -r crates/python/requirements-ci.txt
java -version 2>&1 | head -n1
lap "venv" "$t"

# The CLI in the test profile: .ci/run's `cargo test --workspace` has already built it.
echo "== python: wheel (maturin, wheel profile) and the qkv CLI (for the bit-for-bit tests)"
t=$SECONDS
rm -rf "$WHEELS"
"$VENV/bin/maturin" build --profile wheel -m crates/python/Cargo.toml -o "$WHEELS" \
    --interpreter "$VENV/bin/python"
QKV_BIN="${QKV_BIN:-$PWD/target/debug/qkv}"
[[ -x "$QKV_BIN" ]] || cargo build --profile test -p qkv-cli
WHEEL="$(ls "$WHEELS"/qkv-*.whl)"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --force-reinstall \
    --no-deps "$WHEEL"
lap "wheel" "$t"

echo "== python: the wheel in a bare venv (numpy is its only dependency)"
BARE="$PWD/target/py-bare"
rm -rf "$BARE"
"$PYTHON" -m venv "$BARE"
"$BARE/bin/python" -m pip install --quiet --disable-pip-version-check "$WHEEL"
"$BARE/bin/python" -m pip list --format=freeze | sort
"$BARE/bin/python" - crates/encoder/tests/fixtures <<'PY'
import os, sys, numpy, qkv
root = sys.argv[1]
e = qkv.SentenceEncoder(os.path.join(root, "tiny_bert")).encode(["bare venv"])
assert e.shape == (1, 32) and e.dtype == numpy.float32, e
s = qkv.CrossEncoder(os.path.join(root, "families", "bert_reranker")).predict([("q", "d")])
assert s.shape == (1,) and s.dtype == numpy.float32, s
pkg = os.path.dirname(qkv.__file__)
for f in ("__init__.pyi", "py.typed"):
    assert os.path.isfile(os.path.join(pkg, f)), f"{f} missing from the wheel"
print("bare venv: qkv", qkv.__version__, "ok")
PY
rm -rf "$BARE"

echo "== python: pytest"
t=$SECONDS
if [[ -z "${QKV_MODEL_DIR:-}" ]]; then
    QKV_MODEL_DIR="$(scripts/fetch_model.sh | tail -n1)"
fi
export QKV_MODEL_DIR QKV_REQUIRE_MODEL=1 QKV_REQUIRE_ENGINES=1 QKV_BIN
[[ "${1:-}" == "--" ]] && shift
set +e
(cd crates/python && "$VENV/bin/python" -m pytest tests -p no:cacheprovider -ra --durations=12 "$@")
rc=$?
set -e
lap "pytest" "$t"
if [[ $rc -eq 5 ]]; then
    echo "error: pytest collected no tests (exit 5)" >&2
    exit 1
fi
echo "== python: done in $((SECONDS - start)) s (pytest exit $rc)"
exit $rc
