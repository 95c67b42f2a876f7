#!/usr/bin/env python3
"""ONNX Runtime f32 on small passes and single requests of all-MiniLM-L6-v2, the peer of
`qkv bench embed --per-pass` and `qkv bench embed --latency`:

    python latency.py per_pass --threads 1 --model DIR --onnx FILE [--sizes 1,2,4,8]
    python latency.py latency  --threads 1 --model DIR --onnx FILE
    python latency.py plot RESULT.json --out docs/figures      # bench_per_pass.png

The leanest Python path to an embedding: the Rust fast tokenizer (`tokenizers`, the model's
tokenizer.json, truncation at the model's max_seq_length), one `InferenceSession.run` of the
export `peers.py export` makes (intra-op threads = N, inter-op 1, sequential, all graph
optimizations), mean pooling and L2 normalization in NumPy.

- per_pass: the built-in 32-sentence batch, tokenized once outside the timing, sorted by length
  (longest first) and cut into passes of B sentences, each padded to its longest; one line
  `{threads, per_pass, ort_sent_per_s}` per B (median of the timed repetitions).
- latency: text to embedding for the one sentence (tokenizer included), 300 timed calls after
  30 untimed ones; one line `{threads, tokens, ort_p50_ms, ort_p99_ms}` (nearest rank).

Before timing, the embeddings of the batch are checked against its expected ones (1e-4).
"""

import argparse
import json
import math
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
BATCH32 = os.path.join(ROOT, "crates", "encoder", "tests", "fixtures", "bench",
                       "minilm_batch32.json")
# The sentence of `qkv bench embed --latency` (crates/cli/src/bench/embed_small.rs).
LATENCY_TEXT = "A quick brown fox jumps over the lazy dog by the river."
LATENCY_CALLS, LATENCY_WARMUP = 300, 30


def emit(row):
    print(json.dumps(row), flush=True)


class Ort:
    """Tokenizer + session + pooling, nothing else."""

    def __init__(self, a):
        os.environ.setdefault("OMP_NUM_THREADS", str(a.threads))
        import numpy as np
        import onnxruntime as ort
        from tokenizers import Tokenizer
        self.np = np
        cfg = os.path.join(a.model, "sentence_bert_config.json")
        max_len = json.load(open(cfg)).get("max_seq_length", 256) if os.path.exists(cfg) else 256
        self.tok = Tokenizer.from_file(os.path.join(a.model, "tokenizer.json"))
        self.tok.enable_truncation(max_len)
        self.tok.no_padding()
        so = ort.SessionOptions()
        so.intra_op_num_threads = a.threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.sess = ort.InferenceSession(a.onnx, so, providers=["CPUExecutionProvider"])
        self.version = ort.__version__

    def feeds(self, encs):
        """Input arrays of a pass, padded to its longest encoding."""
        np = self.np
        n, L = len(encs), max(len(e.ids) for e in encs)
        ids = np.zeros((n, L), dtype=np.int64)
        mask = np.zeros((n, L), dtype=np.int64)
        types = np.zeros((n, L), dtype=np.int64)
        for i, e in enumerate(encs):
            k = len(e.ids)
            ids[i, :k] = e.ids
            mask[i, :k] = 1
            types[i, :k] = e.type_ids
        return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}

    def run(self, feed):
        """Mean-pooled, normalized embeddings of one pass."""
        np = self.np
        (h,) = self.sess.run(None, feed)
        m = feed["attention_mask"][:, :, None].astype(np.float32)
        e = (h * m).sum(1) / np.maximum(m.sum(1), 1e-9)
        return e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)

    def embed_text(self, text):
        return self.run(self.feeds([self.tok.encode(text)]))


def load_batch():
    with open(BATCH32) as f:
        b = json.load(f)
    return b["sentences"], b["expected_embeddings"]


def passes(o, sentences, size):
    """(indices, feed) per pass: sorted by token count, longest first, cut into `size`."""
    encs = o.tok.encode_batch(sentences)
    order = sorted(range(len(sentences)), key=lambda i: -len(encs[i].ids))
    return [(order[s:s + size], o.feeds([encs[i] for i in order[s:s + size]]))
            for s in range(0, len(order), size)]


def check(o, sentences, expected):
    np = o.np
    res = np.zeros((len(sentences), len(expected[0])), dtype=np.float32)
    for idx, feed in passes(o, sentences, len(sentences)):
        res[idx] = o.run(feed)
    worst = float(np.abs(res - np.asarray(expected, dtype=np.float32)).max())
    if not worst < 1e-4:
        raise SystemExit(f"ONNX Runtime embeddings differ from the expected ones ({worst:e})")


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else 0.5 * (xs[n // 2 - 1] + xs[n // 2])


def percentile(sorted_xs, p):
    rank = math.ceil(p / 100 * len(sorted_xs))
    return sorted_xs[min(max(rank, 1), len(sorted_xs)) - 1]


def bench_per_pass(a):
    o = Ort(a)
    sentences, expected = load_batch()
    check(o, sentences, expected)
    sizes = [int(s) for s in a.sizes.split(",")]
    plans = {bs: passes(o, sentences, bs) for bs in sizes}
    n = len(sentences)

    def whole(plan):
        for _, feed in plan:
            o.run(feed)

    # Interleaved over the sizes, as `qkv bench embed --per-pass` times them.
    for _ in range(2):
        for bs in sizes:
            whole(plans[bs])
    times = {bs: [] for bs in sizes}
    for _ in range(max(a.reps, 9)):
        for bs in sizes:
            t = time.perf_counter()
            whole(plans[bs])
            times[bs].append(time.perf_counter() - t)
    for bs in sizes:
        emit({"threads": a.threads, "per_pass": bs, "ort_sent_per_s": n / median(times[bs]),
              "versions": {"onnxruntime": o.version}})


def bench_latency(a):
    o = Ort(a)
    sentences, expected = load_batch()
    check(o, sentences, expected)
    tokens = len(o.tok.encode(LATENCY_TEXT).ids)
    for _ in range(LATENCY_WARMUP):
        o.embed_text(LATENCY_TEXT)
    ms = []
    for _ in range(LATENCY_CALLS):
        t = time.perf_counter()
        o.embed_text(LATENCY_TEXT)
        ms.append((time.perf_counter() - t) * 1e3)
    ms.sort()
    emit({"threads": a.threads, "tokens": tokens, "ort_p50_ms": percentile(ms, 50),
          "ort_p99_ms": percentile(ms, 99), "versions": {"onnxruntime": o.version}})


def plot(a):
    """bench_per_pass.png: sentences/s against pass size, qkv and ONNX Runtime, per thread
    count (the style of plot.py)."""
    sys.path.insert(0, HERE)
    import plot as style
    plt = style.plt
    with open(a.result) as f:
        res = json.load(f)
    pp = [r for r in res["results"] if r["bench"] == "per_pass"]
    if not pp:
        raise SystemExit(f"{a.result} has no per_pass rows")
    threads = sorted({r["threads"] for r in pp})
    fig, ax = plt.subplots(figsize=(6.5, 4.4))
    for n, ls in zip(threads, ["-", "--", ":"]):
        rs = sorted((r for r in pp if r["threads"] == n), key=lambda r: r["per_pass"])
        x = [r["per_pass"] for r in rs]
        ax.plot(x, [r.get("sent_per_s") for r in rs], ls, marker="o", color=style.QKV,
                label=f"qkv, {n} thread{'s' if n > 1 else ''}")
        ax.plot(x, [r.get("ort_sent_per_s") for r in rs], ls, marker="s", color=style.ORT,
                label=f"ONNX Runtime f32, {n} thread{'s' if n > 1 else ''}")
    sizes = sorted({r["per_pass"] for r in pp})
    style.plain_log2_axis(ax, sizes)
    ax.set_xlabel("sentences per forward pass")
    ax.set_ylabel("sentences/s (model only)")
    ax.set_ylim(bottom=0)
    ax.set_title("all-MiniLM-L6-v2: throughput vs pass size (32 sentences)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.suptitle(style.subtitle(res), fontsize=7)
    fig.tight_layout()
    path = os.path.join(a.out, "bench_per_pass.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(path)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("bench", choices=["per_pass", "latency", "plot"])
    p.add_argument("result", nargs="?", help="plot: a run_peers.py result file")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--reps", type=int, default=9)
    p.add_argument("--sizes", default="1,2,4,8", help="per_pass: sentences per pass")
    p.add_argument("--model", help="all-MiniLM-L6-v2 directory")
    p.add_argument("--onnx", help="the model exported by `peers.py export`")
    p.add_argument("--out", default=os.path.join(ROOT, "docs", "figures"), help="plot: folder")
    a = p.parse_args()
    if a.bench == "plot":
        if not a.result:
            p.error("plot needs a result file")
        return plot(a)
    if not (a.model and a.onnx):
        p.error(f"{a.bench} needs --model and --onnx")
    {"per_pass": bench_per_pass, "latency": bench_latency}[a.bench](a)


if __name__ == "__main__":
    main()
