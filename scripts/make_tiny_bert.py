#!/usr/bin/env python3
"""Build the tiny random BERT fixture in crates/encoder/tests/fixtures/tiny_bert/.

A 2-layer BERT (hidden 32, 4 heads, FFN 64, exact GELU, 64 positions) over a ~100-piece
WordPiece vocabulary, saved in the sentence-transformers layout that all-MiniLM-L6-v2 uses, so
qkv's loaders, tokenizer and forward pass can be tested end to end without the 90 MB model:

    config.json  model.safetensors  tokenizer.json  vocab.txt  modules.json
    1_Pooling/config.json  sentence_bert_config.json  expected.safetensors  expected.json

Built and run with PyTorch and transformers (`BertModel`, `BertConfig`, `BertTokenizerFast`)
in float32, like the MiniLM golden data. Every parameter is drawn from a seeded generator
(LayerNorm gains near 1, non-zero biases) so that a forgotten bias or a swapped weight shows up.

Like MiniLM's, tokenizer.json embeds truncation at 16 and fixed padding to 32, while
sentence_bert_config.json says max_seq_length = 24: a loader must override both (truncate at
24, no padding). One fixture sentence is longer than 24 tokens.

expected.safetensors (batch B = 6 sentences, padded to L = the longest, T = real tokens):
    input_ids, attention_mask, token_type_ids   [B, L] int64 (padding id 0, mask 0)
    offsets                                     [B+1] int64, sentence i = packed rows
                                                offsets[i]..offsets[i+1]
    last_hidden_state                           [B, L, 32] f32 (padded rows: compare valid only)
    last_hidden_state_packed                    [T, 32] f32, valid tokens only
    last_hidden_state_packed_f64ref             [T, 32] the same model run in float64,
                                                rounded to f32 (how far float32 itself is off)
    mean_pooled_unnormalized                    [B, 32] f32, mean over valid tokens
    sentence_embedding                          [B, 32] f32, the above L2-normalized
expected.json: the sentences and versions.

Usage (PyPI only; torch's default wheel pulls CUDA libraries, ~5.6 GB, ~2 min here):
    python3 -m venv /tmp/tvenv
    /tmp/tvenv/bin/pip install torch transformers safetensors
    /tmp/tvenv/bin/python scripts/make_tiny_bert.py [OUT_DIR]
"""

import json
import os
import sys

import torch
import transformers
from safetensors.torch import save_file
from transformers import BertConfig, BertModel, BertTokenizerFast

SEED = 20240611
MAX_SEQ_LENGTH = 24
SENTENCES = [
    "The cat sat on the mat.",
    "A quick brown fox jumps over the lazy dog!",
    "Hello, world",
    "",
    "Café 日本 unknown☃ tokens, this is a TEST.",
    "the red dog and the blue cat ran over the big mat, and the small fox sat in it "
    "while the lazy dog was running to the red mat",
]

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
PUNCT = list(".,!?'-")
WORDS = (
    "the cat dog sat on mat is are was ran run quick brown fox jump over lazy and of to in "
    "it this test token model small big red blue hello world cafe while 日 本"
).split()
SUFFIXES = ["##ed", "##ing", "##ning"]  # "##s" comes with the letters
LETTERS = [chr(c) for c in range(ord("a"), ord("z") + 1)]


def vocabulary():
    vocab = SPECIAL + PUNCT + WORDS + SUFFIXES + LETTERS + ["##" + c for c in LETTERS]
    assert len(vocab) == len(set(vocab)), "duplicate vocabulary entries"
    return vocab


def randomize(model, gen):
    """Seeded values for every parameter: weights ~ N(0, 0.3²), LayerNorm gains ~ 1 + N(0, 0.1²),
    biases and LayerNorm shifts ~ N(0, 0.1²)."""
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            noise = torch.randn(p.shape, generator=gen, dtype=torch.float32)
            if "LayerNorm.weight" in name:
                p.copy_(1.0 + 0.1 * noise)
            elif name.endswith("bias"):
                p.copy_(0.1 * noise)
            else:
                p.copy_(0.3 * noise)


def write_json(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, ensure_ascii=False)
        f.write("\n")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default_out = os.path.join(here, "..", "crates", "encoder", "tests", "fixtures", "tiny_bert")
    out = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else default_out)
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED)

    # Tokenizer: BERT uncased WordPiece over our vocabulary.
    vocab = vocabulary()
    # transformers 5 takes the vocabulary as `vocab` (older versions: `vocab_file`, a path)
    # and silently ignores unknown keywords: check it took.
    tok = BertTokenizerFast(vocab={t: i for i, t in enumerate(vocab)}, do_lower_case=True)
    assert tok.backend_tokenizer.get_vocab_size() == len(vocab), "vocabulary not loaded"
    with open(os.path.join(out, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(vocab) + "\n")
    batch = tok(
        SENTENCES,
        padding="longest",
        truncation=True,
        max_length=MAX_SEQ_LENGTH,
        return_tensors="pt",
    )
    # Save tokenizer.json with the same misleading embedded settings as MiniLM's.
    backend = tok.backend_tokenizer
    backend.enable_truncation(max_length=16)
    backend.enable_padding(length=32, pad_id=0, pad_token="[PAD]")
    backend.save(os.path.join(out, "tokenizer.json"))

    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        hidden_act="gelu",
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        max_position_embeddings=64,
        type_vocab_size=2,
        layer_norm_eps=1e-12,
        pad_token_id=0,
    )
    model = BertModel(config, add_pooling_layer=True)
    randomize(model, gen)
    model.eval()
    model.save_pretrained(out, safe_serialization=True)

    write_json(
        os.path.join(out, "modules.json"),
        [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ],
    )
    write_json(
        os.path.join(out, "1_Pooling", "config.json"),
        {
            "word_embedding_dimension": 32,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
        },
    )
    write_json(
        os.path.join(out, "sentence_bert_config.json"),
        {"max_seq_length": MAX_SEQ_LENGTH, "do_lower_case": False},
    )

    ids, mask, types = batch["input_ids"], batch["attention_mask"], batch["token_type_ids"]
    with torch.no_grad():
        hidden = model(input_ids=ids, attention_mask=mask, token_type_ids=types).last_hidden_state
        hidden64 = (
            model.double()(input_ids=ids, attention_mask=mask, token_type_ids=types)
            .last_hidden_state
        )
    # sentence-transformers' mean pooling and Normalize module, in float32.
    m = mask.unsqueeze(-1).to(hidden.dtype)
    mean = (hidden * m).sum(1) / torch.clamp(m.sum(1), min=1e-9)
    emb = torch.nn.functional.normalize(mean, p=2, dim=1)

    valid = mask.bool()
    lengths = mask.sum(1)
    offsets = torch.cat([torch.zeros(1, dtype=torch.int64), torch.cumsum(lengths, 0)])
    tensors = {
        "input_ids": ids.to(torch.int64),
        "attention_mask": mask.to(torch.int64),
        "token_type_ids": types.to(torch.int64),
        "offsets": offsets,
        "last_hidden_state": hidden.float(),
        "last_hidden_state_packed": hidden[valid].float(),
        "last_hidden_state_packed_f64ref": hidden64[valid].float(),
        "mean_pooled_unnormalized": mean.float(),
        "sentence_embedding": emb.float(),
    }
    tensors = {k: v.contiguous() for k, v in tensors.items()}
    save_file(tensors, os.path.join(out, "expected.safetensors"), metadata={"format": "pt"})
    write_json(
        os.path.join(out, "expected.json"),
        {
            "sentences": SENTENCES,
            "max_seq_length": MAX_SEQ_LENGTH,
            "token_counts": lengths.tolist(),
            "seed": SEED,
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "max_abs_f32_vs_f64": float((hidden[valid].double() - hidden64[valid]).abs().max()),
        },
    )
    print(out)


if __name__ == "__main__":
    main()
