#!/usr/bin/env python3
"""Golden embeddings for sentence-transformers' per-call options and pooling settings, on the
tiny BERT fixtures of scripts/make_family_fixtures.py (run that first):

    crates/encoder/tests/fixtures/st_options/golden.safetensors
        pool_<mode>_noprompt  f32 [n, 32]  bert_cls_prompts with `pooling_mode: <mode>` and
                                           `include_prompt: false`, default prompt ("query: ")
        prompt_passage        f32 [n, 32]  bert_cls_prompts, prompt_name="passage"
        prompt_text           f32 [n, 32]  bert_cls_prompts, prompt="search: "
        prompt_none           f32 [n, 32]  bert_cls_prompts, prompt=""
        st6_truncate8         f32 [n, 8]   bert_max_st6, truncate_dim=8, normalize_embeddings=True
        st6_lower             f32 [n, 32]  bert_max_st6 with `do_lower_case: true`
    inputs: the `texts` of each fixture's inputs.json.

Usage: /tmp/tvenv/bin/python scripts/make_st_options_golden.py
"""

import json
import os
import shutil
import tempfile

import torch
from safetensors.torch import save_file
from sentence_transformers import SentenceTransformer

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "..", "crates", "encoder", "tests", "fixtures")
FAM = os.path.join(FIX, "families")
MODES = ["cls", "max", "mean", "mean_sqrt_len_tokens", "weightedmean", "lasttoken"]


def texts(case):
    with open(os.path.join(FAM, case, "inputs.json"), encoding="utf-8") as f:
        return json.load(f)["texts"]


def variant(tmp, case, edit):
    """A copy of a fixture with `edit(dir)` applied."""
    out = os.path.join(tmp, case + "-" + str(len(os.listdir(tmp))))
    shutil.copytree(os.path.join(FAM, case), out)
    edit(out)
    return out


def set_json(path, **kv):
    with open(path, encoding="utf-8") as f:
        obj = json.load(f)
    obj.update(kv)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2)


def encode(d, xs, **kw):
    st = SentenceTransformer(d, device="cpu")
    return st.encode(xs, convert_to_tensor=True, batch_size=3, **kw).float()


def main():
    torch.manual_seed(0)
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        xs = texts("bert_cls_prompts")
        for mode in MODES:
            def edit(d, mode=mode):
                cfg = os.path.join(d, "1_Pooling", "config.json")
                with open(cfg, "w", encoding="utf-8") as f:
                    json.dump({"embedding_dimension": 32, "pooling_mode": mode,
                               "include_prompt": False}, f)
            out[f"pool_{mode}_noprompt"] = encode(variant(tmp, "bert_cls_prompts", edit), xs)
        base = os.path.join(FAM, "bert_cls_prompts")
        out["prompt_passage"] = encode(base, xs, prompt_name="passage")
        out["prompt_text"] = encode(base, xs, prompt="search: ")
        out["prompt_none"] = encode(base, xs, prompt="")

        xs = texts("bert_max_st6")
        st6 = os.path.join(FAM, "bert_max_st6")
        out["st6_truncate8"] = encode(st6, xs, truncate_dim=8, normalize_embeddings=True)
        lower = variant(tmp, "bert_max_st6", lambda d: set_json(
            os.path.join(d, "sentence_bert_config.json"), do_lower_case=True))
        out["st6_lower"] = encode(lower, xs)
    dst = os.path.join(FIX, "st_options")
    os.makedirs(dst, exist_ok=True)
    save_file({k: v.contiguous() for k, v in out.items()}, os.path.join(dst, "golden.safetensors"))
    print(dst)


if __name__ == "__main__":
    main()
