"""Fault injection for the pipeline tests: a worker that kills its own process the first time
it sees a chosen row, once per marker file (the marker survives the restart, so the retried
work goes through). Imported by the Ray actors and Spark Python workers (PYTHONPATH)."""

from __future__ import annotations

import os
import uuid

import ray_embed
import spark_embed


def _die_once(ids, target, marker: str) -> None:
    if target in ids and not os.path.exists(marker):
        with open(marker, "w") as f:
            f.write(str(os.getpid()))
        os._exit(1)  # the whole worker process, mid-job: no cleanup, no exception


class KillOnceEmbedder(ray_embed.Embedder):
    """Ray: the actor dies once, at the batch holding row QKV_TEST_KILL_ID."""

    def __call__(self, batch):
        _die_once(
            set(batch.column("id").to_pylist()),
            os.environ["QKV_TEST_KILL_ID"],
            os.environ["QKV_TEST_KILL_MARKER"],
        )
        return super().__call__(batch)


def kill_once_partitions(batches, model, threads, batch_size):
    """Spark: the Python worker dies once, at the batch holding row QKV_TEST_KILL_ID."""
    target = int(os.environ["QKV_TEST_KILL_ID"])
    marker = os.environ["QKV_TEST_KILL_MARKER"]

    def checked():
        for df in batches:
            _die_once(set(df["id"].tolist()), target, marker)
            yield df

    yield from spark_embed.embed_partitions(checked(), model, threads, batch_size)


def recording_partitions(batches, model, threads, batch_size, precision=None):
    """Spark: `embed_partitions`, noting "<worker pid> <model object id>" for each partition
    in QKV_TEST_LOG_DIR, so a test can check that each worker loaded the model once."""
    enc = spark_embed.load_model(model, threads, precision)
    log = os.path.join(os.environ["QKV_TEST_LOG_DIR"], uuid.uuid4().hex)
    with open(log, "w") as f:
        f.write(f"{os.getpid()} {id(enc)}")
    yield from spark_embed.embed_partitions(batches, model, threads, batch_size, precision)
