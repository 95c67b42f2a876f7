"""`encode` gives the same bits as `qkv embed` (the CLI binary, a separate process through
files), for the tiny fixture and for all-MiniLM-L6-v2, with different batch sizes on the two
sides, and with the library's options (precision, Matryoshka dimensions, a prompt)."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest
import qkv
from conftest import corpus


def _cli_embed(qkv_bin, model, texts, tmp_path, batch_size, extra=()):
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts), encoding="utf-8")
    out = tmp_path / "out.npy"
    r = subprocess.run(
        [qkv_bin, "embed", "--model", model, "--input", str(src), "--output", str(out),
         "--format", "npy", "--batch-size", str(batch_size), "--threads", "2", *extra],
        capture_output=True, text=True, timeout=600,
    )
    assert r.returncode == 0, r.stderr
    return np.load(out)


@pytest.mark.parametrize("model_fixture, n", [("tiny_dir", 2000), ("minilm_dir", 120)])
def test_same_bits_as_cli(request, qkv_bin, tmp_path, model_fixture, n):
    model = request.getfixturevalue(model_fixture)
    texts = corpus(n, seed=11)
    cli = _cli_embed(qkv_bin, model, texts, tmp_path, batch_size=64)
    py = qkv.SentenceEncoder(model, threads=1).encode(texts, batch_size=17)
    assert cli.dtype == np.float32 and cli.shape == py.shape
    diff = np.flatnonzero((cli.view(np.uint32) != py.view(np.uint32)).any(axis=1))
    assert diff.size == 0, f"{diff.size} rows differ, first {diff[:5]}"


@pytest.mark.parametrize("precision", ["bf16", "int8"])
def test_same_bits_as_cli_with_options(qkv_bin, tiny_dir, tmp_path, precision):
    texts = corpus(600, seed=12)
    cli = _cli_embed(qkv_bin, tiny_dir, texts, tmp_path, batch_size=64,
                     extra=["--precision", precision, "--dimensions", "16", "--prompt", "the "])
    py = qkv.SentenceEncoder(tiny_dir, threads=1, precision=precision).encode(
        texts, batch_size=5, dimensions=16, prompt="the ")
    assert cli.shape == py.shape == (600, 16)
    assert np.array_equal(cli.view(np.uint32), py.view(np.uint32))
