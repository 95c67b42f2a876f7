#!/usr/bin/env bash
# The Python package's CI: a venv with maturin, numpy, pytest, Ray, PySpark, pandas and
# pyarrow (Java 17 is on the machine for Spark); the wheel built with maturin (the `wheel`
# profile: release with thin LTO, minutes on 2 cores instead of the fat-LTO release build's
# tens); the wheel installed alone into a bare venv to prove it needs nothing but numpy; and
# pytest over crates/python/tests (API, errors, threads and GIL, bits equal to `qkv embed`,
# the Ray and Spark pipelines with a worker killed mid-job).
#
# Usage: scripts/ci_python.sh            (from a clean clone; installs what it needs)
# Env:   QKV_MODEL_DIR (default: scripts/fetch_model.sh), PYTHON (default python3),
#        QKV_PY_VENV (default target/py-venv), extra pytest arguments after `--`.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
PYTHON="${PYTHON:-$(command -v python3 || command -v python)}"
VENV="${QKV_PY_VENV:-$PWD/target/py-venv}"
WHEELS="$PWD/target/py-wheels"

echo "== python: venv $VENV"
[[ -x "$VENV/bin/python" ]] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    -r crates/python/requirements-ci.txt
java -version 2>&1 | head -n1

# The CLI in the test profile: .ci/run's `cargo test --workspace` has already built it.
echo "== python: wheel (maturin, wheel profile) and the qkv CLI (for the bit-for-bit test)"
rm -rf "$WHEELS"
"$VENV/bin/maturin" build --profile wheel -m crates/python/Cargo.toml -o "$WHEELS" \
    --interpreter "$VENV/bin/python"
cargo build --profile test -p qkv-cli
WHEEL="$(ls "$WHEELS"/qkv-*.whl)"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --force-reinstall \
    --no-deps "$WHEEL"

echo "== python: the wheel in a bare venv (numpy is its only dependency)"
BARE="$PWD/target/py-bare"
rm -rf "$BARE"
"$PYTHON" -m venv "$BARE"
"$BARE/bin/python" -m pip install --quiet --disable-pip-version-check "$WHEEL"
"$BARE/bin/python" -m pip list --format=freeze | sort
"$BARE/bin/python" - crates/encoder/tests/fixtures/tiny_bert <<'PY'
import sys, numpy, qkv
e = qkv.SentenceEncoder(sys.argv[1]).encode(["bare venv"])
assert e.shape == (1, 32) and e.dtype == numpy.float32, e
print("bare venv: qkv", qkv.__version__, "ok")
PY
rm -rf "$BARE"

echo "== python: pytest"
if [[ -z "${QKV_MODEL_DIR:-}" ]]; then
    QKV_MODEL_DIR="$(scripts/fetch_model.sh | tail -n1)"
fi
export QKV_MODEL_DIR QKV_REQUIRE_MODEL=1 QKV_REQUIRE_ENGINES=1
export QKV_BIN="$PWD/target/debug/qkv"
[[ "${1:-}" == "--" ]] && shift
set +e
(cd crates/python && "$VENV/bin/python" -m pytest tests -p no:cacheprovider -ra --durations=10 "$@")
rc=$?
set -e
if [[ $rc -eq 5 ]]; then
    echo "error: pytest collected no tests (exit 5)" >&2
    exit 1
fi
echo "== python: done in $((SECONDS - start)) s (pytest exit $rc)"
exit $rc
