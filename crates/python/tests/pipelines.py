"""Helpers shared by the Ray and Spark tests: the corpus on disk, the single-process reference,
and the bit-for-bit comparison of a pipeline's Parquet output with it."""

from __future__ import annotations

import functools
import os
import sys

import numpy as np
import pytest
from conftest import EXAMPLES, corpus

N_SENTENCES = 5000
TESTS = os.path.dirname(os.path.abspath(__file__))
# Workers (Ray actors, Spark Python workers) import the examples and the fault injection.
WORKER_PATH = os.pathsep.join([str(EXAMPLES), TESTS, os.environ.get("PYTHONPATH", "")])
sys.path[:0] = [str(EXAMPLES)]


def engine(name: str):
    """Imports a distributed engine, or skips (fails under QKV_REQUIRE_ENGINES=1, as in CI)."""
    if os.environ.get("QKV_REQUIRE_ENGINES") == "1":
        return __import__(name)
    return pytest.importorskip(name)


def texts() -> list[str]:
    return corpus(N_SENTENCES, seed=2024)


@functools.lru_cache(maxsize=None)
def reference(model: str, precision: str | None = None) -> np.ndarray:
    """Single-process `encode` of the corpus (one read-only array, computed once)."""
    import qkv

    ref = qkv.SentenceEncoder(model, precision=precision).encode(texts(), batch_size=32)
    ref.flags.writeable = False
    return ref


def read_output(path: str) -> tuple[list, np.ndarray]:
    import pyarrow.parquet as pq

    t = pq.read_table(path)
    ids = t.column("id").to_pylist()
    emb = np.array(t.column("embedding").to_pylist(), dtype=np.float32)
    return ids, emb


def assert_same_bits(ids: list, emb: np.ndarray, index_of, ref: np.ndarray) -> None:
    """Every input row exactly once, each embedding equal to the reference bit for bit."""
    assert len(ids) == len(ref), (len(ids), len(ref))
    rows = np.array([index_of(i) for i in ids])
    assert sorted(rows.tolist()) == list(range(len(ref))), "rows missing or duplicated"
    assert emb.shape == ref.shape
    got = emb.view(np.uint32)
    want = ref[rows].view(np.uint32)
    bad = np.flatnonzero((got != want).any(axis=1))
    assert bad.size == 0, f"{bad.size} rows differ from single-process encode"
