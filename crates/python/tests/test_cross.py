"""qkv.CrossEncoder on the encoder crate's tiny classifier fixtures (a one-label BERT reranker,
a one-label ModernBERT reranker, a three-label XLM-RoBERTa classifier): logits against
transformers' (golden.safetensors), scores the same bits as `qkv rerank` (the Rust API through
the CLI), ranking, shapes as sentence-transformers' CrossEncoder gives them, and bad input."""

from __future__ import annotations

import json
import pickle
import subprocess

import numpy as np
import pytest
import qkv
from conftest import REPO, corpus
from safetensors_np import load

FAMILIES = REPO / "crates" / "encoder" / "tests" / "fixtures" / "families"
RERANKERS = ["bert_reranker", "modernbert_reranker"]
CLASSIFIER = "xlm_roberta_classifier3"


def _dir(name: str) -> str:
    return str(FAMILIES / name)


def _inputs(name: str) -> list[tuple[str, str]]:
    return [tuple(p) for p in json.loads((FAMILIES / name / "inputs.json").read_text())["pairs"]]


def _rerank_cli(qkv_bin, model, query, docs, tmp_path, extra=()):
    src = tmp_path / "docs.jsonl"
    src.write_text("".join(json.dumps({"text": d}) + "\n" for d in docs), encoding="utf-8")
    r = subprocess.run(
        [qkv_bin, "rerank", "--model", model, "--query", query, "--input", str(src),
         "--threads", "2", "--batch-size", "7", *extra],
        capture_output=True, text=True, timeout=600,
    )
    assert r.returncode == 0, r.stderr
    return [json.loads(line) for line in r.stdout.splitlines()]


@pytest.mark.parametrize("name", RERANKERS + [CLASSIFIER])
def test_logits_match_transformers(name):
    m = qkv.CrossEncoder(_dir(name))
    want = load(str(FAMILIES / name / "golden.safetensors"))["logits"]
    got = m.predict(_inputs(name), raw=True)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got.reshape(want.shape), want, rtol=0, atol=1e-5)


def test_one_label_shapes_and_sigmoid():
    m = qkv.CrossEncoder(_dir("bert_reranker"))
    assert m.num_labels == 1 and m.max_length == 48 and m.precision == "f32"
    assert "num_labels=1" in repr(m)
    pairs = _inputs("bert_reranker")
    s = m.predict(pairs)
    assert s.shape == (5,) and s.dtype == np.float32
    assert s.flags.c_contiguous and s.flags.writeable
    logits = m.predict(pairs, raw=True)
    np.testing.assert_allclose(s, 1 / (1 + np.exp(-logits.astype(np.float64))), atol=1e-6)
    one = m.predict(pairs[1])
    assert isinstance(one, np.float32) and one == s[1]
    assert m.predict(list(pairs[1])) == s[1]
    assert np.array_equal(m.predict(pairs, apply_softmax=True), s)
    assert m.predict([]).shape == (0,)


def test_several_labels_are_softmax_rows():
    m = qkv.CrossEncoder(_dir(CLASSIFIER))
    assert m.num_labels == 3
    pairs = _inputs(CLASSIFIER)
    p = m.predict(pairs)
    assert p.shape == (5, 3) and p.dtype == np.float32
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-6)
    logits = m.predict(pairs, raw=True).astype(np.float64)
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    np.testing.assert_allclose(p, e / e.sum(axis=1, keepdims=True), atol=1e-6)
    assert m.predict(pairs[0]).shape == (3,)
    assert m.predict([]).shape == (0, 3)
    with pytest.raises(ValueError, match="one-label reranker; this model has 3 labels"):
        m.rank("q", ["a", "b"])


@pytest.mark.parametrize("name", RERANKERS + [CLASSIFIER])
@pytest.mark.parametrize("raw", [False, True])
def test_same_bits_as_rerank_cli(qkv_bin, tmp_path, name, raw):
    query = "what does the cat do?"
    docs = corpus(300, seed=21)
    rows = _rerank_cli(qkv_bin, _dir(name), query, docs, tmp_path, ["--raw"] if raw else [])
    m = qkv.CrossEncoder(_dir(name), threads=1)
    got = m.predict([(query, d) for d in docs], batch_size=3, raw=raw)
    assert len(rows) == len(docs)
    for row in rows:
        want = np.array(row["score"], dtype=np.float32)  # JSON keeps an f32 exactly
        assert row["text"] == docs[row["index"]]
        assert np.array_equal(want.view(np.uint32), got[row["index"]].view(np.uint32)), row


@pytest.mark.parametrize("name", RERANKERS)
def test_rank_matches_rerank_cli(qkv_bin, tmp_path, name):
    query = "fox"
    docs = corpus(200, seed=22) + ["a dog", "a dog"]  # a tie keeps input order
    rows = _rerank_cli(qkv_bin, _dir(name), query, docs, tmp_path)
    ranked = qkv.CrossEncoder(_dir(name)).rank(query, docs, return_documents=True)
    assert [r["corpus_id"] for r in ranked] == [row["index"] for row in rows]
    for r, row in zip(ranked, rows):
        assert set(r) == {"corpus_id", "score", "text"}
        assert isinstance(r["score"], np.float32)
        assert r["score"] == np.float32(row["score"]) and r["text"] == row["text"]


def test_rank_options():
    m = qkv.CrossEncoder(_dir("bert_reranker"))
    docs = [d for _, d in _inputs("bert_reranker")]
    full = m.rank("the cat", docs)
    assert len(full) == 5 and set(full[0]) == {"corpus_id", "score"}
    scores = m.predict([("the cat", d) for d in docs])
    assert [r["score"] for r in full] == sorted(scores, reverse=True)
    assert m.rank("the cat", docs, top_k=2) == full[:2]
    assert m.rank("the cat", docs, top_k=0) == []
    assert m.rank("the cat", docs, top_k=99) == full
    assert m.rank("the cat", iter(docs), batch_size=1) == full
    assert m.rank("the cat", []) == []


def test_batching_and_threads_do_not_change_bits():
    pairs = [(q, d) for q, d in zip(corpus(400, seed=5), corpus(400, seed=6))]
    ref = qkv.CrossEncoder(_dir("bert_reranker"), threads=1).predict(pairs, batch_size=1)
    for threads, bs in [(2, 7), (2, 400), (3, 1000)]:
        m = qkv.CrossEncoder(_dir("bert_reranker"), threads=threads)
        assert np.array_equal(m.predict(pairs, batch_size=bs), ref), (threads, bs)
    rev = qkv.CrossEncoder(_dir("bert_reranker")).predict(pairs[::-1])
    assert np.array_equal(rev[::-1], ref)


@pytest.mark.parametrize("precision, atol", [("bf16", 0.05), ("int8", 0.1)])
def test_precisions(precision, atol):
    pairs = _inputs("bert_reranker")
    f32 = qkv.CrossEncoder(_dir("bert_reranker")).predict(pairs)
    m = qkv.CrossEncoder(_dir("bert_reranker"), precision=precision)
    assert m.precision == precision
    np.testing.assert_allclose(m.predict(pairs), f32, atol=atol)
    assert pickle.loads(pickle.dumps(m)).precision == precision


def test_pickle_and_progress(capsys):
    m = qkv.CrossEncoder(_dir("bert_reranker"), threads=2)
    m2 = pickle.loads(pickle.dumps(m))
    assert m2.threads == 2
    pairs = _inputs("bert_reranker")
    assert np.array_equal(m2.predict(pairs), m.predict(pairs))
    capsys.readouterr()
    m.predict(pairs * 10, batch_size=2, show_progress_bar=True)
    assert "qkv: 50/50 pairs (100%)" in capsys.readouterr().err


@pytest.mark.parametrize(
    "bad, exc, match",
    [
        (None, TypeError, "must be a list of \\(query, document\\) pairs"),
        ("a query", TypeError, "must be a list of \\(query, document\\) pairs"),
        (["q", "d", "e"], TypeError, "a list of 3 str"),
        ([("q", "d"), "e"], TypeError, r"sentences\[1\] is str, expected a \(query"),
        ([("q", "d", "e")], ValueError, r"sentences\[0\] has 3 items"),
        ([("q", None)], TypeError, r"sentences\[0\]\[1\] is NoneType, expected str"),
        ([(1, "d")], TypeError, r"sentences\[0\]\[0\] is int"),
        ([("q", "\udc80")], ValueError, r"sentences\[0\]\[1\] is not valid Unicode"),
        (42, TypeError, "must be a list of"),
        ({"q": "d"}, TypeError, "must be a list of"),
    ],
)
def test_bad_pairs(bad, exc, match):
    m = qkv.CrossEncoder(_dir("bert_reranker"))
    with pytest.raises(exc, match=match):
        m.predict(bad)
    assert m.predict(("q", "d")).dtype == np.float32  # still usable


def test_bad_arguments(tmp_path):
    m = qkv.CrossEncoder(_dir("bert_reranker"))
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        m.predict([("q", "d")], batch_size=0)
    with pytest.raises(ValueError, match="choose one"):
        m.predict([("q", "d")], raw=True, apply_softmax=True)
    with pytest.raises(TypeError, match="query must be a str"):
        m.rank(None, ["a"])
    with pytest.raises(TypeError, match="documents must be a list of str, not a single str"):
        m.rank("q", "a document")
    with pytest.raises(TypeError, match=r"documents\[1\] is int"):
        m.rank("q", ["a", 1])
    with pytest.raises(TypeError, match="documents must be a str or a list of str"):
        m.rank("q", None)
    with pytest.raises(ValueError, match="top_k must be at least 0"):
        m.rank("q", ["a"], top_k=-1)
    with pytest.raises(ValueError, match="the query is not valid Unicode"):
        m.rank("\udc80", ["a"])
    with pytest.raises(ValueError, match="unsupported precision"):
        qkv.CrossEncoder(_dir("bert_reranker"), precision="fp8")
    with pytest.raises(FileNotFoundError, match="no model directory"):
        qkv.CrossEncoder(str(tmp_path / "nope"))
    with pytest.raises(RuntimeError, match="sequence-classification"):
        qkv.CrossEncoder(str(REPO / "crates" / "encoder" / "tests" / "fixtures" / "tiny_bert"))
