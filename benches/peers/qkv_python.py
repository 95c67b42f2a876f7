#!/usr/bin/env python3
"""qkv from Python beside `qkv bench embed` and sentence-transformers: the same 32-sentence batch,
the same threads, in one run.

Each round runs, in an order that rotates from round to round:
- `qkv bench embed --json` (its `sent_per_s_with_tokenization`: tokenize and embed, the median
  of its repetitions);
- `qkv.SentenceEncoder.encode` on the batch in this process (tokenization included,
  batch_size=32, the median of --reps calls);
- sentence-transformers' `SentenceTransformer.encode` on the batch (CPU, same threads, median
  of --reps calls) in a separate process of --st-python (a venv with sentence-transformers and
  torch; left out when not given).
Prints one JSON row per round and a summary with the medians over rounds, the ratio
python / CLI, and the load averages before and after (other work on the machine shows there).
Needs the `qkv` wheel installed in this interpreter and the CLI built with the same profile as
the wheel (`maturin build --release`, `cargo build --release -p qkv-cli`).

    python benches/peers/qkv_python.py --qkv target/release/qkv --model "$MODEL" \\
        --threads 1,2 --rounds 5 --reps 15 --st-python /tmp/peers/bin/python
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

# Run by --st-python: times SentenceTransformer.encode on the batch, prints sentences/s.
ST_TIMER = r"""
import json, statistics, sys, time
import numpy as np
import torch
model, batch_file, threads, reps = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
torch.set_num_threads(threads)
torch.set_num_interop_threads(1)
from sentence_transformers import SentenceTransformer
batch = json.load(open(batch_file))
texts = batch["sentences"]
st = SentenceTransformer(model, device="cpu")
got = st.encode(texts, batch_size=32)
worst = float(np.abs(got - np.array(batch["expected_embeddings"])).max())
assert worst < 1e-4, worst
for _ in range(2):
    st.encode(texts, batch_size=32)
times = []
for _ in range(reps):
    t0 = time.perf_counter()
    st.encode(texts, batch_size=32)
    times.append(time.perf_counter() - t0)
print(json.dumps({"sent_per_s": len(texts) / statistics.median(times), "torch": torch.__version__}))
"""


def cli_rate(qkv_bin: str, model: str, threads: int, reps: int) -> float:
    out = subprocess.run(
        [qkv_bin, "bench", "embed", "--model", model, "--threads", str(threads),
         "--reps", str(reps), "--json"],
        check=True, capture_output=True, text=True,
    ).stdout
    rows = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    row = next(r for r in rows if r.get("batch") == 32)
    return float(row["sent_per_s_with_tokenization"])


def st_rate(python: str, model: str, threads: int, reps: int) -> float:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads),
               HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    out = subprocess.run(
        [python, "-c", ST_TIMER, model, BATCH, str(threads), str(reps)],
        check=True, capture_output=True, text=True, env=env,
    ).stdout
    return float(json.loads(out.strip().splitlines()[-1])["sent_per_s"])


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
    p.add_argument("--st-python", default=None,
                   help="a Python with sentence-transformers (timed in its own process)")
    a = p.parse_args()

    import numpy as np
    import qkv

    with open(BATCH) as f:
        batch = json.load(f)
    texts = batch["sentences"]
    load_before = os.getloadavg()
    summary = []
    for threads in [int(t) for t in a.threads.split(",")]:
        m = qkv.SentenceEncoder(a.model, threads=threads)
        got = m.encode(texts, batch_size=32)
        worst = float(np.abs(got - np.array(batch["expected_embeddings"])).max())
        assert worst < 1e-4, f"embeddings differ from the batch's expected ones: {worst}"
        sides = ["cli", "python"] + (["sentence_transformers"] if a.st_python else [])
        rates: dict[str, list[float]] = {k: [] for k in sides}
        for r in range(a.rounds):
            for which in sides[r % len(sides):] + sides[:r % len(sides)]:
                if which == "cli":
                    rates["cli"].append(cli_rate(a.qkv, a.model, threads, a.reps))
                elif which == "python":
                    rates["python"].append(
                        median_rate(lambda: m.encode(texts, batch_size=32), len(texts), a.reps)
                    )
                else:
                    rates[which].append(st_rate(a.st_python, a.model, threads, a.reps))
            print(json.dumps({"threads": threads, "round": r, "load_avg_1m": os.getloadavg()[0],
                              **{k: round(v[-1], 2) for k, v in rates.items()}}), flush=True)
        med = {k: statistics.median(v) for k, v in rates.items()}
        med["python_over_cli"] = med["python"] / med["cli"]
        if "sentence_transformers" in med:
            med["python_over_st"] = med["python"] / med["sentence_transformers"]
        spread = {f"{k}_min_max": [round(min(v), 2), round(max(v), 2)] for k, v in rates.items()}
        summary.append({"threads": threads, **{k: round(v, 3) for k, v in med.items()}, **spread})
    print(json.dumps({"summary": summary, "load_avg_before": load_before,
                      "load_avg_after": os.getloadavg(), "qkv": qkv.__version__}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
