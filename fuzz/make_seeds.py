#!/usr/bin/env python3
"""Writes the hand-made seeds of fuzz/regressions/load_model_files/: a complete miniature BERT
(hidden 4, 2 heads, 1 layer, vocab 6) as `[u16 LE n][config.json][model.safetensors]`, and a few
variants, so the fuzzer starts from inputs that reach `BertModel::load` and the forward pass.
Standard library only; deterministic."""
import json
import random
import struct
from pathlib import Path

OUT = Path(__file__).parent / "regressions" / "load_model_files"


def safetensors(tensors, dtype="F32"):
    header, data = {}, b""
    for name, shape in tensors:
        n = 1
        for d in shape:
            n *= d
        rng = random.Random(name)
        vals = [rng.uniform(-1, 1) if "LayerNorm.weight" not in name else 1.0 for _ in range(n)]
        raw = struct.pack(f"<{n}f", *vals)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + data


def bert(h=4, heads=2, inter=8, layers=1, vocab=6, pos=8, types=2, prefix=""):
    cfg = {"hidden_size": h, "num_attention_heads": heads, "intermediate_size": inter,
           "num_hidden_layers": layers, "vocab_size": vocab, "max_position_embeddings": pos,
           "type_vocab_size": types, "hidden_act": "gelu", "model_type": "bert"}
    t = [("embeddings.word_embeddings.weight", [vocab, h]),
         ("embeddings.position_embeddings.weight", [pos, h]),
         ("embeddings.token_type_embeddings.weight", [types, h]),
         ("embeddings.LayerNorm.weight", [h]), ("embeddings.LayerNorm.bias", [h])]
    for i in range(layers):
        p = f"encoder.layer.{i}."
        for n in ["query", "key", "value"]:
            t += [(p + f"attention.self.{n}.weight", [h, h]), (p + f"attention.self.{n}.bias", [h])]
        t += [(p + "attention.output.dense.weight", [h, h]), (p + "attention.output.dense.bias", [h]),
              (p + "attention.output.LayerNorm.weight", [h]), (p + "attention.output.LayerNorm.bias", [h]),
              (p + "intermediate.dense.weight", [inter, h]), (p + "intermediate.dense.bias", [inter]),
              (p + "output.dense.weight", [h, inter]), (p + "output.dense.bias", [h]),
              (p + "output.LayerNorm.weight", [h]), (p + "output.LayerNorm.bias", [h])]
    return cfg, [(prefix + n, s) for n, s in t]


def seed(name, cfg, st):
    c = json.dumps(cfg, separators=(",", ":")).encode()
    (OUT / name).write_bytes(struct.pack("<H", len(c)) + c + st)


OUT.mkdir(parents=True, exist_ok=True)
cfg, t = bert()
seed("seed-mini-bert", cfg, safetensors(t))
cfg, t = bert(prefix="bert.", layers=2, heads=1)
seed("seed-mini-bert-prefixed", cfg, safetensors(t))
cfg, t = bert(h=2, heads=2, inter=2, vocab=1, pos=1, types=1)
seed("seed-one-token-model", cfg, safetensors(t))
cfg, t = bert()
seed("seed-relu-config-only", dict(cfg, hidden_act="relu"), b"")
