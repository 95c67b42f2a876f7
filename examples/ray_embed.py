#!/usr/bin/env python3
"""Embed a corpus with qkv on Ray Data: the engine distributes, qkv embeds.

Input: text files (one text per line; id = "<file name>:<line number>", lines counted from 1)
or Parquet with an id column and a text column. Output: Parquet files of
(id, embedding: list<float32>), one row per input row, in no particular order.

Each actor loads the model once (a callable class in ``map_batches``) and computes with
``--threads`` threads; ``--workers`` actors run at once. On one machine:

    python examples/ray_embed.py --model DIR --input corpus.txt --output out/ \
        --workers 2 --threads 1

On a cluster, start Ray on every node (``ray start --head`` / ``ray start --address=...``),
install the qkv wheel on each node, put the model directory at the same path on every node
(or on shared storage) and run the same command with ``--address auto``; see
docs/scale-out.md.

A worker that dies mid-job is restarted and its batch retried (Ray Data's actor pools default
to ``max_restarts=-1`` and ``max_task_retries=-1``): the output is complete and, since a text's embedding does not depend
on its batch, identical to an undisturbed run.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any, Optional

import numpy as np
import pyarrow as pa


class Embedder:
    """Ray Data callable class: one model per actor, reused for every batch."""

    def __init__(self, model: str, threads: int, batch_size: int = 32,
                 precision: Optional[str] = None):
        import qkv

        self.model = qkv.SentenceEncoder(model, threads=threads, precision=precision)
        self.batch_size = batch_size

    def __call__(self, batch: pa.Table) -> pa.Table:
        texts = batch.column("text").to_pylist()
        emb = self.model.encode(texts, batch_size=self.batch_size)
        return embedding_table(batch.column("id"), emb)


def embedding_table(ids: Any, emb: np.ndarray) -> pa.Table:
    """(id, embedding) with the embedding as a list<float32> column."""
    flat = pa.array(np.ascontiguousarray(emb, dtype=np.float32).reshape(-1), pa.float32())
    offsets = pa.array(np.arange(0, emb.size + 1, emb.shape[1], dtype=np.int32))
    return pa.table({"id": ids, "embedding": pa.ListArray.from_arrays(offsets, flat)})


def split_lines(text: str) -> list[str]:
    """Lines as `qkv embed` reads them: split at "\n", a trailing "\r" dropped, no empty
    last line for a final newline."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [t[:-1] if t.endswith("\r") else t for t in lines]


def _text_lines(row: dict[str, Any]) -> list[dict[str, Any]]:
    name = os.path.basename(row["path"])
    # Strict UTF-8: invalid bytes fail the task with the file's name instead of being
    # embedded as some other text.
    try:
        text = row["bytes"].decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"{row['path']}: invalid UTF-8 at byte {e.start}") from None
    return [{"id": f"{name}:{i}", "text": t} for i, t in enumerate(split_lines(text), start=1)]


def read_input(path: str, id_column: str = "id", text_column: str = "text"):
    """A Ray Dataset of (id, text) from text files or Parquet (by extension or folder)."""
    import ray

    parquet = path.endswith(".parquet") or (
        os.path.isdir(path) and any(f.endswith(".parquet") for f in os.listdir(path))
    )
    if parquet:
        ds = ray.data.read_parquet(path).select_columns([id_column, text_column])
        if (id_column, text_column) != ("id", "text"):
            ds = ds.rename_columns({id_column: "id", text_column: "text"})
        return ds
    # Whole files, so that line numbers are known; one read task per file.
    return ray.data.read_binary_files(path, include_paths=True).flat_map(_text_lines)


def embed_dataset(
    ds,
    model: str,
    workers: int = 2,
    threads: int = 1,
    batch_size: int = 32,
    rows_per_call: int = 1024,
    embedder: type = Embedder,
    precision: Optional[str] = None,
):
    """Adds embeddings to a Dataset of (id, text): ``workers`` actors of ``threads`` CPUs
    (``precision``: "f32", "bf16", "int8", or ``None`` for the model directory's)."""
    import ray

    # Blocks of at most `rows_per_call` rows (streaming, no shuffle): a large file read as
    # one block would otherwise keep all but one actor idle.
    ds = ds.repartition(target_num_rows_per_block=rows_per_call)
    return ds.map_batches(
        embedder,
        fn_constructor_kwargs={"model": model, "threads": threads, "batch_size": batch_size,
                               "precision": precision},
        batch_size=rows_per_call,
        batch_format="pyarrow",
        compute=ray.data.ActorPoolStrategy(size=workers),
        num_cpus=threads,
        # Fault tolerance comes from Ray Data's actor-pool defaults: max_restarts=-1 and
        # max_task_retries=-1 (a dead actor is restarted and its unfinished batches run
        # again). Passing them here is deprecated since Ray 2.60 (`ray_remote_args`).
    )


def run(
    model: str,
    input_path: str,
    output: str,
    workers: int = 2,
    threads: int = 1,
    batch_size: int = 32,
    rows_per_call: int = 1024,
    id_column: str = "id",
    text_column: str = "text",
    embedder: type = Embedder,
    precision: Optional[str] = None,
) -> int:
    """Reads, embeds and writes Parquet to ``output``; returns the number of rows."""
    import pyarrow.parquet as pq

    ds = read_input(input_path, id_column, text_column)
    out = embed_dataset(ds, model, workers, threads, batch_size, rows_per_call,
                        embedder=embedder, precision=precision)
    out.write_parquet(output)
    return sum(
        pq.ParquetFile(os.path.join(output, f)).metadata.num_rows
        for f in os.listdir(output)
        if f.endswith(".parquet")
    )


def main(argv: Optional[list[str]] = None) -> int:
    import ray

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, help="model directory (same path on every node)")
    p.add_argument("--input", required=True, help="text file(s) or Parquet file/folder")
    p.add_argument("--output", required=True, help="output folder for Parquet files")
    p.add_argument("--workers", type=int, default=2, help="actors (model copies) at once")
    p.add_argument("--threads", type=int, default=1, help="threads (CPUs) per actor")
    p.add_argument("--batch-size", type=int, default=32, help="texts per forward pass")
    p.add_argument("--rows-per-call", type=int, default=1024, help="rows per map_batches call")
    p.add_argument("--id-column", default="id")
    p.add_argument("--text-column", default="text")
    p.add_argument("--precision", default=None, choices=["f32", "bf16", "int8"],
                   help="linear layers' precision (default: the model directory's)")
    p.add_argument("--address", default=None, help="Ray cluster address ('auto' on a cluster)")
    a = p.parse_args(argv)

    if a.address:
        ray.init(address=a.address)
    else:
        # The actors' CPUs plus one for the read and write tasks: with none left over, the
        # actors hold every CPU and the reads that would feed them never start.
        ray.init(num_cpus=a.workers * a.threads + 1)
    start = time.perf_counter()
    n = run(a.model, a.input, a.output, a.workers, a.threads, a.batch_size,
            a.rows_per_call, a.id_column, a.text_column, precision=a.precision)
    secs = time.perf_counter() - start
    print(f"ray_embed: {n} rows in {secs:.1f} s ({n / secs:.1f} rows/s) with "
          f"{a.workers} workers x {a.threads} threads -> {a.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
