"""`qkv serve` from the outside: the official `openai` client, curl and `requests` against the
running binary on 127.0.0.1 (an ephemeral port), compared bit for bit with `qkv embed` (at f32
and int8) and `qkv rerank`; then SIGTERM while a request is in flight (it completes, the process
exits 0).

Environment: QKV_BIN (the `qkv` binary), QKV_SERVER_MODEL (a model directory; all-MiniLM-L6-v2
in CI, the tiny fixture otherwise). schemathesis runs from scripts/ci_server.sh against the same
kind of server (see test_schemathesis.py).
"""

import base64
import json
import signal
import socket
import subprocess
import time

import numpy as np
import openai
import pytest
import requests

from serve_fixture import TEXTS, QkvServer, model_dir, qkv_bin, reranker_dir

# Inputs over the server's limit are refused unless the request asks to truncate; `qkv embed`
# truncates at the model's max_seq_length, so ask for the same (only the tiny model's 24-token
# limit is ever reached here).
TRUNC = {"truncate": True}

@pytest.fixture(scope="module")
def server():
    with QkvServer(["--threads", "2"]) as s:
        yield s


def qkv_embed(texts, extra=()):
    """`qkv embed`'s rows for `texts` (JSONL on stdout), as float32."""
    out = subprocess.run(
        [qkv_bin(), "embed", "--model", model_dir(), "--threads", "1", *extra, *texts],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    rows = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert [r["index"] for r in rows] == list(range(len(texts)))
    return np.array([r["embedding"] for r in rows], dtype=np.float32)


def test_openai_client_matches_qkv_embed_bit_for_bit(server):
    expect = qkv_embed(TEXTS)
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0, timeout=60)
    # The client asks for base64 by default and decodes it; ask for floats too.
    for fmt in (openai.NOT_GIVEN, "float", "base64"):
        r = client.embeddings.create(model="any-name", input=TEXTS, encoding_format=fmt, extra_body=TRUNC)
        assert r.model == "any-name"
        assert [d.index for d in r.data] == list(range(len(TEXTS)))
        if fmt == "base64":
            got = np.stack([np.frombuffer(base64.b64decode(d.embedding), dtype="<f4") for d in r.data])
        else:
            got = np.array([d.embedding for d in r.data], dtype=np.float32)
        assert got.shape == expect.shape
        assert np.array_equal(got.view(np.uint32), expect.view(np.uint32)), f"format {fmt}"
        assert r.usage.prompt_tokens == r.usage.total_tokens > len(TEXTS)
    # One string, and Matryoshka dimensions (unit norm after the cut).
    one = client.embeddings.create(model="m", input=TEXTS[1], encoding_format="float", extra_body=TRUNC)
    assert np.array_equal(np.array(one.data[0].embedding, dtype=np.float32), expect[1])
    cut = client.embeddings.create(
        model="m", input=TEXTS[:2], dimensions=16, encoding_format="float", extra_body=TRUNC
    )
    v = np.array(cut.data[0].embedding, dtype=np.float64)
    assert v.shape == (16,) and abs(np.linalg.norm(v) - 1) < 1e-6
    # Errors arrive as the client's typed exceptions.
    with pytest.raises(openai.UnprocessableEntityError):
        client.embeddings.create(model="m", input=[])
    with pytest.raises(openai.UnprocessableEntityError):
        client.embeddings.create(model="m", input="x", dimensions=100000)


def test_curl_embed_matches_qkv_embed(server):
    expect = qkv_embed(TEXTS[:3])
    out = subprocess.run(
        ["curl", "-sS", "--max-time", "60", server.url + "/embed",
         "-H", "content-type: application/json",
         "-d", json.dumps({"inputs": TEXTS[:3], "truncate": True})],
        check=True, capture_output=True, text=True, timeout=90,
    ).stdout
    got = np.array(json.loads(out), dtype=np.float32)
    assert np.array_equal(got.view(np.uint32), expect.view(np.uint32))


def test_int8_server_matches_qkv_embed_int8():
    expect = qkv_embed(TEXTS, ["--precision", "int8"])
    assert not np.array_equal(expect, qkv_embed(TEXTS)), "int8 differs from f32"
    with QkvServer(["--threads", "1", "--precision", "int8"]) as s:
        client = openai.OpenAI(base_url=s.url + "/v1", api_key="unused", max_retries=0, timeout=60)
        r = client.embeddings.create(model="m", input=TEXTS, encoding_format="float", extra_body=TRUNC)
        got = np.array([d.embedding for d in r.data], dtype=np.float32)
        assert np.array_equal(got.view(np.uint32), expect.view(np.uint32))
        info = requests.get(s.url + "/info", timeout=10).json()
        assert info["model_dtype"] == "int8" and info["model_type"] == "embedding"
        metrics = requests.get(s.url + "/metrics", timeout=10).text
        assert 'qkv_model_info{kind="embedding",precision="int8"} 1' in metrics


def test_curl_rerank_matches_qkv_rerank():
    query, docs = "What does the cat do?", ["The cat sat on the mat.", "Stock prices fell.", ""]
    for raw in (False, True):
        out = subprocess.run(
            [qkv_bin(), "rerank", "--model", reranker_dir(), "--threads", "1", "--query", query,
             *(["--raw"] if raw else []), *docs],
            check=True, capture_output=True, text=True, timeout=120,
        ).stdout
        expect = {r["index"]: np.float32(r["score"]) for r in map(json.loads, out.splitlines())}
        with QkvServer(["--threads", "1"], model=reranker_dir()) as s:
            body = json.dumps({"query": query, "texts": docs, "raw_scores": raw, "return_text": True})
            got = json.loads(subprocess.run(
                ["curl", "-sS", "--max-time", "60", s.url + "/rerank",
                 "-H", "content-type: application/json", "-d", body],
                check=True, capture_output=True, text=True, timeout=90,
            ).stdout)
            assert [g["index"] for g in got] == sorted(expect, key=lambda i: -expect[i])
            for g in got:
                assert np.float32(g["score"]).view(np.uint32) == expect[g["index"]].view(np.uint32)
                assert g["text"] == docs[g["index"]]
            info = requests.get(s.url + "/info", timeout=10).json()
            assert info["model_type"] == "reranker"
            r = requests.post(s.url + "/embed", json={"inputs": "x"}, timeout=30)
            assert r.status_code == 424 and "/rerank" in r.json()["error"]["message"]


def test_errors_have_openai_shape_and_4xx(server):
    u = server.url
    cases = [
        ("/v1/embeddings", b'{"input": ', 400),
        ("/v1/embeddings", b'{"input": [1.5]}', 422),
        ("/embed", json.dumps({"inputs": ["x"] * 33}).encode(), 422),
        ("/embed", json.dumps({"inputs": "y" * 3_000_000}).encode(), 413),
        ("/rerank", json.dumps({"query": "q", "texts": ["a"]}).encode(), 424),
    ]
    for path, body, status in cases:
        r = requests.post(u + path, data=body, headers={"content-type": "application/json"}, timeout=60)
        assert r.status_code == status, (path, r.text)
        err = r.json()["error"]
        assert isinstance(err["message"], str) and err["type"]
    assert requests.get(u + "/health", timeout=10).status_code == 200
    info = requests.get(u + "/info", timeout=10).json()
    assert info["model_dtype"] == "f32" and info["dim"] > 0
    metrics = requests.get(u + "/metrics", timeout=10).text
    assert 'qkv_requests_total{route="/rerank",status="424"}' in metrics


def test_api_key_required():
    with QkvServer(["--threads", "1", "--api-key", "sesame"]) as s:
        body = {"input": "x"}
        assert requests.post(s.url + "/v1/embeddings", json=body, timeout=30).status_code == 401
        ok = requests.post(s.url + "/v1/embeddings", json=body, timeout=30,
                           headers={"authorization": "Bearer sesame"})
        assert ok.status_code == 200
        client = openai.OpenAI(base_url=s.url + "/v1", api_key="wrong", max_retries=0, timeout=30)
        with pytest.raises(openai.AuthenticationError):
            client.embeddings.create(model="m", input="x")
        assert requests.get(s.url + "/health", timeout=10).status_code == 200


def test_sigterm_finishes_in_flight_requests_and_exits_0():
    s = QkvServer(["--threads", "1", "--read-timeout", "30"])
    s.start()
    try:
        host, port = s.url.removeprefix("http://").split(":")
        body = json.dumps({"input": TEXTS, "truncate": True}).encode()
        sock = socket.create_connection((host, int(port)), timeout=30)
        sock.sendall(
            b"POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
        )
        # Wait until the server has the request (the in-flight gauge), then signal.
        deadline = time.monotonic() + 30
        while "qkv_requests_in_flight 1" not in requests.get(s.url + "/metrics", timeout=10).text:
            assert time.monotonic() < deadline, "request never admitted"
            time.sleep(0.02)
        s.proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        sock.sendall(body)
        resp = b""
        while True:
            chunk = sock.recv(1 << 16)
            if not chunk:
                break
            resp += chunk
        sock.close()
        assert resp.startswith(b"HTTP/1.1 200"), resp[:200]
        assert json.loads(resp.split(b"\r\n\r\n", 1)[1])["data"][len(TEXTS) - 1]["index"] == len(TEXTS) - 1
        assert s.proc.wait(timeout=60) == 0
        s.join_log()
        log = s.log()
        assert "SIGTERM received" in log and "stopped" in log
        # One structured line per request, with its route and status.
        assert sum('route="/v1/embeddings"' in l or "route=/v1/embeddings" in l for l in log.splitlines()) == 1
    finally:
        s.stop()


def test_startup_errors_exit_1_with_a_clear_message():
    for args, needle, rc in [
        (["--precision", "fp8"], "unknown precision", 2),
        (["--max-input-tokens", "100000"], "more than the model takes", 1),
    ]:
        p = subprocess.run(
            [qkv_bin(), "serve", "--model", model_dir(), "--port", "0", *args],
            capture_output=True, text=True, timeout=120,
        )
        assert p.returncode == rc, (args, p.stderr)
        assert needle in p.stderr, (args, p.stderr)
    p = subprocess.run([qkv_bin(), "serve", "--model", "/no/such/dir", "--port", "0"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 1 and "/no/such/dir" in p.stderr
