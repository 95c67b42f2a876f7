#!/usr/bin/env python3
"""Build the model-family golden fixtures in crates/encoder/tests/fixtures/families/.

One subfolder per model, in the format the family golden test reads (and that a hidden set in the
same format is run against):

    <case>/config.json  model.safetensors  tokenizer.json  tokenizer_config.json
           [modules.json  1_Pooling/config.json  sentence_bert_config.json
            config_sentence_transformers.json]                 (sentence-transformers models)
    <case>/inputs.json        {"texts": [...]}  or  {"pairs": [[query, doc], ...]}
    <case>/golden.safetensors input_ids          i64 [total_tokens]  (inputs' tokens concatenated)
                              last_hidden_state  f32 [total_tokens, hidden]
                              sentence_embedding f32 [n, dim]        (sentence-transformers models)
                              logits             f32 [n, labels]     (classification models)

Every model is tiny (hidden 32, 4 heads, 2-3 layers) with seeded random weights, so that a
forgotten bias or a swapped weight shows up; every tokenizer is built here from a small corpus
(WordPiece, byte-level BPE, Unigram). The golden outputs are computed the way users get them:
the saved directory is loaded back with `SentenceTransformer(dir).encode(...)` (embeddings) or
`AutoModelForSequenceClassification` + `AutoTokenizer` (logits), and the hidden states with
`AutoModel` on the same token ids, all in float32 on the CPU.

Usage (PyPI only; torch's default wheel pulls CUDA libraries, ~5.6 GB):
    python3 -m venv /tmp/tvenv
    /tmp/tvenv/bin/pip install torch transformers safetensors sentence-transformers
    /tmp/tvenv/bin/python scripts/make_family_fixtures.py [OUT_DIR]
"""

import json
import os
import shutil
import sys

import torch
import transformers
from safetensors.torch import save_file
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import (
    AutoModel,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    BertConfig,
    BertForSequenceClassification,
    BertModel,
    CamembertConfig,
    CamembertModel,
    DistilBertConfig,
    DistilBertModel,
    ModernBertConfig,
    ModernBertForSequenceClassification,
    ModernBertModel,
    MPNetConfig,
    MPNetModel,
    PreTrainedTokenizerFast,
    RobertaConfig,
    RobertaModel,
    XLMRobertaConfig,
    XLMRobertaForSequenceClassification,
    XLMRobertaModel,
)

SEED = 20261129
HIDDEN, HEADS, FFN = 32, 4, 64

CORPUS = [
    "The cat sat on the mat.",
    "A quick brown fox jumps over the lazy dog!",
    "Hello, world. How are you today?",
    "Café, naïve, résumé: accents and 日本語 text.",
    "Numbers like 3.14159, 42 and 1,000,000 appear in text.",
    "def f(x): return x ** 2  # code in a sentence",
    "Le chat est assis sur le tapis. Der Hund läuft im Park.",
    "Search engines rank documents for a query by relevance.",
    "the red dog and the blue cat ran over the big mat while the small fox sat",
    "Transformers encode sentences into vectors; cosine similarity compares them.",
]

# Sentences: short and long, empty, punctuation, numbers, code, several languages; the last
# ones are long enough to pass ModernBERT's local window and to reach the position limit.
LONG = " ".join(CORPUS)
TEXTS = [
    "The cat sat on the mat.",
    "",
    "Hello, world!",
    "Café 日本 ☃ résumé, 3.14 and 42.",
    "def f(x): return x ** 2",
    "Le chat est assis sur le tapis.",
    "the red dog and the blue cat ran over the big mat while the small fox sat in the sun",
    LONG,
]
PAIRS = [
    ["What does the cat do?", "The cat sat on the mat."],
    ["fox", "A quick brown fox jumps over the lazy dog!"],
    ["", "An empty query."],
    ["Which language is this?", "Le chat est assis sur le tapis. Der Hund läuft im Park."],
    ["ranking documents", LONG],
]

WORDPIECE_SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
ROBERTA_SPECIAL = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]


def write_json(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, ensure_ascii=False)
        f.write("\n")


def randomize(model, gen):
    """Seeded values for every parameter: weights ~ N(0, 0.3²), norm gains ~ 1 + N(0, 0.1²),
    biases and norm shifts ~ N(0, 0.1²)."""
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            noise = torch.randn(p.shape, generator=gen, dtype=torch.float32)
            is_norm = "LayerNorm" in name or "norm" in name.split(".")[-2].lower()
            if is_norm and name.endswith("weight"):
                p.copy_(1.0 + 0.1 * noise)
            elif name.endswith("bias"):
                p.copy_(0.1 * noise)
            else:
                p.copy_(0.3 * noise)


# ---------------------------------------------------------------- tokenizers


def wordpiece(special, cls, sep, lowercase=True):
    tok = Tokenizer(models.WordPiece(unk_token=special[1] if special[0] == "[PAD]" else "<unk>"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=lowercase, strip_accents=lowercase)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    trainer = trainers.WordPieceTrainer(vocab_size=200, special_tokens=special)
    tok.train_from_iterator(CORPUS, trainer)
    return tok


def byte_bpe(special):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=special, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator(CORPUS, trainer)
    return tok


def unigram(special, unk):
    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    trainer = trainers.UnigramTrainer(vocab_size=150, special_tokens=special, unk_token=unk)
    tok.train_from_iterator(CORPUS, trainer)
    return tok


def template(tok, cls, sep, double_sep):
    cid, sid = tok.token_to_id(cls), tok.token_to_id(sep)
    pair = f"{cls} $A {sep} {sep} $B:1 {sep}:1" if double_sep else f"{cls} $A {sep} $B:1 {sep}:1"
    tok.post_processor = processors.TemplateProcessing(
        single=f"{cls} $A {sep}", pair=pair, special_tokens=[(cls, cid), (sep, sid)]
    )


def save_tokenizer(tok, out, max_len, specials):
    """tokenizer.json as-is (PreTrainedTokenizerFast loads it unchanged) and its config."""
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, model_max_length=max_len, **specials)
    fast.save_pretrained(out)
    return fast


# ---------------------------------------------------------------- golden outputs


def hidden_states(out, ids_list, type_ids_list=None):
    """last_hidden_state of each input run alone (no padding), concatenated."""
    model = AutoModel.from_pretrained(out, dtype=torch.float32).eval()
    rows = []
    with torch.no_grad():
        for i, ids in enumerate(ids_list):
            kw = {"input_ids": torch.tensor([ids])}
            if type_ids_list is not None and "token_type_ids" in model.forward.__code__.co_varnames:
                kw["token_type_ids"] = torch.tensor([type_ids_list[i]])
            rows.append(model(**kw).last_hidden_state[0])
    return torch.cat(rows, 0)


def st_case(out, texts, **encode_kw):
    """Sentence-transformers model: embeddings from SentenceTransformer.encode, hidden states and
    token ids of exactly what it fed the transformer (prompt included)."""
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(out, device="cpu")
    emb = st.encode(texts, convert_to_tensor=True, batch_size=3, **encode_kw).float()
    prompt = encode_kw.get("prompt")
    if prompt is None:
        name = encode_kw.get("prompt_name", st.default_prompt_name)
        prompt = st.prompts.get(name, "") if name else ""
    feats = st.tokenize([prompt + t for t in texts])
    ids_list, types_list = [], []
    for i in range(len(texts)):
        m = feats["attention_mask"][i].bool()
        ids_list.append(feats["input_ids"][i][m].tolist())
        if "token_type_ids" in feats:
            types_list.append(feats["token_type_ids"][i][m].tolist())
    hidden = hidden_states(out, ids_list, types_list or None)
    flat = torch.tensor([t for ids in ids_list for t in ids], dtype=torch.int64)
    save_golden(out, flat, hidden, sentence_embedding=emb)
    write_json(os.path.join(out, "inputs.json"), {"texts": texts})


def cls_case(out, pairs):
    tok = AutoTokenizer.from_pretrained(out)
    model = AutoModelForSequenceClassification.from_pretrained(out, dtype=torch.float32).eval()
    ids_list, types_list, logits = [], [], []
    with torch.no_grad():
        for q, d in pairs:
            enc = tok(q, d, truncation=True, return_tensors="pt")
            logits.append(model(**enc).logits[0])
            ids_list.append(enc["input_ids"][0].tolist())
            if "token_type_ids" in enc:
                types_list.append(enc["token_type_ids"][0].tolist())
    hidden = hidden_states(out, ids_list, types_list or None)
    flat = torch.tensor([t for ids in ids_list for t in ids], dtype=torch.int64)
    save_golden(out, flat, hidden, logits=torch.stack(logits))
    write_json(os.path.join(out, "inputs.json"), {"pairs": pairs})


def save_golden(out, ids, hidden, **extra):
    tensors = {"input_ids": ids, "last_hidden_state": hidden.float()}
    tensors.update({k: v.float() for k, v in extra.items()})
    tensors = {k: v.detach().contiguous() for k, v in tensors.items()}
    save_file(tensors, os.path.join(out, "golden.safetensors"), metadata={"format": "pt"})


def save_model(model, out, gen):
    randomize(model, gen)
    model.eval()
    model.save_pretrained(out, safe_serialization=True)


def classic_st_files(out, pooling, max_seq_length, normalize, prompts=None, default_prompt=None):
    """The layout most published sentence-transformers models use."""
    mods = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
    ]
    if normalize:
        mods.append({"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"})
    write_json(os.path.join(out, "modules.json"), mods)
    flags = {m: False for m in ["cls_token", "mean_tokens", "max_tokens", "mean_sqrt_len_tokens",
                                "weightedmean_tokens", "lasttoken"]}
    flags[pooling] = True
    write_json(
        os.path.join(out, "1_Pooling", "config.json"),
        {"word_embedding_dimension": HIDDEN, **{"pooling_mode_" + k: v for k, v in flags.items()},
         "include_prompt": True},
    )
    write_json(os.path.join(out, "sentence_bert_config.json"),
               {"max_seq_length": max_seq_length, "do_lower_case": False})
    if prompts is not None:
        write_json(
            os.path.join(out, "config_sentence_transformers.json"),
            {"__version__": {"sentence_transformers": "2.7.0"}, "prompts": prompts,
             "default_prompt_name": default_prompt, "similarity_fn_name": "cosine"},
        )


def st6_save(out, pooling, max_seq_length, normalize, prompts=None, default_prompt=None):
    """The layout sentence-transformers 6 writes (`SentenceTransformer.save`)."""
    from sentence_transformers import SentenceTransformer, models as st_models

    tmp = out + ".st6"
    shutil.move(out, tmp)
    word = st_models.Transformer(tmp, max_seq_length=max_seq_length)
    mods = [word, st_models.Pooling(word.get_word_embedding_dimension(), pooling_mode=pooling)]
    if normalize:
        mods.append(st_models.Normalize())
    st = SentenceTransformer(modules=mods, device="cpu", prompts=prompts or {},
                             default_prompt_name=default_prompt)
    st.save(out)
    shutil.rmtree(tmp)


# ---------------------------------------------------------------- the cases


def bert_like(out, gen, cls_model, tok, max_pos, extra=None, **cfg):
    c = dict(vocab_size=tok.get_vocab_size(), hidden_size=HIDDEN, num_hidden_layers=2,
             num_attention_heads=HEADS, intermediate_size=FFN, hidden_dropout_prob=0.0,
             attention_probs_dropout_prob=0.0, max_position_embeddings=max_pos)
    c.update(cfg)
    config_cls, model_cls = cls_model
    config = config_cls(**c, **(extra or {}))
    save_model(model_cls(config), out, gen)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default_out = os.path.join(here, "..", "crates", "encoder", "tests", "fixtures", "families")
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else default_out)
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root)
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED)
    bert_specials = dict(pad_token="[PAD]", unk_token="[UNK]", cls_token="[CLS]", sep_token="[SEP]",
                         mask_token="[MASK]")
    rob_specials = dict(bos_token="<s>", eos_token="</s>", pad_token="<pad>", unk_token="<unk>",
                        cls_token="<s>", sep_token="</s>", mask_token="<mask>")

    # BERT, classic layout, CLS pooling, prompts with a default (BGE/E5-style), no Normalize.
    out = os.path.join(root, "bert_cls_prompts")
    tok = wordpiece(WORDPIECE_SPECIAL, "[CLS]", "[SEP]")
    template(tok, "[CLS]", "[SEP]", double_sep=False)
    save_tokenizer(tok, out, 512, bert_specials)
    bert_like(out, gen, (BertConfig, BertModel), tok, 48, type_vocab_size=2, pad_token_id=0)
    classic_st_files(out, "cls_token", 40, normalize=False,
                     prompts={"query": "query: ", "passage": "passage: "}, default_prompt="query")
    st_case(out, TEXTS)

    # BERT saved by sentence-transformers 6 (new layout), max pooling, normalized.
    out = os.path.join(root, "bert_max_st6")
    tok = wordpiece(WORDPIECE_SPECIAL, "[CLS]", "[SEP]", lowercase=False)
    template(tok, "[CLS]", "[SEP]", double_sep=False)
    save_tokenizer(tok, out, 512, bert_specials)
    bert_like(out, gen, (BertConfig, BertModel), tok, 64, type_vocab_size=2, pad_token_id=0,
              hidden_act="gelu_new")
    st6_save(out, "max", 40, normalize=True)
    st_case(out, TEXTS)

    # BERT, last-token pooling (classic layout).
    out = os.path.join(root, "bert_lasttoken")
    tok = wordpiece(WORDPIECE_SPECIAL, "[CLS]", "[SEP]")
    template(tok, "[CLS]", "[SEP]", double_sep=False)
    save_tokenizer(tok, out, 512, bert_specials)
    bert_like(out, gen, (BertConfig, BertModel), tok, 64, type_vocab_size=2, pad_token_id=0)
    classic_st_files(out, "lasttoken", 48, normalize=True)
    st_case(out, TEXTS)

    # RoBERTa (byte-level BPE), mean pooling; positions offset from pad_token_id; the long input
    # reaches the position limit (max_position_embeddings - pad - 1).
    out = os.path.join(root, "roberta_mean")
    tok = byte_bpe(ROBERTA_SPECIAL)
    template(tok, "<s>", "</s>", double_sep=True)
    save_tokenizer(tok, out, 40, rob_specials)
    bert_like(out, gen, (RobertaConfig, RobertaModel), tok, 42, type_vocab_size=1, pad_token_id=1,
              bos_token_id=0, eos_token_id=2)
    classic_st_files(out, "mean_tokens", 40, normalize=True)
    st_case(out, TEXTS)

    # XLM-RoBERTa (Unigram), mean pooling, ST 6 layout.
    out = os.path.join(root, "xlm_roberta_mean")
    tok = unigram(ROBERTA_SPECIAL, "<unk>")
    template(tok, "<s>", "</s>", double_sep=True)
    save_tokenizer(tok, out, 40, rob_specials)
    bert_like(out, gen, (XLMRobertaConfig, XLMRobertaModel), tok, 42, type_vocab_size=1,
              pad_token_id=1, bos_token_id=0, eos_token_id=2)
    st6_save(out, "mean", 40, normalize=True)
    st_case(out, TEXTS)

    # CamemBERT (RoBERTa architecture, its own model_type).
    out = os.path.join(root, "camembert_mean")
    tok = unigram(ROBERTA_SPECIAL, "<unk>")
    template(tok, "<s>", "</s>", double_sep=True)
    save_tokenizer(tok, out, 40, rob_specials)
    bert_like(out, gen, (CamembertConfig, CamembertModel), tok, 42, type_vocab_size=1,
              pad_token_id=1, bos_token_id=0, eos_token_id=2)
    classic_st_files(out, "mean_tokens", 40, normalize=False)
    st_case(out, TEXTS)

    # DistilBERT: its weight names, no token types, sinusoidal=False.
    out = os.path.join(root, "distilbert_mean")
    tok = wordpiece(WORDPIECE_SPECIAL, "[CLS]", "[SEP]")
    template(tok, "[CLS]", "[SEP]", double_sep=False)
    save_tokenizer(tok, out, 512, bert_specials)
    config = DistilBertConfig(vocab_size=tok.get_vocab_size(), dim=HIDDEN, n_layers=2, n_heads=HEADS,
                              hidden_dim=FFN, dropout=0.0, attention_dropout=0.0,
                              max_position_embeddings=48, pad_token_id=0, activation="gelu")
    save_model(DistilBertModel(config), out, gen)
    classic_st_files(out, "mean_tokens", 48, normalize=True)
    st_case(out, TEXTS)

    # MPNet: relative position buckets, <s>/</s> specials, WordPiece.
    out = os.path.join(root, "mpnet_mean")
    mp_special = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    tok = Tokenizer(models.WordPiece(unk_token="<unk>"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    tok.train_from_iterator(CORPUS, trainers.WordPieceTrainer(vocab_size=200, special_tokens=mp_special))
    template(tok, "<s>", "</s>", double_sep=True)
    save_tokenizer(tok, out, 40, rob_specials)
    config = MPNetConfig(vocab_size=tok.get_vocab_size(), hidden_size=HIDDEN, num_hidden_layers=2,
                         num_attention_heads=HEADS, intermediate_size=FFN, hidden_dropout_prob=0.0,
                         attention_probs_dropout_prob=0.0, max_position_embeddings=42,
                         relative_attention_num_buckets=32, pad_token_id=1, bos_token_id=0,
                         eos_token_id=2)
    save_model(MPNetModel(config), out, gen)
    classic_st_files(out, "mean_tokens", 40, normalize=True)
    st_case(out, TEXTS)

    # ModernBERT: rotary (global and local theta), alternating global / sliding-window attention
    # (window 8 < the long inputs), GeGLU, LayerNorm without bias, no linear biases.
    out = os.path.join(root, "modernbert_mean")
    mb_special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok = byte_bpe(mb_special)
    template(tok, "[CLS]", "[SEP]", double_sep=False)
    save_tokenizer(tok, out, 64, bert_specials)
    mb_cfg = dict(vocab_size=tok.get_vocab_size(), hidden_size=HIDDEN, intermediate_size=FFN,
                  num_hidden_layers=3, num_attention_heads=HEADS, max_position_embeddings=64,
                  local_attention=8, pad_token_id=0, cls_token_id=2, sep_token_id=3, bos_token_id=2,
                  eos_token_id=3, global_attn_every_n_layers=2, global_rope_theta=160000.0,
                  local_rope_theta=10000.0, norm_eps=1e-5)
    save_model(ModernBertModel(ModernBertConfig(**mb_cfg)), out, gen)
    classic_st_files(out, "mean_tokens", 64, normalize=True)
    st_case(out, TEXTS)

    # Cross-encoders: sequence classification heads.
    out = os.path.join(root, "bert_reranker")
    tok = wordpiece(WORDPIECE_SPECIAL, "[CLS]", "[SEP]")
    template(tok, "[CLS]", "[SEP]", double_sep=False)
    save_tokenizer(tok, out, 48, bert_specials)
    bert_like(out, gen, (BertConfig, BertForSequenceClassification), tok, 48, type_vocab_size=2,
              pad_token_id=0, extra={"num_labels": 1})
    cls_case(out, PAIRS)

    out = os.path.join(root, "xlm_roberta_classifier3")
    tok = unigram(ROBERTA_SPECIAL, "<unk>")
    template(tok, "<s>", "</s>", double_sep=True)
    save_tokenizer(tok, out, 40, rob_specials)
    bert_like(out, gen, (XLMRobertaConfig, XLMRobertaForSequenceClassification), tok, 42,
              type_vocab_size=1, pad_token_id=1, bos_token_id=0, eos_token_id=2,
              extra={"num_labels": 3})
    cls_case(out, PAIRS)

    out = os.path.join(root, "modernbert_reranker")
    tok = byte_bpe(mb_special)
    template(tok, "[CLS]", "[SEP]", double_sep=False)
    save_tokenizer(tok, out, 64, bert_specials)
    mb = ModernBertConfig(**{**mb_cfg, "vocab_size": tok.get_vocab_size()}, num_labels=1,
                          classifier_pooling="mean")
    save_model(ModernBertForSequenceClassification(mb), out, gen)
    cls_case(out, PAIRS)

    write_json(os.path.join(root, "VERSIONS.json"),
               {"torch": torch.__version__, "transformers": transformers.__version__,
                "sentence_transformers": __import__("sentence_transformers").__version__,
                "seed": SEED})
    print(root)


if __name__ == "__main__":
    main()
