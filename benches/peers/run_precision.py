#!/usr/bin/env python3
"""qkv at f32, bf16 and int8 beside ONNX Runtime and OpenVINO (f32 and int8): speed, memory and
accuracy of all-MiniLM-L6-v2, measured in one run.

    /tmp/peers/bin/python benches/peers/run_precision.py --model ~/.cache/qkv/all-MiniLM-L6-v2 \\
        --threads 1,2 --rounds 3 --out docs/bench_results

- Accuracy: the 600 sentences of crates/encoder/tests/fixtures/precision (every engine embeds
  them in passes of 32 sorted by length) against sentence-transformers f32 (the committed
  reference): cosine mean and worst, and the mean overlap of each sentence's 10 nearest
  neighbours with the reference's. qkv's rows come from `qkv embed --precision P`.
- Speed: rounds x thread counts, `qkv bench embed --precision f32,bf16,int8 --json` and
  `precision.py speed` one after the other, order alternating; medians over rounds.
- Memory: the bytes of the model's weights as each engine stores them (qkv: the directory
  `qkv quantize` writes; peers: their model files), and qkv's peak resident set embedding the
  32-sentence batch.

Run it with a Python that has numpy and the peers' packages (precision.py's docstring); the qkv
binary must be built (`cargo build --release -p qkv-cli`). Writes precision_<date>.json and .md.
"""

import argparse
import datetime
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
FIX = os.path.join(ROOT, "crates", "encoder", "tests", "fixtures", "precision")
BATCH32 = os.path.join(ROOT, "crates", "encoder", "tests", "fixtures", "bench", "minilm_batch32.json")
PRECISIONS = ["f32", "bf16", "int8"]
sys.path.insert(0, HERE)
import precision as peer  # noqa: E402
from run_peers import env_for, loadavg, cpu_model, run_json  # noqa: E402


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def reference():
    from safetensors.numpy import load_file
    return load_file(os.path.join(FIX, "sentences_600_st.safetensors"))["embeddings"]


def agreement(got, want, k=10):
    """Cosine mean / worst against the reference and the mean 10-NN overlap (self excluded)."""
    g = got / np.linalg.norm(got, axis=1, keepdims=True)
    w = want / np.linalg.norm(want, axis=1, keepdims=True)
    cos = (g * w).sum(1)

    def knn(e):
        s = e @ e.T
        np.fill_diagonal(s, -np.inf)
        return np.argsort(-s, axis=1, kind="stable")[:, :k]

    a, b = knn(g), knn(w)
    overlap = np.mean([len(set(a[i]) & set(b[i])) / k for i in range(len(g))])
    return {"cos_mean": float(cos.mean()), "cos_worst": float(cos.min()),
            "knn10": float(overlap)}


def qkv_embed(qkv, model, precision, texts, threads, tmp):
    src = os.path.join(tmp, "in.jsonl")
    with open(src, "w") as f:
        for t in texts:
            f.write(json.dumps({"text": t}) + "\n")
    out = os.path.join(tmp, f"out_{precision}.npy")
    cmd = ["/usr/bin/time", "-f", "maxrss_kb=%M", qkv, "embed", "--model", model,
           "--precision", precision, "--input", src, "--output", out, "--format", "npy",
           "--batch-size", "32", "--threads", str(threads)]
    p = subprocess.run(cmd, cwd=ROOT, env=env_for(threads), capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"qkv embed failed: {p.stderr[-2000:]}")
    rss = [int(l.split("=")[1]) for l in p.stderr.splitlines() if l.startswith("maxrss_kb=")]
    return np.load(out), rss[-1] * 1024


def dir_bytes(path):
    if os.path.isfile(path):
        n = os.path.getsize(path)
        side = path[:-4] + ".bin" if path.endswith(".xml") else None
        return n + (os.path.getsize(side) if side and os.path.exists(side) else 0)
    return sum(os.path.getsize(os.path.join(path, f)) for f in os.listdir(path)
               if f.endswith(".safetensors"))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True)
    p.add_argument("--qkv", default=os.path.join(ROOT, "target", "release", "qkv"))
    p.add_argument("--cache", default=os.path.expanduser("~/.cache/qkv/onnx"))
    p.add_argument("--threads", default="1,2")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--reps", type=int, default=9)
    p.add_argument("--out", default=os.path.join(ROOT, "docs", "bench_results"))
    a = p.parse_args()
    threads = [int(t) for t in a.threads.split(",")]
    py = sys.executable
    date = datetime.date.today().isoformat()
    meta = {"date": date, "cpu": cpu_model(), "load_before": loadavg(),
            "rounds": a.rounds, "reps": a.reps}
    run_json([py, os.path.join(HERE, "precision.py"), "prepare", "--model", a.model,
              "--cache", a.cache], 1, 3600)

    # Accuracy and memory.
    texts = json.load(open(os.path.join(FIX, "sentences_600.json")))
    ref = reference()
    acc, mem = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        batch = [s for s in json.load(open(BATCH32))["sentences"]]
        for prec in PRECISIONS:
            got, _ = qkv_embed(a.qkv, a.model, prec, texts, 2, tmp)
            acc[f"qkv_{prec}"] = agreement(got, ref)
            _, rss = qkv_embed(a.qkv, a.model, prec, batch, 1, tmp)
            qdir = a.model
            if prec != "f32":
                qdir = os.path.join(tmp, f"q_{prec}")
                subprocess.run([a.qkv, "quantize", "--model", a.model, "--out", qdir,
                                "--precision", prec], check=True, capture_output=True)
            mem[f"qkv_{prec}"] = {"weights_bytes": dir_bytes(qdir), "peak_rss_bytes": rss}
            log(f"qkv {prec}: {acc[f'qkv_{prec}']}")
        npz = os.path.join(tmp, "peers.npz")
        run_json([py, os.path.join(HERE, "precision.py"), "accuracy", "--model", a.model,
                  "--cache", a.cache, "--threads", "2", "--sentences",
                  os.path.join(FIX, "sentences_600.json"), "--out", npz], 2, 3600)
        got = np.load(npz)
        files = peer.paths(a.cache)
        for name in peer.ENGINES:
            acc[name] = agreement(got[name], ref)
            f = files["onnx"] if name in ("ort_f32", "ov_f32") else files[name]
            mem[name] = {"weights_bytes": dir_bytes(f)}
            log(f"{name}: {acc[name]}")

    # Speed, interleaved.
    raw = []
    for rnd in range(a.rounds):
        for n in threads:
            cmds = [("qkv", [a.qkv, "bench", "embed", "--model", a.model, "--threads", str(n),
                             "--precision", ",".join(PRECISIONS), "--json"]),
                    ("peers", [py, os.path.join(HERE, "precision.py"), "speed", "--model",
                               a.model, "--cache", a.cache, "--threads", str(n),
                               "--reps", str(a.reps)])]
            if rnd % 2:
                cmds.reverse()
            for who, cmd in cmds:
                rows, _ = run_json(cmd, n, 3600)
                for r in rows:
                    if who == "qkv" and r.get("batch") != 32:
                        continue
                    name = f"qkv_{r['precision']}" if who == "qkv" else r["engine"]
                    raw.append({"round": rnd, "threads": n, "engine": name,
                                "sent_per_s": r["sent_per_s"],
                                "sent_per_s_with_tokenization": r["sent_per_s_with_tokenization"]})
                log(f"round {rnd} threads {n} {who} done, load {loadavg()}")
    speed = {}
    for r in raw:
        e = speed.setdefault(r["engine"], {}).setdefault(str(r["threads"]), {"a": [], "b": []})
        e["a"].append(r["sent_per_s"])
        e["b"].append(r["sent_per_s_with_tokenization"])
    speed = {k: {t: {"sent_per_s": statistics.median(v["a"]),
                     "sent_per_s_with_tokenization": statistics.median(v["b"]),
                     "spread": (max(v["a"]) - min(v["a"])) / statistics.median(v["a"])}
                 for t, v in d.items()} for k, d in speed.items()}
    meta["load_after"] = loadavg()
    res = {"meta": meta, "accuracy": acc, "memory": mem, "speed": speed, "raw": raw}
    os.makedirs(a.out, exist_ok=True)
    base = os.path.join(a.out, f"precision_{date}")
    with open(base + ".json", "w") as f:
        json.dump(res, f, indent=1)
    with open(base + ".md", "w") as f:
        f.write(markdown(res, threads))
    log(f"wrote {base}.json and .md")


def markdown(res, threads):
    m = res["meta"]
    head = ["engine"] + [f"sent/s {t} thr" for t in threads] + \
        [f"× qkv f32 ({t} thr)" for t in threads] + \
        ["weights MB", "cos mean", "cos worst", "10-NN overlap"]
    lines = [f"# Precision: qkv beside ONNX Runtime and OpenVINO — {m['date']}", "",
             f"- CPU: {m['cpu']}; load average before / after: {m['load_before']} / "
             f"{m['load_after']}; {m['rounds']} interleaved rounds",
             "- Speed: the 32-sentence MiniLM batch in one pass, tokenized beforehand "
             "(medians over rounds). Accuracy: 600 sentences against sentence-transformers f32.",
             "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    order = [f"qkv_{p}" for p in PRECISIONS] + peer.ENGINES
    for e in order:
        s = res["speed"].get(e, {})
        base = res["speed"].get("qkv_f32", {})
        row = [e.replace("_", " ")]
        row += [f"{s[str(t)]['sent_per_s']:.0f}" if str(t) in s else "–" for t in threads]
        row += [f"{s[str(t)]['sent_per_s'] / base[str(t)]['sent_per_s']:.2f}"
                if str(t) in s and str(t) in base else "–" for t in threads]
        acc = res["accuracy"].get(e, {})
        row += [f"{res['memory'][e]['weights_bytes'] / 1e6:.1f}",
                f"{acc.get('cos_mean', float('nan')):.6f}",
                f"{acc.get('cos_worst', float('nan')):.6f}", f"{acc.get('knn10', float('nan')):.4f}"]
        lines.append("| " + " | ".join(row) + " |")
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
