"""The examples' engine-free parts: text files split into lines exactly as `qkv embed`
reads them, and the Arrow table Ray writes."""

from __future__ import annotations

import numpy as np
import pipelines  # noqa: F401  (puts examples/ on sys.path)
import pytest


@pytest.mark.parametrize("mod", ["ray_embed", "spark_embed"])
def test_split_lines(mod):
    split = __import__(mod).split_lines
    assert split("a\r\nb\n\nc") == ["a", "b", "", "c"]
    assert split("a\n") == ["a"]
    assert split("") == []
    assert split("\n") == [""]
    # Only "\n" ends a line, as in `qkv embed` (str.splitlines would also split at these).
    assert split("x\x0by\x1cz\u2028w\x85v") == ["x\x0by\x1cz\u2028w\x85v"]


def test_embedding_table_keeps_bits():
    import ray_embed

    emb = np.random.default_rng(0).standard_normal((5, 7)).astype(np.float32)
    emb[0, 0] = np.float32(1e-45)  # a subnormal survives too
    t = ray_embed.embedding_table(np.arange(5), emb)
    back = np.array(t.column("embedding").to_pylist(), dtype=np.float32)
    assert np.array_equal(back.view(np.uint32), emb.view(np.uint32))
    assert t.column("id").to_pylist() == list(range(5))
