#!/usr/bin/env python3
"""The f32 reference embeddings the precision tests compare qkv's bf16 and int8 against.

    /tmp/tvenv/bin/python scripts/make_precision_fixture.py MODEL_DIR

reads crates/encoder/tests/fixtures/precision/sentences_600.json (see make_sentences.py),
embeds it with sentence-transformers (f32, CPU, batches of 32) and writes
crates/encoder/tests/fixtures/precision/sentences_600_st.safetensors: `embeddings`, F32
[600, 384], L2-normalized as the model directory says. Versions used are printed.
"""
import json
import pathlib
import sys

import numpy as np
import sentence_transformers
import torch
from safetensors.numpy import save_file
from sentence_transformers import SentenceTransformer

HERE = pathlib.Path(__file__).resolve().parent.parent / "crates/encoder/tests/fixtures/precision"


def main():
    model_dir = sys.argv[1]
    torch.set_num_threads(2)
    sentences = json.loads((HERE / "sentences_600.json").read_text())
    model = SentenceTransformer(model_dir, device="cpu")
    emb = model.encode(sentences, batch_size=32, convert_to_numpy=True)
    emb = np.ascontiguousarray(emb, dtype=np.float32)
    save_file({"embeddings": emb}, str(HERE / "sentences_600_st.safetensors"),
              metadata={"model": "all-MiniLM-L6-v2",
                        "sentence_transformers": sentence_transformers.__version__,
                        "torch": torch.__version__})
    print(emb.shape, "sentence-transformers", sentence_transformers.__version__,
          "torch", torch.__version__)


if __name__ == "__main__":
    main()
