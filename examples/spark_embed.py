#!/usr/bin/env python3
"""Embed a corpus with qkv on PySpark: the engine distributes, qkv embeds.

Input: text files (one text per line; id = "<file name>:<line number>", lines counted from 1)
or Parquet with an id column and a text column. Output: Parquet of
(id, embedding: array<float>), one row per input row.

``mapInPandas`` runs ``embed_partitions`` on each partition in a Python worker; the model is
loaded once per Python worker (a module-level cache, and Spark reuses its Python workers by
default) and computes with ``--threads`` threads. Locally:

    python examples/spark_embed.py --model DIR --input corpus.txt --output out/ \
        --master 'local[2]' --threads 1

On a cluster, submit the same script with spark-submit (the qkv wheel installed in the
executors' Python, the model directory at the same path on every node or on shared storage,
``spark.task.cpus`` = ``--threads``); see docs/scale-out.md.

A Python worker that dies mid-task fails the task, and Spark runs it again (up to
``spark.task.maxFailures``; ``local[N,F]`` in local mode): the output is complete and, since a
text's embedding does not depend on its batch, identical to an undisturbed run.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import time
from typing import Callable, Iterator, Optional

import pandas as pd

_MODELS: dict = {}


def load_model(model: str, threads: int, precision: Optional[str] = None):
    """The worker's model, loaded on first use and kept for the worker's lifetime."""
    key = (model, threads, precision)
    if key not in _MODELS:
        import qkv

        _MODELS[key] = qkv.SentenceEncoder(model, threads=threads, precision=precision)
    return _MODELS[key]


def embed_partitions(
    batches: Iterator[pd.DataFrame], model: str, threads: int, batch_size: int,
    precision: Optional[str] = None,
) -> Iterator[pd.DataFrame]:
    """``mapInPandas`` body: (id, text) frames in, (id, embedding) frames out."""
    enc = load_model(model, threads, precision)
    for df in batches:
        emb = enc.encode(df["text"].tolist(), batch_size=batch_size)
        yield pd.DataFrame({"id": df["id"].to_numpy(), "embedding": list(emb)})


def split_lines(text: str) -> list[str]:
    """Lines as `qkv embed` reads them: split at "\n", a trailing "\r" dropped, no empty
    last line for a final newline."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [t[:-1] if t.endswith("\r") else t for t in lines]


def read_input(spark, path: str, id_column: str = "id", text_column: str = "text"):
    """A DataFrame of (id, text) from text files or Parquet (by extension or folder)."""
    parquet = path.endswith(".parquet") or (
        os.path.isdir(path) and any(f.endswith(".parquet") for f in os.listdir(path))
    )
    if parquet:
        df = spark.read.parquet(path)
        return df.select(df[id_column].alias("id"), df[text_column].alias("text"))

    def lines(item):
        name = os.path.basename(item[0])
        return [(f"{name}:{i}", t) for i, t in enumerate(split_lines(item[1]), start=1)]

    # Whole files, so that line numbers are known.
    rdd = spark.sparkContext.wholeTextFiles(path).flatMap(lines)
    return spark.createDataFrame(rdd, "id string, text string")


def embed_frame(df, model: str, threads: int = 1, batch_size: int = 32,
                body: Callable = embed_partitions, precision: Optional[str] = None):
    """Adds embeddings to a DataFrame of (id, text) (``body``: ``embed_partitions`` or a
    function of the same shape, e.g. one that adds fault injection in tests; ``precision``:
    "f32", "bf16", "int8", or ``None`` for the model directory's)."""
    id_type = df.schema["id"].dataType.simpleString()
    schema = f"id {id_type}, embedding array<float>"
    # A partial of a module-level function pickles by reference: each worker imports this
    # module once, so its model cache lives as long as the worker.
    kwargs = {"precision": precision} if precision else {}
    fn = functools.partial(body, model=model, threads=threads, batch_size=batch_size, **kwargs)
    return df.mapInPandas(fn, schema=schema)


def session(master: str = "local[2]", threads: int = 1, max_failures: int = 4, app="qkv-embed"):
    """A SparkSession where each task gets ``threads`` CPUs."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder
    if master.startswith("local"):
        # Local Python workers run this interpreter (its venv has qkv), not `python3` on PATH.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    return (
        builder.master(master)
        .appName(app)
        .config("spark.task.cpus", str(threads))
        .config("spark.task.maxFailures", str(max_failures))
        .config("spark.python.worker.reuse", "true")
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", "1024")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )


def run(spark, model: str, input_path: str, output: str, threads: int = 1,
        batch_size: int = 32, partitions: Optional[int] = None,
        id_column: str = "id", text_column: str = "text",
        body: Callable = embed_partitions, precision: Optional[str] = None) -> int:
    """Reads, embeds and writes Parquet to ``output``; returns the number of rows."""
    # Workers import this module (for `embed_partitions` and its model cache).
    spark.sparkContext.addPyFile(os.path.abspath(__file__))
    df = read_input(spark, input_path, id_column, text_column)
    if partitions:
        df = df.repartition(partitions)
    out = embed_frame(df, model, threads, batch_size, body, precision)
    out.write.mode("overwrite").parquet(output)
    return spark.read.parquet(output).count()


def main(argv: Optional[list[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, help="model directory (same path on every node)")
    p.add_argument("--input", required=True, help="text file(s) or Parquet file/folder")
    p.add_argument("--output", required=True, help="output folder for Parquet")
    p.add_argument("--master", default=None, help="e.g. 'local[2]'; default: spark-submit's")
    p.add_argument("--threads", type=int, default=1, help="threads per task (spark.task.cpus)")
    p.add_argument("--batch-size", type=int, default=32, help="texts per forward pass")
    p.add_argument("--partitions", type=int, default=None, help="repartition the input")
    p.add_argument("--id-column", default="id")
    p.add_argument("--text-column", default="text")
    p.add_argument("--precision", default=None, choices=["f32", "bf16", "int8"],
                   help="linear layers' precision (default: the model directory's)")
    a = p.parse_args(argv)

    spark = session(a.master or "local[2]", a.threads) if a.master or not _submitted() else None
    if spark is None:
        from pyspark.sql import SparkSession

        spark = SparkSession.builder.getOrCreate()
    start = time.perf_counter()
    n = run(spark, a.model, a.input, a.output, a.threads, a.batch_size, a.partitions,
            a.id_column, a.text_column, precision=a.precision)
    secs = time.perf_counter() - start
    print(f"spark_embed: {n} rows in {secs:.1f} s ({n / secs:.1f} rows/s) on "
          f"{spark.sparkContext.master} with {a.threads} threads per task -> {a.output}",
          file=sys.stderr)
    spark.stop()
    return 0


def _submitted() -> bool:
    """True under spark-submit (which sets the master itself)."""
    return "SPARK_ENV_LOADED" in os.environ or "PYSPARK_GATEWAY_PORT" in os.environ


if __name__ == "__main__":
    # Run as the importable module `spark_embed`, not `__main__`: functions of `__main__` are
    # pickled by value, so each task would get a fresh copy of the model cache.
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import spark_embed

    sys.exit(spark_embed.main())
