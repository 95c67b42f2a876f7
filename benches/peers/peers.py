"""The peer side of qkv's benchmarks: PyTorch and ONNX Runtime on the shapes `qkv bench` uses.

One bench per process, so that each gets its own thread settings before torch is imported:

    python peers.py gemm --threads 1 --reps 7
    python peers.py embed --threads 2 --model DIR --onnx FILE
    python peers.py export --model DIR --onnx FILE      # all-MiniLM-L6-v2 -> ONNX, once

Each measurement prints one JSON line whose shape keys match the qkv row it sits beside
(gemm: m k n; attention: batch heads seq d_head causal; encoder: d_model heads d_ff batch seq
lengths; embed: batch; attention_seq: seq; embed_batch: batch_size) plus the peer's figures.
Timing: 2 warm-up calls, then `reps` timed calls, median (the same as qkv's `interleaved`).
run_peers.py sets OMP_NUM_THREADS / MKL_NUM_THREADS before starting this script; here torch and
ONNX Runtime are told the same count again.
"""

import argparse
import json
import os
import statistics
import sys
import time

# The shapes of `qkv bench` (crates/cli/src/bench_*.rs): both sides must agree.
GEMM = [(128, 384, 1152), (128, 384, 1536), (128, 1536, 384), (512, 768, 768), (512, 768, 3072),
        (2048, 2048, 2048)]
ATTENTION = [(1, 6, 128, 64), (8, 6, 128, 64), (1, 12, 512, 64), (1, 12, 4096, 64), (1, 4, 10, 16)]
ENCODER = [(384, 6, 1536, 1, 128, [128]), (384, 6, 1536, 8, 128, [128] * 8),
           (768, 12, 3072, 1, 512, [512]), (64, 4, 256, 1, 10, [10]),
           (384, 6, 1536, 8, 128, [128, 64] * 4)]
SEQ_SWEEP = [32, 64, 128, 256, 512, 1024, 2048, 4096]
BATCH_SWEEP = [1, 2, 4, 8, 16, 32]

HERE = os.path.dirname(os.path.abspath(__file__))
BATCH32 = os.path.join(HERE, "..", "..", "crates", "encoder", "tests", "fixtures", "bench",
                       "minilm_batch32.json")


def emit(row):
    print(json.dumps(row), flush=True)


def timed(fns, reps, warmup=2):
    """Runs the callables interleaved (a, b, a, b, ...) after `warmup` rounds; median seconds each."""
    for _ in range(warmup):
        for f in fns:
            f()
    times = [[] for _ in fns]
    for _ in range(reps):
        for f, t in zip(fns, times):
            s = time.perf_counter()
            f()
            t.append(time.perf_counter() - s)
    return [statistics.median(t) for t in times]


def reps_for(flops, reps, small_factor):
    return max(reps, 5) if flops > 1e10 else max(reps, 5) * small_factor


def setup_torch(threads):
    import torch
    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(0)
    return torch


def versions():
    out = {}
    for name in ["torch", "onnxruntime", "sentence_transformers", "transformers", "numpy"]:
        mod = sys.modules.get(name)
        if mod is not None:
            out[name] = getattr(mod, "__version__", "?")
    return out


# ---------------------------------------------------------------------------------------------
# Kernels and one layer.


def bench_gemm(a):
    torch = setup_torch(a.threads)
    for (m, k, n) in GEMM:
        x = torch.rand(m, k) * 2 - 1
        w = torch.rand(n, k) * 2 - 1  # a Linear weight [N, K]: y = x @ w.T, as qkv's packed B
        out = torch.empty(m, n)
        flops = 2.0 * m * n * k
        reps = max(a.reps, 5) if m * n * k > 1 << 30 else max(a.reps, 5) * 3
        with torch.inference_mode():
            (t,) = timed([lambda: torch.matmul(x, w.t(), out=out)], reps)
        emit({"m": m, "k": k, "n": n, "threads": a.threads, "torch_gflops": flops / t / 1e9})


def sdpa_case(torch, batch, heads, seq, d, causal, reps, factor):
    import torch.nn.functional as F
    q, k, v = (torch.rand(batch, heads, seq, d) * 2 - 1 for _ in range(3))
    flops = 4.0 * batch * heads * seq * seq * d
    with torch.inference_mode():
        (t,) = timed([lambda: F.scaled_dot_product_attention(q, k, v, is_causal=causal)],
                     reps_for(flops, reps, factor))
    return t


def bench_attention(a):
    torch = setup_torch(a.threads)
    for (b, h, s, d) in ATTENTION:
        for causal in [False, True]:
            t = sdpa_case(torch, b, h, s, d, causal, a.reps, 5)
            emit({"batch": b, "heads": h, "seq": s, "d_head": d, "causal": causal,
                  "threads": a.threads, "torch_ms": t * 1e3})


def bench_attention_seq(a):
    torch = setup_torch(a.threads)
    for s in SEQ_SWEEP:
        t = sdpa_case(torch, 1, 12, s, 64, False, a.reps, 3)
        emit({"seq": s, "threads": a.threads, "torch_ms": t * 1e3})


def bench_encoder(a):
    """nn.TransformerEncoderLayer (post-norm, ReLU, eval, inference_mode: its fast path), and
    for a padded batch also nn.TransformerEncoder(num_layers=1), which turns the padding mask
    into a nested tensor and so skips the padding the way qkv's packed layout does."""
    import warnings
    torch = setup_torch(a.threads)
    warnings.filterwarnings("ignore", message=".*nested tensors is in prototype.*")
    warnings.filterwarnings("ignore", message=".*enable_nested_tensor is True.*")
    for (d, h, ff, b, s, lengths) in ENCODER:
        layer = torch.nn.TransformerEncoderLayer(d, h, ff, dropout=0.1, batch_first=True).eval()
        x = torch.rand(b, s, d) * 2 - 1
        pad = torch.zeros(b, s, dtype=torch.bool)
        for i, n in enumerate(lengths):
            pad[i, n:] = True
        padded = bool(pad.any())
        flops = 2.0 * b * s * d * (4 * d + 2 * ff)
        reps = reps_for(flops, a.reps, 5)
        row = {"d_model": d, "heads": h, "d_ff": ff, "batch": b, "seq": s, "lengths": lengths,
               "threads": a.threads}
        with torch.inference_mode():
            if padded:
                enc = torch.nn.TransformerEncoder(layer, 1, enable_nested_tensor=True).eval()
                t_layer, t_nested = timed([lambda: layer(x, src_key_padding_mask=pad),
                                           lambda: enc(x, src_key_padding_mask=pad)], reps)
                row["torch_ms"] = t_layer * 1e3
                row["torch_nested_ms"] = t_nested * 1e3
            else:
                (t_layer,) = timed([lambda: layer(x)], reps)
                row["torch_ms"] = t_layer * 1e3
        emit(row)


# ---------------------------------------------------------------------------------------------
# all-MiniLM-L6-v2 end to end: sentence-transformers (PyTorch) and ONNX Runtime.


def export_onnx(a):
    """Exports the BERT body (input_ids, attention_mask, token_type_ids -> last_hidden_state)
    with eager attention, so ONNX Runtime sees the MatMul/Softmax pattern it fuses."""
    torch = setup_torch(a.threads)
    from transformers import AutoModel
    m = AutoModel.from_pretrained(a.model, attn_implementation="eager").eval()

    class Body(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.m(input_ids=input_ids, attention_mask=attention_mask,
                          token_type_ids=token_type_ids).last_hidden_state

    ids = torch.ones(2, 16, dtype=torch.long)
    names = ["input_ids", "attention_mask", "token_type_ids"]
    os.makedirs(os.path.dirname(os.path.abspath(a.onnx)), exist_ok=True)
    tmp = a.onnx + ".tmp"
    torch.onnx.export(Body(m), (ids, torch.ones_like(ids), torch.zeros_like(ids)), tmp,
                      input_names=names, output_names=["last_hidden_state"],
                      dynamic_axes={n: {0: "batch", 1: "seq"} for n in names + ["last_hidden_state"]},
                      opset_version=17, dynamo=False)
    os.replace(tmp, a.onnx)
    emit({"exported": a.onnx})


def long_inputs(sentences):
    """24 inputs long enough to be truncated at 256 tokens (as bench_embed.rs builds them)."""
    return [" ".join(sentences[(i + j) % len(sentences)] for j in range(20)) for i in range(24)]


class Minilm:
    """The model twice (sentence-transformers, ONNX Runtime) and the tokenizer they share."""

    def __init__(self, a):
        import numpy as np
        import onnxruntime as ort
        self.torch = setup_torch(a.threads)
        from sentence_transformers import SentenceTransformer
        self.np = np
        self.st = SentenceTransformer(a.model, device="cpu")
        self.st.eval()
        self.max_len = self.st.max_seq_length
        self.tok = self.st.tokenizer
        so = ort.SessionOptions()
        so.intra_op_num_threads = a.threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.sess = ort.InferenceSession(a.onnx, so, providers=["CPUExecutionProvider"])

    def chunks(self, texts, bs):
        """Sorted by token count (longest first) and cut into forward passes of `bs`, as qkv's
        embed_encodings does; each pass padded to its longest input."""
        lens = [len(self.tok(t, truncation=True, max_length=self.max_len)["input_ids"])
                for t in texts]
        order = sorted(range(len(texts)), key=lambda i: -lens[i])
        out = []
        for s in range(0, len(order), bs):
            idx = order[s:s + bs]
            feats = self.tok([texts[i] for i in idx], padding=True, truncation=True,
                             max_length=self.max_len, return_tensors="pt")
            out.append((idx, feats))
        return out

    def torch_fwd(self, chunks, n):
        with self.torch.inference_mode():
            res = self.np.zeros((n, 384), dtype=self.np.float32)
            for idx, f in chunks:
                res[idx] = self.st(dict(f))["sentence_embedding"].numpy()
            return res

    def ort_fwd(self, chunks, n):
        np = self.np
        res = np.zeros((n, 384), dtype=np.float32)
        for idx, f in chunks:
            feed = {k: f[k].numpy().astype(np.int64) for k in
                    ["input_ids", "attention_mask", "token_type_ids"]}
            (h,) = self.sess.run(None, feed)
            m = feed["attention_mask"][:, :, None].astype(np.float32)
            e = (h * m).sum(1) / np.maximum(m.sum(1), 1e-9)
            res[idx] = e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)
        return res

    def torch_e2e(self, texts, bs):
        return self.st.encode(texts, batch_size=bs, convert_to_numpy=True,
                              show_progress_bar=False)

    def ort_e2e(self, texts, bs):
        return self.ort_fwd(self.chunks(texts, bs), len(texts))


def load_batch():
    with open(BATCH32) as f:
        b = json.load(f)
    return b["sentences"], b["expected_embeddings"]


def check(mm, sentences, expected):
    """Both peers must reproduce the batch's expected embeddings before timing means anything."""
    np = mm.np
    exp = np.asarray(expected, dtype=np.float32)
    ch = mm.chunks(sentences, len(sentences))
    worst = {"torch": float(np.abs(mm.torch_fwd(ch, len(sentences)) - exp).max()),
             "ort": float(np.abs(mm.ort_fwd(ch, len(sentences)) - exp).max())}
    for k, v in worst.items():
        if not v < 1e-4:
            raise SystemExit(f"{k} embeddings differ from the expected ones (max abs {v:e})")
    return worst


def bench_embed(a):
    mm = Minilm(a)
    sentences, expected = load_batch()
    worst = check(mm, sentences, expected)
    # The long batch takes ~1 s a call per peer and variant: fewer repetitions (the median over
    # rounds does the rest), one warm-up.
    for texts, reps, warmup in [(sentences, max(a.reps, 9), 2),
                                (long_inputs(sentences), max(3, a.reps // 2), 1)]:
        n = len(texts)
        ch = mm.chunks(texts, n)
        tokens = sum(int(f["attention_mask"].sum()) for _, f in ch)
        t = timed([lambda: mm.torch_fwd(ch, n), lambda: mm.ort_fwd(ch, n),
                   lambda: mm.torch_e2e(texts, n), lambda: mm.ort_e2e(texts, n)],
                  reps, warmup)
        emit({"batch": n, "threads": a.threads, "tokens": tokens,
              "torch_sent_per_s": n / t[0], "ort_sent_per_s": n / t[1],
              "torch_sent_per_s_with_tokenization": n / t[2],
              "ort_sent_per_s_with_tokenization": n / t[3],
              "max_abs_vs_expected": worst, "versions": versions()})


def bench_embed_batch(a):
    mm = Minilm(a)
    sentences, expected = load_batch()
    check(mm, sentences, expected)
    n = len(sentences)
    for bs in BATCH_SWEEP:
        ch = mm.chunks(sentences, bs)
        t = timed([lambda: mm.torch_fwd(ch, n), lambda: mm.ort_fwd(ch, n)], max(a.reps, 9))
        emit({"batch_size": bs, "threads": a.threads, "torch_sent_per_s": n / t[0],
              "ort_sent_per_s": n / t[1]})


BENCHES = {"gemm": bench_gemm, "attention": bench_attention, "encoder": bench_encoder,
           "embed": bench_embed, "attention_seq": bench_attention_seq,
           "embed_batch": bench_embed_batch, "export": export_onnx}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("bench", choices=sorted(BENCHES))
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--reps", type=int, default=7)
    p.add_argument("--model", help="all-MiniLM-L6-v2 directory (embed, embed_batch, export)")
    p.add_argument("--onnx", help="the exported model file (embed, embed_batch, export)")
    a = p.parse_args()
    if a.bench in ("embed", "embed_batch", "export") and not (a.model and a.onnx):
        p.error(f"{a.bench} needs --model and --onnx")
    BENCHES[a.bench](a)


if __name__ == "__main__":
    main()
