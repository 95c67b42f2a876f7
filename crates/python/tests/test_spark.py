"""examples/spark_embed.py on PySpark local[2] (2 task slots, 2 Python workers): 5,000
sentences (tiny BERT fixture) from Parquet and from text, output equal to single-process
`encode` bit for bit, rows matched by id (text input at bf16); and again with a Python
worker killed mid-task (the task is retried, up to local[2,4]'s 4 attempts)."""

from __future__ import annotations

import os

import pytest
from pipelines import WORKER_PATH, assert_same_bits, engine, read_output, reference, texts

engine("pyspark")


@pytest.fixture(scope="module")
def spark(tmp_path_factory):
    import spark_embed

    marker = tmp_path_factory.mktemp("spark") / "killed"
    os.environ["QKV_TEST_LOG_DIR"] = str(tmp_path_factory.mktemp("loads"))
    # Local-mode Python workers inherit the driver's environment through the JVM.
    os.environ["PYTHONPATH"] = WORKER_PATH
    os.environ["QKV_TEST_KILL_ID"] = "2500"
    os.environ["QKV_TEST_KILL_MARKER"] = str(marker)
    s = spark_embed.session("local[2,4]", threads=1)
    s.sparkContext.setLogLevel("ERROR")
    yield s, marker
    s.stop()


@pytest.fixture(scope="module")
def corpus_parquet(tmp_path_factory):
    import pandas as pd

    p = tmp_path_factory.mktemp("in") / "corpus.parquet"
    pd.DataFrame({"id": range(5000), "text": texts()}).to_parquet(p)
    return str(p)


def test_spark_parquet_two_workers(spark, corpus_parquet, tiny_dir, tmp_path):
    import spark_embed

    out = str(tmp_path / "out")
    n = spark_embed.run(spark[0], tiny_dir, corpus_parquet, out, threads=1, partitions=8)
    assert n == 5000
    assert_same_bits(*read_output(out), int, reference(tiny_dir))


def test_spark_text_input_bf16_one_model_per_worker(spark, tiny_dir, tmp_path):
    import faults
    import spark_embed

    src = tmp_path / "lines.txt"
    src.write_text("\n".join(texts()[:700]) + "\n", encoding="utf-8")
    out = str(tmp_path / "out")
    n = spark_embed.run(spark[0], tiny_dir, str(src), out, threads=1, partitions=6,
                        body=faults.recording_partitions, precision="bf16")
    assert n == 700
    # 6 partitions on at most a few reused Python workers, each with a single model object.
    logs = os.environ["QKV_TEST_LOG_DIR"]
    seen = [open(os.path.join(logs, f)).read().split() for f in os.listdir(logs)]
    assert len(seen) == 6
    models = {}
    for pid, model in seen:
        models.setdefault(pid, set()).add(model)
    assert all(len(m) == 1 for m in models.values()), models
    assert len(models) < 6, "no Python worker was reused"

    def line(i):
        name, k = i.rsplit(":", 1)
        assert name == "lines.txt"
        return int(k) - 1

    assert_same_bits(*read_output(out), line, reference(tiny_dir, "bf16")[:700])


def test_spark_worker_killed_mid_task(spark, corpus_parquet, tiny_dir, tmp_path):
    import faults
    import spark_embed

    session, marker = spark
    assert not marker.exists()
    out = str(tmp_path / "out")
    n = spark_embed.run(session, tiny_dir, corpus_parquet, out, threads=1, partitions=8,
                        body=faults.kill_once_partitions)
    assert marker.exists(), "the worker was never killed: the test tested nothing"
    assert n == 5000
    assert_same_bits(*read_output(out), int, reference(tiny_dir))
