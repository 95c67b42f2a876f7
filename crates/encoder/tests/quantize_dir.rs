//! `quantize_dir` (`qkv quantize`) on the tiny BERT: a saved bf16 or int8 directory loads
//! without requantizing and gives the bits of quantizing at load; bad directories are clear
//! errors naming the tensor or file; nothing is half-written.

use qkv_encoder::{
    quantize_dir, Error, LoadOptions, Precision, QuantizeOptions, SentenceEncoder,
    QUANTIZATION_FILE,
};
use qkv_testkit::bits::same_bits;
use qkv_testkit::dirs::{tiny_bert_dir as tiny_dir, TempDir};
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};
use std::path::Path;

const TEXTS: [&str; 4] = [
    "hello world",
    "the quick brown fox jumps over the lazy dog",
    "a",
    "numbers 1 2 3 and more words to make it longer than the others",
];

fn opts(precision: Precision, force: bool) -> QuantizeOptions {
    QuantizeOptions { precision, force }
}

fn embed(dir: &Path, load: &LoadOptions) -> Vec<f32> {
    SentenceEncoder::open_with(dir, load)
        .unwrap()
        .embed(&TEXTS)
        .unwrap()
        .data
}

#[test]
fn saved_directories_load_bit_identical_to_quantizing_at_load() {
    let tmp = TempDir::new("quantize");
    for p in [Precision::Bf16, Precision::Int8] {
        let out = tmp.path(p.name());
        let r = quantize_dir(&tiny_dir(), &out, &opts(p, false)).unwrap();
        // 2 layers × 4 projections; QKV is three tensors, counted once.
        assert_eq!((r.converted, r.plan.precision), (2 * 6, p));
        assert!(r.bytes_out < r.bytes_in, "{} → {}", r.bytes_in, r.bytes_out);
        for f in [
            "config.json",
            "tokenizer.json",
            "modules.json",
            "1_Pooling/config.json",
        ] {
            assert!(out.join(f).is_file(), "{f} not copied");
        }
        assert!(out.join(QUANTIZATION_FILE).is_file());
        // The directory says what it is: opened plainly, it runs at its precision ...
        let m = SentenceEncoder::open(&out).unwrap();
        assert_eq!(m.precision(), p);
        let saved = m.embed(&TEXTS).unwrap().data;
        let at_load = embed(&tiny_dir(), &LoadOptions::precision(p));
        assert!(
            same_bits(&saved, &at_load),
            "{p}: saved ≠ quantized at load"
        );
        // ... and another precision is refused, naming both.
        let e = SentenceEncoder::open_with(&out, &LoadOptions::precision(Precision::F32))
            .unwrap_err()
            .to_string();
        assert!(e.contains(p.name()) && e.contains("f32"), "{e}");
        // The stored dtypes.
        let bytes = std::fs::read(out.join("model.safetensors")).unwrap();
        let st = SafeTensors::deserialize(&bytes).unwrap();
        let w = st
            .tensor("encoder.layer.1.attention.self.key.weight")
            .unwrap();
        let want = if p == Precision::Int8 {
            Dtype::I8
        } else {
            Dtype::BF16
        };
        assert_eq!(w.dtype(), want);
        assert_eq!(
            st.tensor("embeddings.word_embeddings.weight")
                .unwrap()
                .dtype(),
            Dtype::F32
        );
        assert_eq!(
            st.names().iter().any(|n| n.ends_with(".weight_scale")),
            p == Precision::Int8
        );
    }
    // f32 at load is unchanged by all this.
    assert!(same_bits(
        &embed(&tiny_dir(), &LoadOptions::default()),
        &embed(&tiny_dir(), &LoadOptions::precision(Precision::F32))
    ));
}

#[test]
fn existing_output_needs_force_and_quantized_or_f32_is_refused() {
    let tmp = TempDir::new("quantize-force");
    let out = tmp.path("int8");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("keep.txt"), "old").unwrap();
    let e = quantize_dir(&tiny_dir(), &out, &opts(Precision::Int8, false)).unwrap_err();
    assert!(e.to_string().contains("--force"), "{e}");
    assert!(
        out.join("keep.txt").is_file(),
        "refused run must not touch the directory"
    );
    quantize_dir(&tiny_dir(), &out, &opts(Precision::Int8, true)).unwrap();
    assert!(!out.join("keep.txt").exists() && out.join("model.safetensors").is_file());
    // Quantizing a quantized directory, to f32, or over its own source: refused.
    let e = quantize_dir(&out, &tmp.path("again"), &opts(Precision::Bf16, false)).unwrap_err();
    assert!(e.to_string().contains("already quantized"), "{e}");
    let e = quantize_dir(&tiny_dir(), &tmp.path("f32"), &opts(Precision::F32, false)).unwrap_err();
    assert!(e.to_string().contains("f32"), "{e}");
    let e = quantize_dir(&out, &out, &opts(Precision::Int8, true)).unwrap_err();
    assert!(e.to_string().contains("quantized") || e.to_string().contains("own source"));
    // No staging directory is left behind.
    let left: Vec<_> = std::fs::read_dir(tmp.dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("qkv-tmp"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn a_failing_run_writes_nothing() {
    let tmp = TempDir::new("quantize-fail");
    // A source whose weights file is broken: the load fails before anything is written.
    let src = tmp.path("broken");
    std::fs::create_dir_all(src.join("1_Pooling")).unwrap();
    for f in [
        "config.json",
        "tokenizer.json",
        "modules.json",
        "1_Pooling/config.json",
    ] {
        std::fs::copy(tiny_dir().join(f), src.join(f)).unwrap();
    }
    std::fs::write(src.join("model.safetensors"), b"not a safetensors file").unwrap();
    let out = tmp.path("out");
    let e = quantize_dir(&src, &out, &opts(Precision::Int8, false)).unwrap_err();
    assert!(matches!(e, Error::Safetensors { .. }), "{e}");
    assert!(!out.exists());
    let names: Vec<_> = std::fs::read_dir(tmp.dir()).unwrap().collect();
    assert_eq!(names.len(), 1, "only the broken source remains");
}

/// Rewrites `dir/model.safetensors` with `edit` applied to its tensor list.
fn rewrite(dir: &Path, edit: impl FnOnce(&mut Vec<(String, Dtype, Vec<usize>, Vec<u8>)>)) {
    let path = dir.join("model.safetensors");
    let bytes = std::fs::read(&path).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let mut ts: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = st
        .tensors()
        .into_iter()
        .map(|(n, t)| (n, t.dtype(), t.shape().to_vec(), t.data().to_vec()))
        .collect();
    edit(&mut ts);
    let views: Vec<(String, TensorView)> = ts
        .iter()
        .map(|(n, d, s, b)| (n.clone(), TensorView::new(*d, s.clone(), b).unwrap()))
        .collect();
    safetensors::serialize_to_file(views, &None, &path).unwrap();
}

fn open_err(dir: &Path) -> String {
    SentenceEncoder::open(dir).unwrap_err().to_string()
}

#[test]
fn damaged_quantized_directories_are_clear_errors() {
    let tmp = TempDir::new("quantize-damaged");
    let good = tmp.path("good");
    quantize_dir(&tiny_dir(), &good, &opts(Precision::Int8, false)).unwrap();
    let copy = |tag: &str| {
        let d = tmp.path(tag);
        std::fs::create_dir_all(d.join("1_Pooling")).unwrap();
        for f in std::fs::read_dir(&good).unwrap() {
            let f = f.unwrap();
            if f.file_type().unwrap().is_file() {
                std::fs::copy(f.path(), d.join(f.file_name())).unwrap();
            }
        }
        std::fs::copy(
            good.join("1_Pooling/config.json"),
            d.join("1_Pooling/config.json"),
        )
        .unwrap();
        d
    };
    let scale = "encoder.layer.0.attention.self.value.weight_scale";

    let d = copy("missing-scale");
    rewrite(&d, |ts| ts.retain(|t| t.0 != scale));
    let e = open_err(&d);
    assert!(e.contains(scale) && e.contains("missing"), "{e}");

    let d = copy("short-scale");
    rewrite(&d, |ts| {
        let t = ts.iter_mut().find(|t| t.0 == scale).unwrap();
        t.2 = vec![t.2[0] - 1];
        t.3.truncate(t.3.len() - 4);
    });
    let e = open_err(&d);
    assert!(e.contains(scale) && e.contains("shape"), "{e}");

    let w = "encoder.layer.1.intermediate.dense.weight";
    let d = copy("wrong-shape");
    rewrite(&d, |ts| {
        let t = ts.iter_mut().find(|t| t.0 == w).unwrap();
        t.2 = vec![t.2[1], t.2[0]];
    });
    let e = open_err(&d);
    assert!(e.contains(w) && e.contains("shape"), "{e}");

    let d = copy("bad-scale");
    rewrite(&d, |ts| {
        let t = ts.iter_mut().find(|t| t.0 == scale).unwrap();
        t.3[..4].copy_from_slice(&(-1.0f32).to_le_bytes());
    });
    let e = open_err(&d);
    assert!(
        e.contains("encoder.layer.0.attention.self.query.weight"),
        "{e}"
    );

    let d = copy("mixed");
    rewrite(&d, |ts| {
        let t = ts
            .iter_mut()
            .find(|t| t.0 == "encoder.layer.0.attention.self.key.weight")
            .unwrap();
        t.1 = Dtype::F32;
        t.3 =
            t.3.iter()
                .flat_map(|&b| (b as i8 as f32).to_le_bytes())
                .collect();
    });
    let e = open_err(&d);
    assert!(
        e.contains("attention.self.key.weight") && e.contains("F32"),
        "{e}"
    );

    let d = copy("unknown-precision");
    let q = std::fs::read_to_string(d.join(QUANTIZATION_FILE)).unwrap();
    std::fs::write(
        d.join(QUANTIZATION_FILE),
        q.replacen("\"int8\"", "\"int4\"", 1),
    )
    .unwrap();
    let e = open_err(&d);
    assert!(e.contains("int4") && e.contains(QUANTIZATION_FILE), "{e}");

    // Int8 weights in a directory that does not say so: loading at f32 names the tensor.
    let d = copy("unmarked");
    std::fs::remove_file(d.join(QUANTIZATION_FILE)).unwrap();
    let e = open_err(&d);
    assert!(
        e.contains("encoder.layer.0.attention.self.query.weight") && e.contains("int8"),
        "{e}"
    );
}
