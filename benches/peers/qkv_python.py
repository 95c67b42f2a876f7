#!/usr/bin/env python3
"""qkv from Python beside `qkv bench embed`: the same 32-sentence batch, the same threads.

Each round runs `qkv bench embed --json` (its `sent_per_s_with_tokenization`: tokenize and
embed, medians of interleaved repetitions) and then times `SentenceEncoder.encode` on the
batch in this process (tokenization included, batch_size=32, median of --reps), alternating
which goes first. Prints one JSON row per round and a summary with the medians and the ratio
python / CLI. Needs the `qkv` wheel installed (scripts/ci_python.sh or maturin) and the CLI
built with the same profile (`cargo build --profile wheel -p qkv-cli`); if sentence-transformers
is importable, it is timed too (nothing is installed for it).

    python benches/peers/qkv_python.py --qkv target/wheel/qkv --model "$MODEL" \
        --threads 1,2 --rounds 5 --reps 15
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BATCH = os.path.join(
    HERE, "..", "..", "crates", "encoder", "tests", "fixtures", "bench", "minilm_batch32.json"
)


def cli_rate(qkv_bin: str, model: str, threads: int, reps: int) -> float:
    out = subprocess.run(
        [qkv_bin, "bench", "embed", "--model", model, "--threads", str(threads),
         "--reps", str(reps), "--json"],
        check=True, capture_output=True, text=True,
    ).stdout
    rows = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    row = next(r for r in rows if r.get("batch") == 32)
    return float(row["sent_per_s_with_tokenization"])


def median_rate(fn, n: int, reps: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return n / statistics.median(times)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--qkv", required=True, help="the qkv binary")
    p.add_argument("--model", required=True, help="all-MiniLM-L6-v2 directory")
    p.add_argument("--threads", default="1", help="comma-separated thread counts")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--reps", type=int, default=15)
    a = p.parse_args()

    import numpy as np
    import qkv

    with open(BATCH) as f:
        batch = json.load(f)
    texts = batch["sentences"]
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        SentenceTransformer = None

    summary = []
    for threads in [int(t) for t in a.threads.split(",")]:
        m = qkv.SentenceEncoder(a.model, threads=threads)
        got = m.encode(texts, batch_size=32)
        worst = float(np.abs(got - np.array(batch["expected_embeddings"])).max())
        assert worst < 1e-4, f"embeddings differ from the batch's expected ones: {worst}"
        st = None
        if SentenceTransformer is not None:
            import torch

            torch.set_num_threads(threads)
            st = SentenceTransformer(a.model, device="cpu")
        rates = {"cli": [], "python": [], "sentence_transformers": []}
        for r in range(a.rounds):
            order = ["cli", "python"] if r % 2 == 0 else ["python", "cli"]
            for which in order:
                if which == "cli":
                    rates["cli"].append(cli_rate(a.qkv, a.model, threads, a.reps))
                else:
                    rates["python"].append(
                        median_rate(lambda: m.encode(texts, batch_size=32), len(texts), a.reps)
                    )
            if st is not None:
                rates["sentence_transformers"].append(
                    median_rate(lambda: st.encode(texts, batch_size=32), len(texts), a.reps)
                )
            print(json.dumps({"threads": threads, "round": r,
                              **{k: v[-1] for k, v in rates.items() if v}}), flush=True)
        med = {k: statistics.median(v) for k, v in rates.items() if v}
        med["python_over_cli"] = med["python"] / med["cli"]
        summary.append({"threads": threads, **{k: round(v, 3) for k, v in med.items()}})
    print(json.dumps({"summary": summary, "load_avg": os.getloadavg()}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
