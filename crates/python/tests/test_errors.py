"""Bad input: each failure is an ordinary Python exception carrying the Rust message, and the
interpreter (and the model object) keep working afterwards."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import qkv


@pytest.fixture(scope="module")
def m(tiny_dir):
    return qkv.SentenceEncoder(tiny_dir)


def test_missing_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="no model directory at .*nope"):
        qkv.SentenceEncoder(str(tmp_path / "nope"))


def test_directory_without_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="config.json"):
        qkv.SentenceEncoder(tmp_path)  # os.PathLike accepted


def test_file_instead_of_directory(tiny_dir):
    with pytest.raises(NotADirectoryError):
        qkv.SentenceEncoder(os.path.join(tiny_dir, "config.json"))


@pytest.mark.parametrize(
    "name, content, match",
    [
        ("config.json", b"{ not json", "config.json: invalid JSON"),
        ("model.safetensors", b"\x08\x00\x00\x00\x00\x00\x00\x00{}", "model.safetensors"),
        ("model.safetensors", b"", "model.safetensors"),
        ("tokenizer.json", b"[]", "tokenizer"),
    ],
)
def test_corrupt_files(tmp_path, tiny_dir, name, content, match):
    d = tmp_path / "m"
    shutil.copytree(tiny_dir, d)
    (d / name).write_bytes(content)
    with pytest.raises(RuntimeError, match=match):
        qkv.SentenceEncoder(str(d))


def test_truncated_weights(tmp_path, tiny_dir):
    d = tmp_path / "m"
    shutil.copytree(tiny_dir, d)
    w = (d / "model.safetensors").read_bytes()
    (d / "model.safetensors").write_bytes(w[: len(w) // 2])
    with pytest.raises(RuntimeError, match="model.safetensors"):
        qkv.SentenceEncoder(str(d))


def test_bad_constructor_arguments(tiny_dir):
    with pytest.raises(ValueError, match=r"unsupported precision \"fp16\"; supported: f32, bf16, int8"):
        qkv.SentenceEncoder(tiny_dir, precision="fp16")
    with pytest.raises(ValueError, match="unsupported precision"):
        qkv.SentenceEncoder(tiny_dir, precision="F32")
    with pytest.raises(ValueError, match="threads must be at least 1, got 0"):
        qkv.SentenceEncoder(tiny_dir, threads=0)
    with pytest.raises(ValueError, match="threads must be at least 1"):
        qkv.SentenceEncoder(tiny_dir, threads=-3)
    with pytest.raises(TypeError):
        qkv.SentenceEncoder(tiny_dir, threads="2")
    with pytest.raises(TypeError):
        qkv.SentenceEncoder(42)
    with pytest.raises(TypeError):
        qkv.SentenceEncoder(None)
    with pytest.raises(TypeError):
        qkv.SentenceEncoder(tiny_dir, precision=8)


def test_bad_omp_num_threads(tiny_dir, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "lots")
    with pytest.raises(ValueError, match="OMP_NUM_THREADS"):
        qkv.SentenceEncoder(tiny_dir)
    assert qkv.SentenceEncoder(tiny_dir, threads=1).threads == 1


@pytest.mark.parametrize("bad", [None, 42, b"bytes", bytearray(b"x"), {"a": 1}, 3.5])
def test_sentences_of_wrong_type(m, bad):
    with pytest.raises(TypeError, match="sentences must be a str or a list of str"):
        m.encode(bad)


@pytest.mark.parametrize("bad", [["ok", None], ["ok", 1], ["ok", b"x"], [["nested"]]])
def test_elements_of_wrong_type(m, bad):
    with pytest.raises(TypeError, match=r"sentences\[1\] is|sentences\[0\] is"):
        m.encode(bad)


def test_bad_encode_arguments(m):
    with pytest.raises(ValueError, match="batch_size must be at least 1, got 0"):
        m.encode(["a"], batch_size=0)
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        m.encode(["a"], batch_size=-1)
    with pytest.raises(TypeError):
        m.encode(["a"], batch_size="32")
    with pytest.raises(ValueError, match=r"dimensions must be in 1..=32"):
        m.encode(["a"], dimensions=0)
    with pytest.raises(ValueError, match=r"dimensions must be in 1..=32"):
        m.encode(["a"], dimensions=33)
    with pytest.raises(TypeError):
        m.encode(["a"], normalize_embeddings="yes")
    with pytest.raises(TypeError):
        m.encode(["a"], prompt_name=3)
    with pytest.raises(TypeError):
        m.encode(["a"], prompt=b"q: ")
    with pytest.raises(TypeError):
        m.encode(["a"], truncate=None)
    with pytest.raises(TypeError):
        m.encode(["a"], no_such_option=True)


def test_nul_bytes_are_text(m):
    e = m.encode(["a\x00b", "\x00", "cat\x00"])
    assert e.shape == (3, 32) and np.isfinite(e).all()
    assert np.array_equal(m.encode("a\x00b"), e[0])


def test_lone_surrogates(m):
    with pytest.raises(ValueError, match=r"sentences\[1\] is not valid Unicode"):
        m.encode(["fine", "bad \udc80 text"])
    with pytest.raises(ValueError, match="the sentence is not valid Unicode"):
        m.encode("\ud800")
    fixed = "bad \udc80 text".encode("utf-8", "replace").decode()
    assert m.encode([fixed]).shape == (1, 32)


def test_non_bmp_and_odd_unicode(m):
    texts = ["🙂" * 50, "e\u0301", "\u200b\u200b", "\ufeff", "a" * 100_000]
    e = m.encode(texts)
    assert e.shape == (5, 32) and np.isfinite(e).all()


def test_million_element_list(m):
    # Every element is checked before anything is computed: a bad one at the end fails fast.
    big = ["a cat"] * 1_000_000
    big[-1] = 7
    with pytest.raises(TypeError, match=r"sentences\[999999\] is int"):
        m.encode(big)
    big[-1] = "\udc80"
    with pytest.raises(ValueError, match=r"sentences\[999999\] is not valid Unicode"):
        m.encode(big)
    # The same list with every element valid goes through (only its last 20,000 texts here:
    # all million tokenize in ~20 s and embed in ~75 s on 2 cores with this tiny model, too
    # slow for every CI run), duplicates to the same bits.
    big[-1] = "the dog"
    tail = big[-20_000:]
    assert m.tokenize(tail)["input_ids"].shape == (20_000, 4)
    e = m.encode(tail, batch_size=256)
    assert e.shape == (20_000, 32)
    assert np.array_equal(e[0], e[19_998])
    assert np.array_equal(e[-1], m.encode("the dog"))


def test_panic_is_a_runtime_error(m):
    with pytest.raises(RuntimeError, match="qkv internal error.*boom"):
        qkv._panic_for_tests("boom")
    # The interpreter and the model still work.
    assert m.encode("a cat").shape == (32,)


def test_failed_call_leaves_encoder_usable(m):
    before = m.encode(["the cat sat"])
    with pytest.raises(TypeError):
        m.encode(["x", None])
    assert np.array_equal(m.encode(["the cat sat"]), before)


def test_panic_in_subprocess_keeps_interpreter():
    code = (
        "import qkv\n"
        "try:\n    qkv._panic_for_tests('x')\nexcept RuntimeError as e:\n    print('caught', e)\n"
        "print('alive')\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "caught qkv internal error" in r.stdout and "alive" in r.stdout
