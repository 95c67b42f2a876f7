"""Shared fixtures: model directories, the `qkv` CLI binary, a deterministic corpus.

- tiny_dir: the tiny BERT fixture of crates/encoder (fast; the pipelines' 5,000-sentence runs).
- minilm_dir: all-MiniLM-L6-v2 from QKV_MODEL_DIR (scripts/fetch_model.sh); the tests that
  need it are skipped without it, or fail when QKV_REQUIRE_MODEL=1 (as in CI).
- qkv_bin: the `qkv` binary from QKV_BIN (scripts/ci_python.sh builds it), for bit-for-bit
  comparisons with `qkv embed`.
"""

from __future__ import annotations

import os
import pathlib
import random

import pytest

REPO = pathlib.Path(__file__).resolve().parents[3]
TINY = REPO / "crates" / "encoder" / "tests" / "fixtures" / "tiny_bert"
EXAMPLES = REPO / "examples"

_WORDS = (
    "the a cat dog river mountain quickly slowly reads writes model embedding vector "
    "distributed cluster worker spark ray rust python fast exact transformer encoder "
    "attention softmax sentence token batch thread numbers 42 3.14 über café naïve "
    "東京 données résumé emoji 🙂 , . ! ?"
).split()


def corpus(n: int, seed: int = 0) -> list[str]:
    """`n` deterministic sentences of 1 to 60 words (some longer than 128 tokens would be
    rare; a few empty strings and duplicates are included on purpose)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        if i % 997 == 0:
            out.append("")
        elif i % 501 == 0 and out:
            out.append(out[-1])
        else:
            out.append(" ".join(rng.choice(_WORDS) for _ in range(rng.randint(1, 60))))
    return out


def _require_model() -> bool:
    return os.environ.get("QKV_REQUIRE_MODEL") == "1"


@pytest.fixture(scope="session")
def tiny_dir() -> str:
    assert (TINY / "config.json").is_file(), TINY
    return str(TINY)


@pytest.fixture(scope="session")
def minilm_dir() -> str:
    d = os.environ.get("QKV_MODEL_DIR")
    if not d or not os.path.isfile(os.path.join(d, "model.safetensors")):
        if _require_model():
            pytest.fail("QKV_REQUIRE_MODEL=1 but QKV_MODEL_DIR is not a model directory")
        pytest.skip("QKV_MODEL_DIR not set (scripts/fetch_model.sh prints it)")
    return d


@pytest.fixture(scope="session")
def qkv_bin() -> str:
    b = os.environ.get("QKV_BIN")
    if not b or not os.access(b, os.X_OK):
        if _require_model():
            pytest.fail("QKV_REQUIRE_MODEL=1 but QKV_BIN is not the qkv binary")
        pytest.skip("QKV_BIN not set (the qkv CLI binary)")
    return b
