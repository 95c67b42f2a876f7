"""examples/ray_embed.py on a local Ray cluster with 2 actors: 5,000 sentences
(tiny BERT fixture), output equal to single-process `encode` bit for bit, rows matched by id;
Parquet input at int8; and again with an actor killed mid-job (restarted, its batch
retried)."""

from __future__ import annotations

import numpy as np
import pytest
from pipelines import WORKER_PATH, assert_same_bits, engine, read_output, reference, texts

ray = engine("ray")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    marker = tmp_path_factory.mktemp("ray") / "killed"
    # 2 actors of 1 CPU, and 1 CPU for the read and write tasks (Ray's CPUs are logical:
    # the machine has 2 cores).
    # Ray's default object store (30 % of memory, reserved lazily): a 100 MB one was tried and
    # made these runs 2.5-3x slower (Ray Data throttles its operators by the store's size).
    ray.init(
        num_cpus=3,
        include_dashboard=False,
        runtime_env={
            "env_vars": {
                "PYTHONPATH": WORKER_PATH,
                "QKV_TEST_KILL_ID": "corpus.txt:2500",
                "QKV_TEST_KILL_MARKER": str(marker),
            }
        },
    )
    ray.data.DataContext.get_current().enable_progress_bars = False
    yield marker
    ray.shutdown()


@pytest.fixture(scope="module")
def corpus_file(tmp_path_factory):
    p = tmp_path_factory.mktemp("in") / "corpus.txt"
    p.write_text("\n".join(texts()) + "\n", encoding="utf-8")
    return str(p)


def _line(i: str) -> int:
    name, line = i.rsplit(":", 1)
    assert name == "corpus.txt"
    return int(line) - 1


def test_ray_text_two_workers(cluster, corpus_file, tiny_dir, tmp_path):
    import ray_embed

    out = str(tmp_path / "out")
    n = ray_embed.run(tiny_dir, corpus_file, out, workers=2, threads=1, rows_per_call=256)
    assert n == 5000
    assert_same_bits(*read_output(out), _line, reference(tiny_dir))


def test_ray_parquet_input_int8(cluster, tiny_dir, tmp_path):
    import pandas as pd
    import ray_embed

    src = tmp_path / "in.parquet"
    t = texts()[:600]
    pd.DataFrame({"doc": range(1000, 1600), "body": t}).to_parquet(src)
    out = str(tmp_path / "out")
    n = ray_embed.run(tiny_dir, str(src), out, workers=2, threads=1, rows_per_call=100,
                      id_column="doc", text_column="body", precision="int8")
    assert n == 600
    ref = reference(tiny_dir, "int8")[:600]
    assert not np.array_equal(ref, reference(tiny_dir)[:600])
    assert_same_bits(*read_output(out), lambda i: i - 1000, ref)


def test_ray_actor_killed_mid_job(cluster, corpus_file, tiny_dir, tmp_path):
    import faults
    import ray_embed

    marker = cluster
    assert not marker.exists()
    out = str(tmp_path / "out")
    n = ray_embed.run(tiny_dir, corpus_file, out, workers=2, threads=1, rows_per_call=256,
                      embedder=faults.KillOnceEmbedder)
    assert marker.exists(), "the actor was never killed: the test tested nothing"
    assert n == 5000
    assert_same_bits(*read_output(out), _line, reference(tiny_dir))
