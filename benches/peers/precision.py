#!/usr/bin/env python3
"""The int8 peers of the precision table: ONNX Runtime and OpenVINO on all-MiniLM-L6-v2.

Five engines, each with mean pooling and L2 normalization done in NumPy as sentence-transformers
does them:
- `ort_f32`: ONNX Runtime on the f32 export (`peers.py export`);
- `ort_int8_pc` / `ort_int8_pt`: `onnxruntime.quantization.quantize_dynamic(..., weight_type=QInt8)`
  of that export, per output channel / per tensor (activations: one scale per tensor at run time);
- `ov_f32`: OpenVINO on the same export, inference precision pinned to f32;
- `ov_int8`: NNCF's post-training `nncf.quantize(..., model_type=TRANSFORMER)` of it, calibrated on
  24 sentences, run at OpenVINO's default settings (its fastest).

    python precision.py prepare  --model DIR [--cache DIR]      # export and quantize, once
    python precision.py speed    --model DIR --threads N         # one JSON line per engine
    python precision.py accuracy --model DIR --sentences F --out F.npz   # embeddings of F

One process per thread count (run_precision.py drives it). Nothing here installs anything: it
needs torch, transformers, onnx, onnxruntime, openvino and nncf.
"""

import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import peers  # noqa: E402  (shared helpers: the batch, the export, timing, JSON lines)

ENGINES = ["ort_f32", "ort_int8_pc", "ort_int8_pt", "ov_f32", "ov_int8"]
NAMES = ["input_ids", "attention_mask", "token_type_ids"]
CALIBRATION = 24


def paths(cache):
    return {"onnx": os.path.join(cache, "all-MiniLM-L6-v2.onnx"),
            "ort_int8_pc": os.path.join(cache, "all-MiniLM-L6-v2.int8_pc.onnx"),
            "ort_int8_pt": os.path.join(cache, "all-MiniLM-L6-v2.int8_pt.onnx"),
            "ov_int8": os.path.join(cache, "all-MiniLM-L6-v2.nncf_int8.xml")}


def tokenizer(model):
    from transformers import AutoTokenizer
    return AutoTokenizer.from_pretrained(model)


def feed(tok, texts, max_len=256):
    import numpy as np
    f = tok(texts, padding=True, truncation=True, max_length=max_len, return_tensors="np")
    return {k: np.asarray(f[k], dtype=np.int64) for k in NAMES}


def prepare(a):
    """The f32 export (shared with peers.py), the two ONNX Runtime int8 files and NNCF's model."""
    p = paths(a.cache)
    if not os.path.exists(p["onnx"]):
        peers.export_onnx(argparse.Namespace(model=a.model, onnx=p["onnx"], threads=a.threads))
    from onnxruntime.quantization import QuantType, quantize_dynamic
    for key, per_channel in [("ort_int8_pc", True), ("ort_int8_pt", False)]:
        if not os.path.exists(p[key]):
            tmp = p[key] + ".tmp.onnx"
            quantize_dynamic(p["onnx"], tmp, weight_type=QuantType.QInt8, per_channel=per_channel)
            os.replace(tmp, p[key])
        peers.emit({"prepared": key, "file": p[key]})
    if not os.path.exists(p["ov_int8"]):
        import nncf
        import openvino as ov
        sentences, _ = peers.load_batch()
        tok = tokenizer(a.model)
        calib = [feed(tok, [s]) for s in sentences[:CALIBRATION]]
        q = nncf.quantize(ov.convert_model(p["onnx"]), nncf.Dataset(calib),
                          model_type=nncf.ModelType.TRANSFORMER, subset_size=CALIBRATION)
        tmp = p["ov_int8"][:-4] + ".tmp.xml"
        ov.save_model(q, tmp)
        os.replace(tmp[:-4] + ".bin", p["ov_int8"][:-4] + ".bin")
        os.replace(tmp, p["ov_int8"])
    peers.emit({"prepared": "ov_int8", "file": p["ov_int8"]})


def engine(name, cache, threads):
    """A callable feed -> last_hidden_state for one engine."""
    p = paths(cache)
    if name.startswith("ort"):
        import onnxruntime as ort
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        file = p["onnx"] if name == "ort_f32" else p[name]
        sess = ort.InferenceSession(file, so, providers=["CPUExecutionProvider"])
        return lambda f: sess.run(None, f)[0]
    import openvino as ov
    core = ov.Core()
    config = {"INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "LATENCY"}
    if name == "ov_f32":
        config["INFERENCE_PRECISION_HINT"] = "f32"
        model = core.read_model(p["onnx"])
    else:
        model = core.read_model(p["ov_int8"])
    compiled = core.compile_model(model, "CPU", config)
    req = compiled.create_infer_request()
    return lambda f: next(iter(req.infer(f).values())).copy()


def pool(h, mask):
    import numpy as np
    m = mask[:, :, None].astype(np.float32)
    e = (h * m).sum(1) / np.maximum(m.sum(1), 1e-9)
    return e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)


def embed(run, tok, texts, bs):
    """Sorted by length and cut into passes of `bs`, as qkv's embed does; rows in input order."""
    import numpy as np
    lens = [len(tok(t, truncation=True, max_length=256)["input_ids"]) for t in texts]
    order = sorted(range(len(texts)), key=lambda i: -lens[i])
    out = np.zeros((len(texts), 384), dtype=np.float32)
    for s in range(0, len(order), bs):
        idx = order[s:s + bs]
        f = feed(tok, [texts[i] for i in idx])
        out[idx] = pool(run(f), f["attention_mask"])
    return out


def speed(a):
    import numpy as np
    sentences, expected = peers.load_batch()
    tok = tokenizer(a.model)
    n = len(sentences)
    exp = np.asarray(expected, dtype=np.float32)
    for name in a.engines.split(","):
        run = engine(name, a.cache, a.threads)
        f = feed(tok, sentences)
        worst_cos = float((embed(run, tok, sentences, n) * exp).sum(1).min())
        t = peers.timed([lambda: pool(run(f), f["attention_mask"]),
                         lambda: embed(run, tok, sentences, n)], max(a.reps, 9))
        peers.emit({"engine": name, "threads": a.threads, "batch": n,
                    "sent_per_s": n / t[0], "sent_per_s_with_tokenization": n / t[1],
                    "worst_cos_vs_expected": worst_cos, "versions": versions()})


def accuracy(a):
    import numpy as np
    with open(a.sentences) as fh:
        texts = json.load(fh)
    tok = tokenizer(a.model)
    out = {}
    for name in a.engines.split(","):
        out[name] = embed(engine(name, a.cache, a.threads), tok, texts, 32)
        peers.emit({"embedded": name, "rows": len(texts)})
    tmp = a.out + ".tmp.npz"
    np.savez(tmp, **out)
    os.replace(tmp, a.out)


def versions():
    v = peers.versions()
    for mod in ["openvino", "nncf"]:
        try:
            v[mod] = __import__(mod).__version__
        except Exception:  # not installed: the row says so
            v[mod] = None
    return v


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("what", choices=["prepare", "speed", "accuracy"])
    p.add_argument("--model", required=True, help="all-MiniLM-L6-v2 directory")
    p.add_argument("--cache", default=os.path.expanduser("~/.cache/qkv/onnx"))
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--reps", type=int, default=9)
    p.add_argument("--engines", default=",".join(ENGINES))
    p.add_argument("--sentences", help="a JSON list of texts (accuracy)")
    p.add_argument("--out", help="the .npz file of embeddings, one array per engine (accuracy)")
    a = p.parse_args()
    if a.what == "accuracy" and not (a.sentences and a.out):
        p.error("accuracy needs --sentences and --out")
    for k in ["OMP_NUM_THREADS", "MKL_NUM_THREADS"]:
        os.environ[k] = str(a.threads)
    {"prepare": prepare, "speed": speed, "accuracy": accuracy}[a.what](a)


if __name__ == "__main__":
    main()
