//! Hostile model files through the public loaders (`Weights::open`, `BertConfig::from_file`,
//! `Tokenizer::from_file`, `ModelDir::open`, `SentenceEncoder::open`): every malformed,
//! inconsistent or poisoned file gives a typed error that names the file (and the tensor or
//! field), never a panic, an out-of-bounds read, an allocation sized by the file's claims, or a
//! model that loads and computes something wrong.
//!
//! This file breaks `model.safetensors`; `hostile_configs.rs` the config, the tokenizer and the
//! sentence-transformers files. Each case starts from a copy of the tiny random BERT fixture
//! and breaks one file.

mod common;

use common::model_copy::{err_of, ModelCopy};
use qkv_encoder::io::MAX_HEADER_BYTES;
use qkv_encoder::{Error, Weights};
use qkv_testkit::dirs::tiny_bert_dir as fixture;
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};

/// A safetensors file from a raw header string and data bytes.
fn raw(header: &str, data: &[u8]) -> Vec<u8> {
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

/// The fixture's tensors as (name, dtype, shape, bytes), in file order of names.
fn tiny_tensors() -> Vec<(String, Dtype, Vec<usize>, Vec<u8>)> {
    let bytes = std::fs::read(fixture().join("model.safetensors")).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let mut v: Vec<_> = st
        .tensors()
        .into_iter()
        .map(|(n, t)| (n, t.dtype(), t.shape().to_vec(), t.data().to_vec()))
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

fn serialize(tensors: &[(String, Dtype, Vec<usize>, Vec<u8>)]) -> Vec<u8> {
    let views: Vec<(String, TensorView)> = tensors
        .iter()
        .map(|(n, d, s, b)| (n.clone(), TensorView::new(*d, s.clone(), b).unwrap()))
        .collect();
    safetensors::serialize(views, &None).unwrap()
}

/// `Weights::open` on `bytes` must fail with `Error::Safetensors` naming the file; the message
/// is returned. The same file as a model directory's `model.safetensors` fails the same way.
fn weights_err(tag: &str, bytes: &[u8]) -> String {
    let m = ModelCopy::new(tag);
    let p = m.write("model.safetensors", bytes);
    let msg = match Weights::open(&p) {
        Err(e @ Error::Safetensors { .. }) => e.to_string(),
        Err(other) => panic!("{tag}: expected a Safetensors error, got {other:?}"),
        Ok(_) => panic!("{tag}: opened"),
    };
    assert!(msg.contains(p.to_str().unwrap()), "{tag}: {msg}");
    match err_of(m.open(), tag) {
        Error::Safetensors { path, .. } => assert_eq!(path, p),
        other => panic!("{tag}: SentenceEncoder::open gave {other:?}"),
    }
    msg
}

// ---------------------------------------------------------------------------------------------
// model.safetensors
// ---------------------------------------------------------------------------------------------

#[test]
fn header_length_beyond_the_file() {
    let mut bytes = raw("{}", b"");
    bytes[..8].copy_from_slice(&4096u64.to_le_bytes());
    let m = weights_err("hdr-beyond", &bytes);
    assert!(m.contains("past the end"), "{m}");
    // The real model with its header length bumped past the file size.
    let mut real = std::fs::read(fixture().join("model.safetensors")).unwrap();
    let len = real.len() as u64;
    real[..8].copy_from_slice(&len.to_le_bytes());
    assert!(weights_err("hdr-beyond-real", &real).contains("past the end"));
}

#[test]
fn huge_header_length_is_refused_before_allocating() {
    for n in [MAX_HEADER_BYTES + 1, 1 << 40, u64::MAX] {
        let mut bytes = raw("{}", b"");
        bytes[..8].copy_from_slice(&n.to_le_bytes());
        let m = weights_err("hdr-huge", &bytes);
        assert!(m.contains("limit"), "{n}: {m}");
    }
}

#[test]
fn large_header_within_the_limit_is_parsed_not_trusted() {
    // 4 MB of whitespace inside a valid, empty header: accepted (the limit is the crate's),
    // and the model then lacks every tensor.
    let header = format!("{{{}}}", " ".repeat(4 << 20));
    let m = ModelCopy::new("hdr-large");
    let p = m.write("model.safetensors", raw(&header, b""));
    assert_eq!(Weights::open(&p).unwrap().names().count(), 0);
    match err_of(m.open(), "hdr-large") {
        Error::MissingTensor { path, name } => {
            assert_eq!(path, p);
            assert!(name.starts_with("encoder.layer.0."), "{name}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn too_short_and_truncated_files() {
    assert!(weights_err("empty", b"").contains("too short"));
    assert!(weights_err("short", &[1, 0, 0]).contains("too short"));
    // The real model cut in half: its header now points past the data.
    let real = std::fs::read(fixture().join("model.safetensors")).unwrap();
    for cut in [9, 200, real.len() / 2, real.len() - 1] {
        weights_err("cut", &real[..cut]);
    }
}

#[test]
fn offsets_out_of_bounds() {
    let h = r#"{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#;
    let m = weights_err("oob", &raw(h, &[0; 8]));
    assert!(m.contains("`w`") && m.contains("outside"), "{m}");
    let h = r#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[18446744073709551611,18446744073709551615]}}"#;
    assert!(weights_err("oob-huge", &raw(h, &[0; 8])).contains("outside"));
    let h = r#"{"w":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}}"#;
    assert!(weights_err("reversed", &raw(h, &[0; 8])).contains("before they begin"));
}

#[test]
fn overlapping_offsets() {
    let h = r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},
                "b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#;
    let m = weights_err("overlap", &raw(h, &[0; 12]));
    assert!(
        m.contains("overlap") && m.contains("`a`") && m.contains("`b`"),
        "{m}"
    );
    // Two tensors aliasing the same bytes.
    let h = r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},
                "b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#;
    assert!(weights_err("alias", &raw(h, &[0; 8])).contains("overlap"));
}

#[test]
fn dtype_disagrees_with_byte_length() {
    let h = r#"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#;
    let m = weights_err("dtype-len", &raw(h, &[0; 8]));
    assert!(m.contains("`w`") && m.contains("needs 12 bytes"), "{m}");
    let h = r#"{"w":{"dtype":"BF16","shape":[2,2],"data_offsets":[0,16]}}"#;
    assert!(weights_err("bf16-len", &raw(h, &[0; 16])).contains("needs 8 bytes"));
    // Element count × dtype size overflows usize.
    let h = r#"{"w":{"dtype":"F64","shape":[4294967296,4294967296,4],"data_offsets":[0,8]}}"#;
    assert!(weights_err("shape-overflow", &raw(h, &[0; 8])).contains("overflows"));
}

#[test]
fn non_utf8_and_malformed_json_headers() {
    let mut bytes = raw(
        r#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
        &[0; 4],
    );
    bytes[12] = 0xC3; // a lone lead byte
    bytes[13] = 0x28;
    assert!(weights_err("utf8", &bytes).contains("UTF-8"));
    for (tag, h) in [
        ("trunc-json", r#"{"w":{"dtype":"F32","#),
        ("array", "[1,2,3]"),
        ("string", r#""hello""#),
        ("nul", "{\0}"),
        (
            "entry",
            r#"{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#,
        ),
        (
            "dtype",
            r#"{"w":{"dtype":"Q4_0","shape":[1],"data_offsets":[0,4]}}"#,
        ),
        (
            "offsets",
            r#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0]}}"#,
        ),
        (
            "meta",
            r#"{"__metadata__":[1],"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
        ),
    ] {
        weights_err(tag, &raw(h, &[0; 4]));
    }
}

#[test]
fn deeply_nested_header_does_not_overflow_the_stack() {
    let depth = 100_000;
    let h = format!("{{\"a\":{}{}}}", "[".repeat(depth), "]".repeat(depth));
    weights_err("nested", &raw(&h, b""));
}

#[test]
fn random_bytes_never_panic() {
    // Seeded xorshift: 200 files of random bytes, some with a plausible header length.
    let mut s = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    let m = ModelCopy::new("random");
    for i in 0..200 {
        let len = (next() % 512) as usize;
        let mut bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        if i % 2 == 0 && len >= 8 {
            let h = next() % (len as u64);
            bytes[..8].copy_from_slice(&h.to_le_bytes());
            if len > 9 {
                bytes[8] = b'{';
            }
        }
        let p = m.write("model.safetensors", &bytes);
        assert!(Weights::open(&p).is_err(), "random file {i} opened");
    }
}

#[test]
fn missing_and_misshapen_tensors_are_named() {
    let all = tiny_tensors();
    let victim = "encoder.layer.1.intermediate.dense.weight";
    assert!(all.iter().any(|t| t.0 == victim), "fixture layout changed");

    let m = ModelCopy::new("missing");
    let without: Vec<_> = all.iter().filter(|t| t.0 != victim).cloned().collect();
    m.write("model.safetensors", serialize(&without));
    match err_of(m.open(), "missing") {
        Error::MissingTensor { name, path } => {
            assert_eq!(name, victim);
            assert_eq!(path, m.path("model.safetensors"));
        }
        other => panic!("{other:?}"),
    }

    // The same bytes declared with a transposed shape.
    let m = ModelCopy::new("shape");
    let mut t = all.clone();
    let e = t.iter_mut().find(|t| t.0 == victim).unwrap();
    e.2 = vec![e.2[1], e.2[0]];
    m.write("model.safetensors", serialize(&t));
    match err_of(m.open(), "shape") {
        Error::TensorShape {
            name,
            expected,
            found,
        } => assert_eq!(
            (name.as_str(), expected, found),
            (victim, vec![64, 32], vec![32, 64])
        ),
        other => panic!("{other:?}"),
    }

    // An integer tensor where a float weight belongs.
    let m = ModelCopy::new("int-dtype");
    let mut t = all.clone();
    let e = t.iter_mut().find(|t| t.0 == victim).unwrap();
    e.1 = Dtype::I32;
    m.write("model.safetensors", serialize(&t));
    match err_of(m.open(), "int-dtype") {
        Error::Dtype { name, dtype } => {
            assert_eq!((name.as_str(), dtype.as_str()), (victim, "I32"))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn config_disagreeing_with_the_weights_is_an_error_not_an_allocation() {
    // Sizes within every limit (the config validates) but far bigger than the file: loading
    // fails at the first tensor, with both shapes, having allocated nothing from the claim.
    let m = ModelCopy::new("cfg-big");
    let mut cfg: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture().join("config.json")).unwrap()).unwrap();
    cfg["hidden_size"] = 4096.into();
    cfg["num_attention_heads"] = 32.into();
    cfg["intermediate_size"] = 16384.into();
    cfg["num_hidden_layers"] = 24.into();
    cfg["vocab_size"] = 250_000.into();
    m.write("config.json", cfg.to_string());
    // 1_Pooling declares width 32: drop it so the error comes from the weights.
    std::fs::remove_file(m.path("1_Pooling/config.json")).unwrap();
    match err_of(m.open(), "cfg-big") {
        Error::TensorShape { name, expected, .. } => {
            assert!(name.starts_with("encoder.layer.0."), "{name}");
            assert!(expected.contains(&4096), "{expected:?}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn nan_or_inf_weight_is_reported_at_load_with_its_name() {
    let all = tiny_tensors();
    let victim = "encoder.layer.0.attention.self.key.weight";
    for (tag, bad) in [
        ("nan", f32::NAN),
        ("inf", f32::INFINITY),
        ("-inf", f32::NEG_INFINITY),
    ] {
        let m = ModelCopy::new(tag);
        let mut t = all.clone();
        let e = t.iter_mut().find(|t| t.0 == victim).unwrap();
        assert_eq!(e.1, Dtype::F32);
        e.3[4 * 37..4 * 38].copy_from_slice(&bad.to_le_bytes());
        m.write("model.safetensors", serialize(&t));
        let err = err_of(m.open(), tag);
        let msg = err.to_string();
        match err {
            Error::NonFinite { name, index, value } => {
                assert_eq!((name.as_str(), index), (victim, 37));
                assert_eq!(value.is_nan(), bad.is_nan());
            }
            other => panic!("{tag}: {other:?}"),
        }
        assert!(msg.contains(victim) && msg.contains("37"), "{msg}");
    }
    // Half precision too: an F16 table with one +Inf.
    let m = ModelCopy::new("f16-inf");
    let mut t = all.clone();
    let e = t
        .iter_mut()
        .find(|t| t.0 == "embeddings.word_embeddings.weight")
        .unwrap();
    let halves: Vec<u8> =
        e.3.chunks_exact(4)
            .enumerate()
            .flat_map(|(i, b)| {
                let x = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                let h = if i == 5 { 0x7C00u16 } else { half_bits(x) };
                h.to_le_bytes()
            })
            .collect();
    e.1 = Dtype::F16;
    e.3 = halves;
    m.write("model.safetensors", serialize(&t));
    match err_of(m.open(), "f16-inf") {
        Error::NonFinite { name, index, value } => {
            assert_eq!(
                (name.as_str(), index, value),
                ("embeddings.word_embeddings.weight", 5, f32::INFINITY)
            )
        }
        other => panic!("{other:?}"),
    }
}

/// f32 → IEEE half bits, round toward zero (enough for small finite test values).
fn half_bits(x: f32) -> u16 {
    let b = x.to_bits();
    let sign = ((b >> 16) & 0x8000) as u16;
    let exp = ((b >> 23) & 0xFF) as i32 - 127 + 15;
    let man = (b >> 13) & 0x3FF;
    if exp <= 0 {
        sign
    } else {
        assert!(exp < 31, "{x} does not fit in f16");
        sign | ((exp as u16) << 10) | man as u16
    }
}
