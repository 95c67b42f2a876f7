#!/usr/bin/env python3
"""Plots of a run_peers.py result file (needs matplotlib):

    python benches/peers/plot.py docs/bench_results/peers_<date>.json --out docs/figures

writes bench_gemm.png (GFLOP/s per GEMM shape: qkv, PyTorch/MKL, matrixmultiply, the FMA peak),
bench_attention.png (attention time vs sequence length: qkv fused, qkv unfused, PyTorch SDPA)
and bench_minilm.png (all-MiniLM-L6-v2 sentences/s vs forward-pass size and vs threads).
"""

import argparse
import json
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

QKV, TORCH, ORT, OTHER = "#1f77b4", "#d62728", "#2ca02c", "#7f7f7f"


def rows(res, bench, threads=None):
    return [r for r in res["results"]
            if r["bench"] == bench and (threads is None or r["threads"] == threads)]


def subtitle(res):
    m = res["meta"]
    during = m.get("load_1min_during")
    load = (f"1-min load median {during['median']:.2f}" if during
            else f"load avg {m['load_before'][0]:.2f}" if m.get("load_before") else "load ?")
    commit = f" {m['qkv_commit']}" if m.get("qkv_commit") else ""
    return (f"{m['cpu']}, qkv {m.get('qkv_version', '?')}{commit} ({m.get('isa', '?')}); "
            f"medians of {m['rounds']} interleaved rounds; {load}")


def plain_log2_axis(ax, ticks):
    """A log₂ x axis labelled with the plain numbers."""
    ax.set_xscale("log", base=2)
    ax.set_xticks(ticks)
    ax.set_xticklabels([str(t) for t in ticks])
    ax.minorticks_off()


def plot_gemm(res, out):
    threads = sorted({r["threads"] for r in rows(res, "gemm")})
    if not threads:
        return None
    fig, axes = plt.subplots(1, len(threads), figsize=(6.5 * len(threads), 4.8), squeeze=False)
    for ax, n in zip(axes[0], threads):
        g = rows(res, "gemm", n)
        labels = [f"{r['m']}×{r['k']}×{r['n']}" for r in g]
        x = range(len(g))
        w = 0.27
        for off, key, name, c in [(-w, "qkv_gflops", "qkv", QKV),
                                  (0, "torch_gflops", "torch.matmul (MKL)", TORCH),
                                  (w, "mm_gflops", "matrixmultiply", OTHER)]:
            ax.bar([i + off for i in x], [r.get(key, 0) for r in g], w, label=name, color=c)
        peak = max(r.get("peak_gflops", 0) for r in g)
        ax.axhline(peak, color="black", ls="--", lw=1, label=f"FMA peak ({peak:.0f})")
        ax.set_xticks(list(x))
        ax.set_xticklabels(labels, rotation=25, ha="right", fontsize=8)
        ax.set_ylabel("GFLOP/s")
        ax.set_title(f"GEMM y = x·Wᵀ (M×K×N), {n} thread{'s' if n > 1 else ''}")
        ax.set_ylim(0, peak * 1.15)
        ax.legend(fontsize=8, loc="upper left")
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle(subtitle(res), fontsize=8)
    fig.tight_layout()
    path = os.path.join(out, "bench_gemm.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_attention(res, out):
    s = rows(res, "attention_seq")
    if not s:
        return None
    threads = sorted({r["threads"] for r in s})
    fig, axes = plt.subplots(1, len(threads), figsize=(6 * len(threads), 4.6), squeeze=False,
                             sharey=True)
    for ax, n in zip(axes[0], threads):
        rs = sorted(rows(res, "attention_seq", n), key=lambda r: r["seq"])
        seq = [r["seq"] for r in rs]
        for key, name, c, st in [("qkv_ms", "qkv fused", QKV, "-o"),
                                 ("naive_ms", "qkv unfused (GEMM + softmax + GEMM)", OTHER, "--s"),
                                 ("torch_ms", "PyTorch SDPA", TORCH, "-^")]:
            ax.plot(seq, [r.get(key) for r in rs], st, color=c, label=name, ms=4)
        plain_log2_axis(ax, seq)
        ax.set_yscale("log")
        ax.set_xlabel("sequence length (batch 1, 12 heads, d_head 64)")
        ax.set_ylabel("ms per call")
        ax.set_title(f"Attention, {n} thread{'s' if n > 1 else ''}")
        ax.grid(which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(subtitle(res), fontsize=8)
    fig.tight_layout()
    path = os.path.join(out, "bench_attention.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_minilm(res, out):
    b = rows(res, "embed_batch")
    e = [r for r in rows(res, "embed") if r["batch"] == 32]
    if not b and not e:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6))
    ax = axes[0]
    for n, st in zip(sorted({r["threads"] for r in b}), ["-", "--", ":"]):
        rs = sorted(rows(res, "embed_batch", n), key=lambda r: r["batch_size"])
        bs = [r["batch_size"] for r in rs]
        for key, name, c, mk in [("sent_per_s", "qkv", QKV, "o"),
                                 ("torch_sent_per_s", "sentence-transformers", TORCH, "^"),
                                 ("ort_sent_per_s", "ONNX Runtime", ORT, "s")]:
            ax.plot(bs, [r.get(key) for r in rs], st, marker=mk, color=c, ms=4,
                    label=f"{name}, {n} thr")
    ticks = sorted({r["batch_size"] for r in b})
    if ticks:
        plain_log2_axis(ax, ticks)
    ax.set_xlabel("sentences per forward pass (32 sentences in all)")
    ax.set_ylabel("sentences/s (model only, pre-tokenized)")
    ax.set_title("all-MiniLM-L6-v2 vs batch size")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    ax = axes[1]
    threads = sorted({r["threads"] for r in e})
    w = 0.13
    series = [("sent_per_s", "qkv", QKV, None), ("torch_sent_per_s", "sentence-transformers",
                                                  TORCH, None),
              ("ort_sent_per_s", "ONNX Runtime", ORT, None),
              ("sent_per_s_with_tokenization", "qkv + tokenization", QKV, "//"),
              ("torch_sent_per_s_with_tokenization", "s-t + tokenization", TORCH, "//"),
              ("ort_sent_per_s_with_tokenization", "ORT + tokenization", ORT, "//")]
    for j, (key, name, c, hatch) in enumerate(series):
        xs = [i + (j - 2.5) * w for i in range(len(threads))]
        vals = [next((r.get(key, 0) for r in e if r["threads"] == n), 0) for n in threads]
        ax.bar(xs, vals, w, color=c, label=name, hatch=hatch,
               alpha=0.55 if hatch else 1.0, edgecolor="white" if not hatch else "black", lw=0.3)
    ax.set_xticks(range(len(threads)))
    ax.set_xticklabels([f"{n} thread{'s' if n > 1 else ''}" for n in threads])
    ax.set_ylabel("sentences/s")
    ax.set_title("all-MiniLM-L6-v2, the 32-sentence batch, vs threads")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    fig.suptitle(subtitle(res), fontsize=8)
    fig.tight_layout()
    path = os.path.join(out, "bench_minilm.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("results", help="a run_peers.py .json file")
    p.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "..", "docs",
                                                 "figures"))
    a = p.parse_args()
    with open(a.results) as f:
        res = json.load(f)
    os.makedirs(a.out, exist_ok=True)
    for fn in [plot_gemm, plot_attention, plot_minilm]:
        path = fn(res, a.out)
        if path:
            print(path)


if __name__ == "__main__":
    main()
