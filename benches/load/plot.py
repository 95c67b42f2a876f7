#!/usr/bin/env python3
"""Plots of a benches/load/run.sh result file (needs matplotlib):

    python benches/load/plot.py load-out/server_run.json --out docs/figures

writes server_throughput.png (sentences/s vs concurrent clients: qkv serve, Infinity when it
ran, and `qkv bench embed`'s offline rate as a line) and server_latency.png (p50/p95/p99 request
latency vs concurrent clients). Each title carries the machine's 1-minute load average measured
during the sweep: the numbers mean little without it on a shared machine.
"""

import argparse
import json
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

QKV, INF, OTHER = "#1f77b4", "#ff7f0e", "#7f7f7f"


def plain_log2_axis(ax, ticks):
    """A log₂ x axis labelled with the plain numbers."""
    ax.set_xscale("log", base=2)
    ax.set_xticks(ticks)
    ax.set_xticklabels([str(t) for t in ticks])
    ax.minorticks_off()


def loads(sweep):
    xs = [v for r in sweep for v in (r.get("load1_before"), r.get("load1_after")) if v is not None]
    return f"load avg {min(xs):.1f}–{max(xs):.1f}" if xs else "load avg ?"


def offline_rate(run):
    """`qkv bench embed`'s sentences/s on its 32-sentence batch, tokenization included, before
    and after the server runs."""
    rates = []
    for tag in ("offline_before", "offline_after"):
        for r in (run.get(tag) or {}).get("bench_embed") or []:
            if r.get("batch") == 32 and r.get("sent_per_s_with_tokenization"):
                rates.append(r["sent_per_s_with_tokenization"])
    return rates


def offline_load(run):
    xs = [v for tag in ("offline_before", "offline_after") for v in (run.get(tag) or {}).get("load1", [])]
    return f"load avg {max(xs):.0f}" if xs else "load avg ?"


def peers(run):
    out = [("qkv serve", QKV, run["qkv"])]
    if run.get("infinity"):
        out.append(("Infinity (PyTorch engine)", INF, run["infinity"]))
    return [(n, c, r) for n, c, r in out if r and r.get("sweep")]


def plot_throughput(run, out):
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    ticks = set()
    notes = []
    for name, color, res in peers(run):
        s = res["sweep"]
        x = [r["clients"] for r in s]
        ticks.update(x)
        ax.plot(x, [r["sentences_per_s"] for r in s], "o-", color=color, label=name)
        notes.append(f"{name.split()[0]}: {loads(s)}")
    rates = offline_rate(run)
    if rates:
        ax.axhline(max(rates), color=OTHER, ls="--", lw=1,
                   label=f"qkv bench embed, offline ({max(rates):.0f}; {offline_load(run)})")
    plain_log2_axis(ax, sorted(ticks))
    ax.set_xlabel("concurrent clients (each request 1–32 sentences)")
    ax.set_ylabel("sentences/s")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("all-MiniLM-L6-v2 served on loopback: throughput\n" + "; ".join(notes), fontsize=9)
    fig.tight_layout()
    path = os.path.join(out, "server_throughput.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_latency(run, out):
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    ticks = set()
    notes = []
    for name, color, res in peers(run):
        s = res["sweep"]
        x = [r["clients"] for r in s]
        ticks.update(x)
        short = name.split()[0]
        for key, style in (("p50_ms", "o-"), ("p95_ms", "s--"), ("p99_ms", "^:")):
            ax.plot(x, [r[key] / 1000 if r[key] is not None else None for r in s], style,
                    color=color, label=f"{short} {key[:3]}")
        notes.append(f"{short}: {loads(s)}")
    plain_log2_axis(ax, sorted(ticks))
    ax.set_yscale("log")
    ax.set_xlabel("concurrent clients (each request 1–32 sentences)")
    ax.set_ylabel("request latency (s)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, ncol=2)
    ax.set_title("all-MiniLM-L6-v2 served on loopback: latency\n" + "; ".join(notes), fontsize=9)
    fig.tight_layout()
    path = os.path.join(out, "server_latency.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("result")
    p.add_argument("--out", default="docs/figures")
    a = p.parse_args()
    run = json.load(open(a.result))
    os.makedirs(a.out, exist_ok=True)
    for path in (plot_throughput(run, a.out), plot_latency(run, a.out)):
        print(path)


if __name__ == "__main__":
    main()
