#!/usr/bin/env python3
"""Speed versus accuracy of every engine and precision, from run_precision.py's result file.

    python benches/peers/plot_precision.py docs/bench_results/precision_<date>.json \\
        --out docs/figures/bench_precision.png

Left: sentences/s on the 32-sentence batch (one panel point per thread count) against the mean
10-nearest-neighbour overlap with sentence-transformers f32; right: the same speed against the
worst cosine of the 600 sentences. Up and right is better.
"""

import argparse
import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

STYLE = {"qkv_f32": ("C0", "o"), "qkv_bf16": ("C0", "s"), "qkv_int8": ("C0", "D"),
         "ort_f32": ("C1", "o"), "ort_int8_pc": ("C1", "D"), "ort_int8_pt": ("C1", "v"),
         "ov_f32": ("C2", "o"), "ov_int8": ("C2", "D")}
LABEL = {"qkv_f32": "qkv f32", "qkv_bf16": "qkv bf16", "qkv_int8": "qkv int8",
         "ort_f32": "ONNX Runtime f32", "ort_int8_pc": "ONNX Runtime int8 (per channel)",
         "ort_int8_pt": "ONNX Runtime int8 (per tensor)", "ov_f32": "OpenVINO f32",
         "ov_int8": "OpenVINO int8 (NNCF)"}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("result")
    p.add_argument("--out", required=True)
    p.add_argument("--threads", default="2")
    a = p.parse_args()
    res = json.load(open(a.result))
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8))
    for ax, metric, name in [(axes[0], "knn10", "mean 10-NN overlap with f32"),
                             (axes[1], "cos_worst", "worst cosine to f32 (600 sentences)")]:
        for eng, (color, marker) in STYLE.items():
            s = res["speed"].get(eng, {}).get(a.threads)
            acc = res["accuracy"].get(eng)
            if not s or not acc:
                continue
            ax.scatter(s["sent_per_s"], acc[metric], color=color, marker=marker, s=70,
                       label=LABEL[eng], edgecolors="black", linewidths=0.5)
        ax.set_xlabel(f"sentences/s, 32-sentence batch, {a.threads} thread(s)")
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
    axes[1].set_yscale("function", functions=(lambda y: -((1.0001 - y) ** 0.25),
                                              lambda v: 1.0001 - (-v) ** 4))
    axes[0].legend(fontsize=8, loc="lower left")
    m = res["meta"]
    fig.suptitle(f"all-MiniLM-L6-v2: speed and accuracy by precision — {m['cpu']}, "
                 f"{m['date']}, load {m['load_before']}", fontsize=9)
    fig.tight_layout()
    fig.savefig(a.out, dpi=110)
    print(a.out)


if __name__ == "__main__":
    main()
