#!/usr/bin/env python3
"""qkv beside Hugging Face transformers on base-sized models of the new families.

- all-mpnet-base-v2 (`scripts/fetch_model.sh mpnet`): 12 layers, 768 wide, relative position
  bias. transformers has no SDPA path for MPNet (`MPNetModel._supports_sdpa` is False), so the
  peer runs its eager attention, as sentence-transformers does.
- A ModernBERT-base-shaped model (`families.py make-modernbert --out DIR`): the configuration of
  answerdotai/ModernBERT-base (22 layers, 768 wide, GeGLU 1152, global attention every third
  layer, 128-token local windows, rotary θ 160 000 / 10 000) with random weights, all-mpnet-base-v2's
  tokenizer (no ModernBERT tokenizer can be fetched here; the vocabulary only sizes the embedding
  table), mean pooling. The peer runs `attn_implementation="sdpa"`.

    python families.py make-modernbert --out DIR --tokenizer-from MPNET_DIR
    python families.py run --model DIR --threads 1,2 --rounds 3    # qkv and the peer, interleaved

`run` first embeds the 32-sentence batch with transformers and writes those embeddings for
`qkv bench embed --expected`, so qkv is checked against the peer before anything is timed; then
per round and thread count it runs `qkv bench embed --model DIR --expected F --json` and this
file's `peer` command one after the other (order alternating), and prints the medians and ratios.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
import peers  # noqa: E402
from run_peers import env_for, loadavg, run_json  # noqa: E402


def st_files(out, max_len):
    """The classic sentence-transformers files: Transformer -> mean Pooling -> Normalize."""
    modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
               {"idx": 1, "name": "1", "path": "1_Pooling",
                "type": "sentence_transformers.models.Pooling"},
               {"idx": 2, "name": "2", "path": "2_Normalize",
                "type": "sentence_transformers.models.Normalize"}]
    os.makedirs(os.path.join(out, "1_Pooling"), exist_ok=True)
    os.makedirs(os.path.join(out, "2_Normalize"), exist_ok=True)
    json.dump(modules, open(os.path.join(out, "modules.json"), "w"), indent=1)
    json.dump({"word_embedding_dimension": 768, "pooling_mode_mean_tokens": True},
              open(os.path.join(out, "1_Pooling", "config.json"), "w"), indent=1)
    json.dump({"max_seq_length": max_len, "do_lower_case": False},
              open(os.path.join(out, "sentence_bert_config.json"), "w"), indent=1)


def make_modernbert(a):
    import torch
    from transformers import AutoTokenizer, ModernBertConfig, ModernBertModel
    tok = AutoTokenizer.from_pretrained(a.tokenizer_from)
    cfg = ModernBertConfig(
        vocab_size=len(tok), hidden_size=768, intermediate_size=1152, num_hidden_layers=22,
        num_attention_heads=12, max_position_embeddings=8192, global_attn_every_n_layers=3,
        local_attention=128, global_rope_theta=160000.0, local_rope_theta=10000.0,
        norm_eps=1e-5, pad_token_id=tok.pad_token_id, cls_token_id=tok.cls_token_id,
        sep_token_id=tok.sep_token_id, bos_token_id=tok.cls_token_id,
        eos_token_id=tok.sep_token_id)
    torch.manual_seed(0)
    model = ModernBertModel(cfg).eval()
    tmp = a.out + ".partial"
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp, safe_serialization=True)
    tok.model_max_length = 512
    tok.save_pretrained(tmp)
    st_files(tmp, 512)
    shutil.rmtree(a.out, ignore_errors=True)
    os.replace(tmp, a.out)
    peers.emit({"made": a.out, "parameters": sum(p.numel() for p in model.parameters())})


class Peer:
    def __init__(self, model, threads):
        import numpy as np
        self.torch = peers.setup_torch(threads)
        from transformers import AutoConfig, AutoModel, AutoTokenizer
        self.np = np
        cfg = AutoConfig.from_pretrained(model)
        impl = "sdpa" if cfg.model_type == "modernbert" else "eager"
        self.impl = impl
        self.m = AutoModel.from_pretrained(model, attn_implementation=impl).eval()
        self.tok = AutoTokenizer.from_pretrained(model)
        st = json.load(open(os.path.join(model, "sentence_bert_config.json")))
        self.max_len = st["max_seq_length"]

    def feats(self, texts):
        return self.tok(texts, padding=True, truncation=True, max_length=self.max_len,
                        return_tensors="pt")

    def fwd(self, f):
        with self.torch.inference_mode():
            h = self.m(input_ids=f["input_ids"], attention_mask=f["attention_mask"]).last_hidden_state
            m = f["attention_mask"][:, :, None].to(h.dtype)
            e = (h * m).sum(1) / m.sum(1).clamp(min=1e-9)
            return self.torch.nn.functional.normalize(e, dim=1).numpy()

    def e2e(self, texts):
        lens = [len(self.tok(t, truncation=True, max_length=self.max_len)["input_ids"])
                for t in texts]
        order = sorted(range(len(texts)), key=lambda i: -lens[i])
        out = self.np.zeros((len(texts), self.m.config.hidden_size), dtype=self.np.float32)
        out[order] = self.fwd(self.feats([texts[i] for i in order]))
        return out


def long_inputs(sentences):
    return [" ".join(sentences[(i + j) % len(sentences)] for j in range(20)) for i in range(24)]


def peer(a):
    p = Peer(a.model, a.threads)
    sentences, _ = peers.load_batch()
    if a.write_expected:
        with open(a.write_expected, "w") as f:
            json.dump({"expected_embeddings": p.e2e(sentences).tolist()}, f)
    for texts in [sentences] + ([] if a.no_long else [long_inputs(sentences)]):
        f = p.feats(texts)
        t = peers.timed([lambda: p.fwd(f), lambda: p.e2e(texts)], max(a.reps, 5), 1)
        peers.emit({"batch": len(texts), "threads": a.threads, "attn": p.impl,
                    "tokens": int(f["attention_mask"].sum()),
                    "torch_sent_per_s": len(texts) / t[0],
                    "torch_sent_per_s_with_tokenization": len(texts) / t[1],
                    "versions": peers.versions()})


def run(a):
    py, qkv = sys.executable, a.qkv
    expected = os.path.join(tempfile.gettempdir(), "qkv_bench_expected_%d.json" % os.getpid())
    base = [py, os.path.abspath(__file__), "peer", "--model", a.model, "--reps", str(a.reps)]
    run_json(base + ["--threads", "2", "--write-expected", expected], 2, 3600)
    rows = []
    threads = [int(t) for t in a.threads.split(",")]
    for rnd in range(a.rounds):
        for n in threads:
            long = ["--no-long"] if a.no_long else []
            cmds = [("qkv", [qkv, "bench", "embed", "--model", a.model, "--expected", expected,
                             "--threads", str(n), "--json"] + long),
                    ("torch", base + ["--threads", str(n)] + long)]
            for who, cmd in (cmds if rnd % 2 == 0 else cmds[::-1]):
                out, _ = run_json(cmd, n, 3600)
                for r in out:
                    rows.append({"who": who, "threads": n, "batch": r["batch"],
                                 "tokens": r.get("tokens"),
                                 "sent_per_s": r.get("sent_per_s", r.get("torch_sent_per_s")),
                                 "with_tok": r.get("sent_per_s_with_tokenization",
                                                   r.get("torch_sent_per_s_with_tokenization"))})
            print(f"round {rnd} threads {n} done, load {loadavg()}", file=sys.stderr, flush=True)
    for n in threads:
        for b in sorted({r["batch"] for r in rows}, reverse=True):
            med = {}
            for who in ["qkv", "torch"]:
                sel = [r for r in rows if r["who"] == who and r["threads"] == n and r["batch"] == b]
                med[who] = (statistics.median(r["sent_per_s"] for r in sel),
                            statistics.median(r["with_tok"] for r in sel))
            peers.emit({"model": os.path.basename(os.path.normpath(a.model)), "threads": n,
                        "batch": b, "qkv_sent_per_s": med["qkv"][0],
                        "torch_sent_per_s": med["torch"][0],
                        "ratio": med["qkv"][0] / med["torch"][0],
                        "ratio_with_tokenization": med["qkv"][1] / med["torch"][1],
                        "rounds": a.rounds, "load": loadavg()})


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("what", choices=["make-modernbert", "peer", "run"])
    p.add_argument("--model")
    p.add_argument("--out")
    p.add_argument("--tokenizer-from")
    p.add_argument("--threads", default="1")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--write-expected")
    p.add_argument("--no-long", action="store_true",
                   help="only the 32-sentence batch (the long-input batch takes minutes per call "
                        "on base-sized models)")
    p.add_argument("--qkv", default=os.path.join(ROOT, "target", "release", "qkv"))
    a = p.parse_args()
    if a.what == "make-modernbert":
        if not (a.out and a.tokenizer_from):
            p.error("make-modernbert needs --out and --tokenizer-from")
        return make_modernbert(a)
    if not a.model:
        p.error(f"{a.what} needs --model")
    if a.what == "peer":
        a.threads = int(a.threads)
        return peer(a)
    run(a)


if __name__ == "__main__":
    main()
