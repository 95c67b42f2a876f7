"""Threads: the default follows OMP_NUM_THREADS, else the CPUs this process may use
(affinity); and the GIL is released while computing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import qkv
from conftest import corpus


def _threads_in_subprocess(tiny_dir, env_extra, pre=""):
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    env.update(env_extra)
    code = f"{pre}\nimport qkv\nprint(qkv.SentenceEncoder({tiny_dir!r}).threads)"
    r = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert r.returncode == 0, r.stderr
    return int(r.stdout.strip())


def test_default_threads_from_omp(tiny_dir):
    assert _threads_in_subprocess(tiny_dir, {"OMP_NUM_THREADS": "3"}) == 3
    assert _threads_in_subprocess(tiny_dir, {"OMP_NUM_THREADS": "5,2"}) == 5


def test_default_threads_from_affinity(tiny_dir):
    cpus = sorted(os.sched_getaffinity(0))
    assert _threads_in_subprocess(tiny_dir, {}) == len(cpus)
    one = f"import os; os.sched_setaffinity(0, {{{cpus[0]}}})"
    assert _threads_in_subprocess(tiny_dir, {}, pre=one) == 1


def test_explicit_threads_win(tiny_dir, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert qkv.SentenceEncoder(tiny_dir, threads=2).threads == 2
    assert qkv.SentenceEncoder(tiny_dir).threads == 3


def test_gil_released_during_encode(tiny_dir):
    m = qkv.SentenceEncoder(tiny_dir, threads=1)
    texts = corpus(4000, seed=9)
    t0 = time.perf_counter()
    m.encode(texts, batch_size=64)
    alone = time.perf_counter() - t0

    ticks = 0
    stop = threading.Event()

    def count():
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            time.sleep(0.001)

    t = threading.Thread(target=count)
    t.start()
    t0 = time.perf_counter()
    m.encode(texts, batch_size=64)
    took = time.perf_counter() - t0
    stop.set()
    t.join()
    # With the GIL held for the whole call the counter would barely move; released, it
    # ticks about once per millisecond (sleep granularity and a busy machine allow less).
    assert ticks > 0.2 * took * 1000, (ticks, took, alone)


def test_concurrent_calls_from_threads(tiny_dir):
    m = qkv.SentenceEncoder(tiny_dir, threads=2)
    texts = corpus(2000, seed=4)
    ref = m.encode(texts)
    out = [None] * 4
    errors = []

    def work(i):
        try:
            out[i] = m.encode(texts[i::4])
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for i in range(4):
        assert np.array_equal(out[i], ref[i::4])


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_usable_after_fork(tiny_dir):
    m = qkv.SentenceEncoder(tiny_dir, threads=2)
    ref = m.encode(corpus(200))
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: the parent's pool threads do not exist here
        signal.alarm(60)  # a hang kills the child: the parent then reads nothing and fails
        try:
            ok = np.array_equal(m.encode(corpus(200)), ref)
            os.write(w, b"1" if ok else b"0")
        finally:
            os._exit(0)
    os.close(w)
    got = os.read(r, 1)
    os.waitpid(pid, 0)
    assert got == b"1"
