#!/usr/bin/env python3
"""qkv beside PyTorch and ONNX Runtime, on the same machine in the same session.

For each round, each thread count and each bench, the qkv command (`qkv bench all --only BENCH
--threads N --json`) and the peer measurement (`peers.py BENCH --threads N`, a fresh process
with OMP_NUM_THREADS / MKL_NUM_THREADS = N) run one after the other, their order alternating
from round to round. The small-pass benches `per_pass` and `latency` run `qkv bench embed
--per-pass 1,2,4,8` / `--latency` beside `latency.py` (ONNX Runtime f32). Every figure is a median of timed repetitions inside its process; the
report gives the median of those over the rounds, the spread across rounds, and qkv/peer speed
ratios (above 1: qkv is faster).

This script imports nothing outside the standard library and installs nothing: it expects the
qkv binary built (`cargo build --release -p qkv-cli`), and for the peers a Python with torch,
onnxruntime and sentence-transformers (see README.md), given with --python.

    python3 benches/peers/run_peers.py --python /path/to/venv/bin/python \\
        --model ~/.cache/qkv/all-MiniLM-L6-v2 --rounds 5 --out docs/bench_results
"""

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
ALL = ["gemm", "attention", "encoder", "embed", "attention_seq", "embed_batch", "per_pass",
       "latency"]
# The benches that need --model (embed_batch and the two of latency.py included).
MODEL_BENCHES = ("embed", "embed_batch", "per_pass", "latency")
# Pass sizes of the per_pass bench.
PER_PASS = "1,2,4,8"

# The keys that identify a row of each bench, on both sides.
KEYS = {
    "gemm": ["m", "k", "n"],
    "attention": ["batch", "heads", "seq", "d_head", "causal"],
    "encoder": ["d_model", "heads", "d_ff", "batch", "seq", "lengths"],
    "embed": ["batch"],
    "attention_seq": ["seq"],
    "embed_batch": ["batch_size"],
    "per_pass": ["per_pass"],
    "latency": [],
}

# (ratio name, qkv field, peer field, "time" when lower is better / "rate" when higher is).
RATIOS = {
    "gemm": [("qkv/torch", "qkv_gflops", "torch_gflops", "rate"),
             ("qkv/matrixmultiply", "qkv_gflops", "mm_gflops", "rate")],
    "attention": [("qkv/torch", "qkv_ms", "torch_ms", "time"),
                  ("qkv/naive", "qkv_ms", "naive_ms", "time")],
    "attention_seq": [("qkv/torch", "qkv_ms", "torch_ms", "time"),
                      ("qkv/naive", "qkv_ms", "naive_ms", "time")],
    "encoder": [("qkv/torch", "qkv_ms", "torch_ms", "time"),
                ("qkv/torch_nested", "qkv_ms", "torch_nested_ms", "time")],
    "embed": [("qkv/torch", "sent_per_s", "torch_sent_per_s", "rate"),
              ("qkv/ort", "sent_per_s", "ort_sent_per_s", "rate"),
              ("qkv/torch with tok.", "sent_per_s_with_tokenization",
               "torch_sent_per_s_with_tokenization", "rate"),
              ("qkv/ort with tok.", "sent_per_s_with_tokenization",
               "ort_sent_per_s_with_tokenization", "rate")],
    "embed_batch": [("qkv/torch", "sent_per_s", "torch_sent_per_s", "rate"),
                    ("qkv/ort", "sent_per_s", "ort_sent_per_s", "rate")],
    "per_pass": [("qkv/ort", "sent_per_s", "ort_sent_per_s", "rate")],
    "latency": [("qkv/ort p50", "p50_ms", "ort_p50_ms", "time"),
                ("qkv/ort p99", "p99_ms", "ort_p99_ms", "time")],
}


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def env_for(threads):
    env = dict(os.environ)
    for k in ["OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
              "RAYON_NUM_THREADS", "MATMUL_NUM_THREADS"]:
        env[k] = str(threads)
    env["TOKENIZERS_PARALLELISM"] = "false"
    env["PYTHONWARNINGS"] = "ignore"
    return env


def run_json(cmd, threads, timeout):
    """Runs a command that prints JSON lines; returns the parsed lines and the seconds taken."""
    t = time.perf_counter()
    p = subprocess.run(cmd, env=env_for(threads), cwd=ROOT, capture_output=True, text=True,
                       timeout=timeout)
    dt = time.perf_counter() - t
    if p.returncode != 0:
        raise SystemExit(f"failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr[-3000:]}")
    rows = [json.loads(l) for l in p.stdout.splitlines() if l.startswith("{")]
    return rows, dt


def key_of(bench, row):
    return json.dumps([row[k] for k in KEYS[bench]])


def loadavg():
    try:
        return [float(x) for x in open("/proc/loadavg").read().split()[:3]]
    except OSError:
        return None


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def numeric(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def aggregate(raw, benches, threads):
    """Median over rounds of every numeric field, per (bench, threads, shape), qkv and peer
    joined, plus ratios and the relative spread ((max - min) / median) of each field."""
    out = []
    for bench in benches:
        for n in threads:
            by_key = {}
            for r in raw:
                if r["bench"] != bench or r["threads"] != n:
                    continue
                for row in r["rows"]:
                    k = key_of(bench, row)
                    entry = by_key.setdefault(k, {"fields": {}, "shape": {}})
                    for kk in KEYS[bench]:
                        entry["shape"][kk] = row[kk]
                    for f, v in row.items():
                        if f in KEYS[bench] or f == "threads":
                            continue
                        if numeric(v):
                            entry["fields"].setdefault(f, []).append(v)
                        elif f not in entry["shape"]:
                            entry["shape"].setdefault("info", {})[f] = v
            for k, entry in by_key.items():
                res = {"bench": bench, "threads": n, **entry["shape"]}
                spread = {}
                for f, vs in entry["fields"].items():
                    m = statistics.median(vs)
                    res[f] = m
                    if len(vs) > 1 and m:
                        spread[f] = (max(vs) - min(vs)) / abs(m)
                ratios = {}
                for name, qf, pf, kind in RATIOS.get(bench, []):
                    if qf in res and pf in res and res[qf] and res[pf]:
                        ratios[name] = res[qf] / res[pf] if kind == "rate" else res[pf] / res[qf]
                res["ratios"] = ratios
                res["spread"] = spread
                res["rounds"] = max((len(v) for v in entry["fields"].values()), default=0)
                out.append(res)
    return out


# ---------------------------------------------------------------------------------------------
# The markdown table.


def fmt(v, digits=None):
    if v is None:
        return "–"
    if isinstance(v, float):
        if digits is not None:
            return f"{v:.{digits}f}"
        a = abs(v)
        return f"{v:.0f}" if a >= 100 else f"{v:.1f}" if a >= 10 else f"{v:.2f}" if a >= 1 \
            else f"{v:.3f}"
    return str(v)


def table(head, rows):
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(fmt(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def r(row, name):
    return row["ratios"].get(name)


def markdown(meta, agg):
    def rows_of(bench):
        return [x for x in agg if x["bench"] == bench]

    out = [f"# qkv beside PyTorch and ONNX Runtime — {meta['date']}", "",
           f"- CPU: {meta['cpu']} ({meta['cores']} logical cores), ISA used by qkv: {meta['isa']}",
           f"- qkv {meta['qkv_version']}"
           + (f" (commit {meta['qkv_commit']})" if meta.get("qkv_commit") else "") + "; peers: "
           + ", ".join(f"{k} {v}" for k, v in meta.get("peer_versions", {}).items()),
           f"- {meta['rounds']} interleaved rounds, reps per measurement {meta['reps']}; "
           f"load average before / after: {meta['load_before']} / {meta['load_after']}; "
           f"wall time {meta['wall_s'] / 60:.1f} min"
           + ("; 1-min load during the run: median {median:.2f} (range {min:.2f}–{max:.2f})"
              .format(**meta["load_1min_during"]) if meta.get("load_1min_during") else ""),
           "- Figures are medians over rounds of per-process medians. Ratios are speed ratios "
           "(qkv's speed / the peer's): above 1, qkv is faster. `spread` = (max − min) / median "
           "of qkv's figure across rounds.", ""]
    g = rows_of("gemm")
    if g:
        out += ["## GEMM (y = x·Wᵀ, W a [N, K] weight; GFLOP/s)", "", table(
            ["M×K×N", "threads", "qkv", "torch.matmul (MKL)", "matrixmultiply", "qkv/torch",
             "qkv/mm", "FMA peak", "qkv % peak", "spread"],
            [[f"{x['m']}×{x['k']}×{x['n']}", x["threads"], x.get("qkv_gflops"),
              x.get("torch_gflops"), x.get("mm_gflops"), r(x, "qkv/torch"),
              r(x, "qkv/matrixmultiply"), x.get("peak_gflops"), x.get("pct_peak"),
              x["spread"].get("qkv_gflops")] for x in g]), ""]
    a = rows_of("attention")
    if a:
        out += ["## Attention (ms; qkv fused vs PyTorch SDPA; naive = qkv's unfused GEMM + "
                "softmax + GEMM)", "", table(
                    ["batch×heads×seq×d", "causal", "threads", "qkv", "PyTorch SDPA", "naive",
                     "qkv/torch", "qkv/naive", "spread"],
                    [[f"{x['batch']}×{x['heads']}×{x['seq']}×{x['d_head']}", x["causal"],
                      x["threads"], x.get("qkv_ms"), x.get("torch_ms"), x.get("naive_ms"),
                      r(x, "qkv/torch"), r(x, "qkv/naive"), x["spread"].get("qkv_ms")]
                     for x in a]), ""]
    e = rows_of("encoder")
    if e:
        out += ["## Encoder layer (ms; post-norm, ReLU; PyTorch nn.TransformerEncoderLayer fast "
                "path; nested = nn.TransformerEncoder(num_layers=1) with nested tensors)", "",
                table(["d×heads×d_ff, batch×seq", "lengths", "threads", "qkv", "PyTorch layer",
                       "PyTorch nested", "qkv/torch", "qkv/nested", "spread"],
                      [[f"{x['d_model']}×{x['heads']}×{x['d_ff']}, {x['batch']}×{x['seq']}",
                        "half 64" if len(set(x["lengths"])) > 1 else "full", x["threads"],
                        x.get("qkv_ms"), x.get("torch_ms"), x.get("torch_nested_ms"),
                        r(x, "qkv/torch"), r(x, "qkv/torch_nested"), x["spread"].get("qkv_ms")]
                       for x in e]), ""]
    m = rows_of("embed")
    if m:
        out += ["## all-MiniLM-L6-v2 end to end (sentences/s; model only = pre-tokenized; "
                "batch 32 = the built-in batch, 24 = long inputs truncated at 256 tokens)", "",
                table(["batch", "threads", "qkv", "sentence-transformers", "ONNX Runtime",
                       "qkv/torch", "qkv/ort", "qkv +tok", "torch +tok", "ort +tok",
                       "qkv/torch +tok", "qkv/ort +tok"],
                      [[x["batch"], x["threads"], x.get("sent_per_s"), x.get("torch_sent_per_s"),
                        x.get("ort_sent_per_s"), r(x, "qkv/torch"), r(x, "qkv/ort"),
                        x.get("sent_per_s_with_tokenization"),
                        x.get("torch_sent_per_s_with_tokenization"),
                        x.get("ort_sent_per_s_with_tokenization"),
                        r(x, "qkv/torch with tok."), r(x, "qkv/ort with tok.")] for x in m]), ""]
    s = rows_of("attention_seq")
    if s:
        out += ["## Attention vs sequence length (batch 1, 12 heads, d_head 64; ms)", "", table(
            ["seq", "threads", "qkv fused", "naive", "PyTorch SDPA", "qkv/torch"],
            [[x["seq"], x["threads"], x.get("qkv_ms"), x.get("naive_ms"), x.get("torch_ms"),
              r(x, "qkv/torch")] for x in s]), ""]
    b = rows_of("embed_batch")
    if b:
        out += ["## MiniLM vs forward-pass size (the 32 sentences in passes of B; model only; "
                "sentences/s)", "", table(
                    ["B", "threads", "qkv", "sentence-transformers", "ONNX Runtime",
                     "qkv/torch", "qkv/ort"],
                    [[x["batch_size"], x["threads"], x.get("sent_per_s"),
                      x.get("torch_sent_per_s"), x.get("ort_sent_per_s"), r(x, "qkv/torch"),
                      r(x, "qkv/ort")] for x in b]), ""]
    pp = rows_of("per_pass")
    if pp:
        out += ["## MiniLM in small passes (the 32 sentences sorted by length, in passes of B; "
                "model only; sentences/s; ONNX Runtime f32 from latency.py)", "", table(
                    ["B", "threads", "qkv", "ONNX Runtime", "qkv/ort", "spread"],
                    [[x["per_pass"], x["threads"], x.get("sent_per_s"), x.get("ort_sent_per_s"),
                      r(x, "qkv/ort"), x["spread"].get("sent_per_s")] for x in pp]), ""]
    la = rows_of("latency")
    if la:
        out += ["## Single-request latency (text to embedding, one sentence; ms over 300 calls; "
                "qkv's p50 / ONNX Runtime's below 1: qkv is faster)", "", table(
                    ["threads", "tokens", "qkv p50", "qkv p99", "ORT p50", "ORT p99",
                     "qkv/ORT p50", "qkv/ORT p99"],
                    [[x["threads"], x.get("tokens"), x.get("p50_ms"), x.get("p99_ms"),
                      x.get("ort_p50_ms"), x.get("ort_p99_ms"),
                      x["p50_ms"] / x["ort_p50_ms"] if x.get("ort_p50_ms") else None,
                      x["p99_ms"] / x["ort_p99_ms"] if x.get("ort_p99_ms") else None]
                     for x in la]), ""]
    return "\n".join(out)


def commands(a, bench, n):
    """The qkv command and the peer command of one bench at `n` threads."""
    if bench in ("per_pass", "latency"):
        mode = ["--per-pass", PER_PASS] if bench == "per_pass" else ["--latency"]
        qkv = [a.qkv, "bench", "embed", "--model", a.model, *mode, "--threads", str(n),
               "--reps", str(a.reps), "--json"]
        peer = [a.python, os.path.join(HERE, "latency.py"), bench, "--threads", str(n),
                "--reps", str(a.reps), "--model", a.model, "--onnx", a.onnx, "--sizes", PER_PASS]
        return qkv, peer
    qkv = [a.qkv, "bench", "all", "--only", bench, "--threads", str(n), "--reps", str(a.reps),
           "--json"]
    peer = [a.python, os.path.join(HERE, "peers.py"), bench, "--threads", str(n), "--reps",
            str(a.reps)]
    if bench in ("embed", "embed_batch"):
        qkv += ["--model", a.model]
        peer += ["--model", a.model, "--onnx", a.onnx]
    return qkv, peer


# ---------------------------------------------------------------------------------------------


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--python", default=sys.executable,
                   help="Python with torch, onnxruntime, sentence-transformers (default: this one)")
    p.add_argument("--qkv", default=os.path.join(ROOT, "target", "release", "qkv"),
                   help="the qkv binary (default: target/release/qkv)")
    p.add_argument("--model", help="all-MiniLM-L6-v2 directory (scripts/fetch_model.sh); "
                   "without it the embed benches are skipped")
    p.add_argument("--onnx", default=os.path.expanduser("~/.cache/qkv/onnx/all-MiniLM-L6-v2.onnx"),
                   help="where the exported ONNX model is (exported there when missing)")
    p.add_argument("--benches", default=",".join(ALL), help="comma-separated, from: " + ", ".join(ALL))
    p.add_argument("--threads", default="1,2", help="thread counts, comma-separated")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--reps", type=int, default=7, help="timed repetitions per measurement")
    p.add_argument("--out", default=os.path.join(ROOT, "docs", "bench_results"),
                   help="directory for peers_<date>.json / .md")
    p.add_argument("--tag", default=None, help="file name stem (default: peers_<date>)")
    p.add_argument("--timeout", type=int, default=1800, help="seconds per command")
    p.add_argument("--commit", default=None,
                   help="the commit the qkv binary was built from, for the record")
    a = p.parse_args()

    benches = [b for b in a.benches.split(",") if b]
    for b in benches:
        if b not in ALL:
            p.error(f"unknown bench {b!r}")
    if not a.model:
        benches = [b for b in benches if b not in MODEL_BENCHES]
    threads = [int(t) for t in a.threads.split(",")]
    if not os.path.exists(a.qkv):
        p.error(f"{a.qkv} not found: cargo build --release -p qkv-cli")

    if a.model and not os.path.exists(a.onnx):
        log(f"exporting {a.model} to {a.onnx}")
        run_json([a.python, os.path.join(HERE, "peers.py"), "export", "--model", a.model,
                  "--onnx", a.onnx], 1, a.timeout)

    started = time.time()
    meta = {"date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"), "cpu": cpu_model(),
            "cores": os.cpu_count(), "rounds": a.rounds, "reps": a.reps, "threads": threads,
            "benches": benches, "load_before": loadavg(), "loads": [],
            "qkv_binary": os.path.abspath(a.qkv), "qkv_commit": a.commit}
    raw = []
    step = 0
    for rnd in range(a.rounds):
        for n in threads:
            for bench in benches:
                qkv_cmd, peer_cmd = commands(a, bench, n)
                sides = [("qkv", qkv_cmd), ("peer", peer_cmd)]
                if step % 2:
                    sides.reverse()
                step += 1
                for side, cmd in sides:
                    rows, dt = run_json(cmd, n, a.timeout)
                    raw.append({"round": rnd, "threads": n, "bench": bench, "side": side,
                                "seconds": dt, "load": loadavg(), "rows": rows})
                    log(f"round {rnd + 1}/{a.rounds} threads {n} {bench:13s} {side:4s} "
                        f"{dt:6.1f}s load {loadavg()}")
                    if side == "qkv" and rows:
                        for f in ["isa", "cpu", "qkv_version"]:
                            if rows[0].get(f) is not None:
                                meta.setdefault(f, rows[0][f])
                    if side == "peer" and rows and "versions" in rows[0]:
                        meta["peer_versions"] = rows[0]["versions"]
            meta["loads"].append(loadavg())
    meta["load_after"] = loadavg()
    ones = [x["load"][0] for x in raw if x.get("load")]
    if ones:
        meta["load_1min_during"] = {"min": min(ones), "median": statistics.median(ones),
                                    "max": max(ones)}
    meta["wall_s"] = time.time() - started
    meta.setdefault("isa", "?")
    meta.setdefault("qkv_version", "?")

    # Merge qkv and peer rows of the same (round, threads, bench) by shape key.
    merged = []
    for rnd in range(a.rounds):
        for n in threads:
            for bench in benches:
                parts = [x for x in raw if (x["round"], x["threads"], x["bench"]) == (rnd, n, bench)]
                rows = {}
                for x in parts:
                    for row in x["rows"]:
                        rows.setdefault(key_of(bench, row), {}).update(
                            {k: v for k, v in row.items() if k not in ("versions",
                                                                        "max_abs_vs_expected")})
                merged.append({"round": rnd, "threads": n, "bench": bench, "rows": list(rows.values())})
    agg = aggregate(merged, benches, threads)

    os.makedirs(a.out, exist_ok=True)
    stem = a.tag or "peers_" + datetime.datetime.now().strftime("%Y%m%d_%H%M")
    with open(os.path.join(a.out, stem + ".json"), "w") as f:
        json.dump({"meta": meta, "results": agg, "raw": raw}, f, indent=1)
    with open(os.path.join(a.out, stem + ".md"), "w") as f:
        f.write(markdown(meta, agg) + "\n")
    log(f"wrote {os.path.join(a.out, stem)}.json / .md")


if __name__ == "__main__":
    main()
