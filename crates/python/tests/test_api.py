"""The SentenceEncoder API: shapes, order, options, tokenization, against sentence-transformers'
own outputs (tiny BERT fixture's expected.safetensors, MiniLM's benchmark batch)."""

from __future__ import annotations

import json
import os
import pickle
import shutil

import numpy as np
import pytest
import qkv
from conftest import REPO, TINY, corpus
from safetensors_np import load

EXPECTED = load(str(TINY / "expected.safetensors"))
TINY_SENTENCES = json.loads((TINY / "expected.json").read_text())["sentences"]
BATCH32 = REPO / "crates" / "encoder" / "tests" / "fixtures" / "bench" / "minilm_batch32.json"


def test_module_metadata():
    assert isinstance(qkv.__version__, str) and qkv.__version__
    assert qkv.PRECISIONS == ["f32", "bf16", "int8"]


def test_properties(tiny_dir):
    m = qkv.SentenceEncoder(tiny_dir, threads=2)
    assert m.dim == 32
    assert m.get_sentence_embedding_dimension() == 32
    assert m.max_seq_length == 24
    assert m.threads == 2
    assert m.prompts == {}
    assert m.default_prompt_name is None
    assert m.precision == "f32"
    assert "dim=32" in repr(m) and "precision=\"f32\"" in repr(m)


def test_matches_sentence_transformers_tiny(tiny_dir):
    m = qkv.SentenceEncoder(tiny_dir)
    got = m.encode(TINY_SENTENCES)
    assert got.dtype == np.float32 and got.shape == (6, 32)
    assert got.flags.c_contiguous and got.flags.writeable
    np.testing.assert_allclose(got, EXPECTED["sentence_embedding"], rtol=0, atol=1e-5)
    raw = m.encode(TINY_SENTENCES, normalize_embeddings=False)
    np.testing.assert_allclose(raw, EXPECTED["mean_pooled_unnormalized"], rtol=0, atol=1e-5)


def test_matches_sentence_transformers_minilm(minilm_dir):
    batch = json.loads(BATCH32.read_text())
    m = qkv.SentenceEncoder(minilm_dir)
    got = m.encode(batch["sentences"])
    assert got.shape == (32, 384)
    np.testing.assert_allclose(got, np.array(batch["expected_embeddings"]), rtol=0, atol=1e-4)


def test_tokenize_matches_fixture(tiny_dir):
    m = qkv.SentenceEncoder(tiny_dir)
    t = m.tokenize(TINY_SENTENCES)
    assert set(t) == {"input_ids", "token_type_ids", "attention_mask"}
    for k in t:
        assert t[k].dtype == np.int64
        np.testing.assert_array_equal(t[k], EXPECTED[k])
    one = m.tokenize("Hello, world")
    np.testing.assert_array_equal(one["input_ids"], EXPECTED["input_ids"][2:3, :5])
    assert m.tokenize([])["input_ids"].shape == (0, 0)


def test_single_string_and_order(tiny_dir):
    m = qkv.SentenceEncoder(tiny_dir)
    texts = corpus(300, seed=3)
    all_ = m.encode(texts, batch_size=7)
    assert all_.shape == (300, 32)
    for i in (0, 1, 150, 299):
        one = m.encode(texts[i])
        assert one.shape == (32,)
        assert np.array_equal(one, all_[i]), i
    rev = m.encode(texts[::-1], batch_size=64)
    assert np.array_equal(rev[::-1], all_)


def test_iterables_and_empty(tiny_dir):
    m = qkv.SentenceEncoder(tiny_dir)
    texts = ["a cat", "the dog", "a cat"]
    ref = m.encode(texts)
    assert np.array_equal(m.encode(tuple(texts)), ref)
    assert np.array_equal(m.encode(iter(texts)), ref)
    assert np.array_equal(m.encode(np.array(texts)), ref)
    assert np.array_equal(ref[0], ref[2])
    empty = m.encode([])
    assert empty.shape == (0, 32) and empty.dtype == np.float32
    assert m.encode([""]).shape == (1, 32)


def test_batch_size_and_threads_do_not_change_bits(tiny_dir):
    texts = corpus(500, seed=5)
    ref = qkv.SentenceEncoder(tiny_dir, threads=1).encode(texts, batch_size=1)
    for threads, bs in [(1, 32), (2, 7), (2, 500), (3, 1000)]:
        got = qkv.SentenceEncoder(tiny_dir, threads=threads).encode(texts, batch_size=bs)
        assert np.array_equal(got, ref), (threads, bs)


def test_normalization(tiny_dir):
    m = qkv.SentenceEncoder(tiny_dir)
    texts = corpus(50, seed=1)[1:]
    on = m.encode(texts)
    np.testing.assert_allclose(np.linalg.norm(on, axis=1), 1.0, rtol=1e-6)
    assert np.array_equal(m.encode(texts, normalize_embeddings=True), on)
    off = m.encode(texts, normalize_embeddings=False)
    assert not np.allclose(np.linalg.norm(off, axis=1), 1.0)
    np.testing.assert_allclose(off / np.linalg.norm(off, axis=1, keepdims=True), on, atol=1e-6)


def test_dimensions_truncate_then_normalize(tiny_dir):
    m = qkv.SentenceEncoder(tiny_dir)
    texts = corpus(40, seed=2)[1:]
    full_raw = m.encode(texts, normalize_embeddings=False)
    d8 = m.encode(texts, dimensions=8)
    assert d8.shape == (39, 8)
    want = full_raw[:, :8].astype(np.float64)
    want /= np.linalg.norm(want, axis=1, keepdims=True)
    np.testing.assert_allclose(d8, want, atol=1e-6)
    raw8 = m.encode(texts, dimensions=8, normalize_embeddings=False)
    assert np.array_equal(raw8, full_raw[:, :8])
    assert m.encode("a cat", dimensions=5).shape == (5,)
    assert m.encode(texts, dimensions=32).shape == (39, 32)


@pytest.fixture
def prompt_dir(tmp_path, tiny_dir):
    d = tmp_path / "tiny_prompts"
    shutil.copytree(tiny_dir, d)
    (d / "config_sentence_transformers.json").write_text(
        json.dumps({"prompts": {"query": "the cat ", "doc": ""}, "default_prompt_name": None})
    )
    return str(d)


def test_prompts(prompt_dir):
    m = qkv.SentenceEncoder(prompt_dir)
    assert m.prompts == {"query": "the cat ", "doc": ""}
    assert m.default_prompt_name is None
    assert np.array_equal(m.encode(["sat"], prompt_name="query"), m.encode(["the cat sat"]))
    assert np.array_equal(m.encode(["sat"], prompt="the cat "), m.encode(["the cat sat"]))
    assert np.array_equal(m.encode(["sat"], prompt_name="doc"), m.encode(["sat"]))
    t = m.tokenize(["sat"], prompt_name="query")["input_ids"]
    assert np.array_equal(t, m.tokenize(["the cat sat"])["input_ids"])
    with pytest.raises(ValueError, match=r'unknown prompt name "passage".*\["doc", "query"\]'):
        m.encode(["sat"], prompt_name="passage")
    with pytest.raises(ValueError, match="not both"):
        m.encode(["sat"], prompt_name="query", prompt="q: ")


def test_default_prompt(prompt_dir, tiny_dir):
    cfg = os.path.join(prompt_dir, "config_sentence_transformers.json")
    with open(cfg, "w") as f:
        json.dump({"prompts": {"query": "the cat "}, "default_prompt_name": "query"}, f)
    m = qkv.SentenceEncoder(prompt_dir)
    assert m.default_prompt_name == "query"
    plain = qkv.SentenceEncoder(tiny_dir)
    assert np.array_equal(m.encode("sat"), plain.encode("the cat sat"))
    assert np.array_equal(m.encode("sat", prompt_name="query"), plain.encode("the cat sat"))
    # An explicit empty prompt turns the default off.
    assert np.array_equal(m.encode("sat", prompt=""), plain.encode("sat"))


def test_bad_prompt_config(prompt_dir):
    cfg = os.path.join(prompt_dir, "config_sentence_transformers.json")
    with open(cfg, "w") as f:
        json.dump({"prompts": {"query": "q: "}, "default_prompt_name": "passage"}, f)
    with pytest.raises(RuntimeError, match='default_prompt_name.*"passage" is not among the prompts'):
        qkv.SentenceEncoder(prompt_dir)


def test_no_prompts(tiny_dir):
    with pytest.raises(ValueError, match=r'unknown prompt name "query".*\[\]'):
        qkv.SentenceEncoder(tiny_dir).encode("x", prompt_name="query")


def test_truncate_off_names_the_long_text(tiny_dir):
    m = qkv.SentenceEncoder(tiny_dir)
    long = " ".join(["cat"] * 100)
    cut = m.encode(["a dog", long])
    assert cut.shape == (2, 32)
    assert np.array_equal(m.encode(["a dog", long], truncate=True), cut)
    with pytest.raises(ValueError, match=r"input 1 has \d+ tokens, more than the model's limit of 24"):
        m.encode(["a dog", long], truncate=False)
    assert np.array_equal(m.encode(["a dog"], truncate=False), cut[:1])


@pytest.mark.parametrize("precision, atol", [("bf16", 0.05), ("int8", 0.1)])
def test_precisions(tiny_dir, precision, atol):
    f32 = qkv.SentenceEncoder(tiny_dir).encode(TINY_SENTENCES)
    m = qkv.SentenceEncoder(tiny_dir, precision=precision)
    assert m.precision == precision
    got = m.encode(TINY_SENTENCES)
    assert got.shape == f32.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, f32, rtol=0, atol=atol)
    assert not np.array_equal(got, f32), "the precision was not applied"
    # Still independent of batching and threads.
    other = qkv.SentenceEncoder(tiny_dir, threads=1, precision=precision)
    assert np.array_equal(other.encode(TINY_SENTENCES, batch_size=1), got)
    assert pickle.loads(pickle.dumps(m)).precision == precision


def test_pickle_reloads(tiny_dir):
    m = qkv.SentenceEncoder(tiny_dir, threads=2)
    m2 = pickle.loads(pickle.dumps(m))
    assert m2.threads == 2 and m2.dim == 32
    assert np.array_equal(m2.encode(TINY_SENTENCES), m.encode(TINY_SENTENCES))


def test_hub_id_from_local_cache(tmp_path, tiny_dir, monkeypatch):
    repo = tmp_path / "hub" / "models--acme--tiny"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("abc123\n")
    shutil.copytree(tiny_dir, repo / "snapshots" / "abc123")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)
    m = qkv.SentenceEncoder("acme/tiny")
    assert m.dim == 32
    with pytest.raises(FileNotFoundError, match="model acme/missing: .*HF_HUB_OFFLINE"):
        qkv.SentenceEncoder("acme/missing")


def test_progress_bar(tiny_dir, capsys):
    m = qkv.SentenceEncoder(tiny_dir)
    m.encode(corpus(100), batch_size=4, show_progress_bar=True)
    err = capsys.readouterr().err
    assert "qkv: 100/100 sentences (100%)" in err
    m.encode(corpus(10))
    assert capsys.readouterr().err == ""
