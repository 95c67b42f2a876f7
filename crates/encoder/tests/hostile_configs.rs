//! Hostile model directories through the public loaders, the files other than the weights
//! (`hostile_files.rs` has those): a broken `config.json`, `tokenizer.json` or
//! sentence-transformers file gives a typed error that names the file and the field, never a
//! panic or an allocation sized by the file's claims.
//!
//! Each case starts from a copy of the tiny random BERT fixture and breaks one file.

mod common;

use common::model_copy::{err_of, ModelCopy};
use qkv_encoder::{BertConfig, Error, ModelDir, Tokenizer};
use qkv_testkit::dirs::tiny_bert_dir as fixture;

// ---------------------------------------------------------------------------------------------
// config.json
// ---------------------------------------------------------------------------------------------

/// `BertConfig::from_file` and `SentenceEncoder::open` both fail on the broken config; the
/// message of the first is returned (it names the file).
fn config_err(m: &ModelCopy) -> String {
    let p = m.path("config.json");
    let e = match BertConfig::from_file(&p) {
        Err(e @ (Error::Config(_) | Error::Json { .. })) => e.to_string(),
        other => panic!("expected a Config or Json error, got {other:?}"),
    };
    assert!(e.contains(p.to_str().unwrap()), "{e}");
    match err_of(m.open(), "config") {
        Error::Config(_) | Error::Json { .. } => {}
        other => panic!("SentenceEncoder::open: {other:?}"),
    }
    err_of(ModelDir::open(m.dir()), "ModelDir");
    e
}

#[test]
fn config_zero_heads_and_indivisible_width() {
    let m = ModelCopy::new("heads0");
    m.set_config("num_attention_heads", 0.into());
    assert!(config_err(&m).contains("num_attention_heads"));
    m.set_config("num_attention_heads", 5.into());
    assert!(config_err(&m).contains("divisible"));
    m.set_config("hidden_size", 0.into());
    assert!(config_err(&m).contains("hidden_size"));
}

#[test]
fn config_absurd_sizes_are_refused_before_any_allocation() {
    let m = ModelCopy::new("absurd");
    for (field, value) in [
        ("hidden_size", serde_json::json!(1u64 << 40)),
        ("intermediate_size", serde_json::json!(u64::MAX)),
        ("num_hidden_layers", serde_json::json!(1_000_000)),
        ("vocab_size", serde_json::json!(1u64 << 50)),
        ("max_position_embeddings", serde_json::json!(1u64 << 33)),
        ("type_vocab_size", serde_json::json!(1u64 << 33)),
    ] {
        m.set_config(field, value);
        let e = config_err(&m);
        assert!(e.contains(field), "{field}: {e}");
    }
    // Each size within its own limit, the product beyond 64 GiB of f32.
    let mut cfg: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture().join("config.json")).unwrap()).unwrap();
    cfg["hidden_size"] = 65_536.into();
    cfg["num_attention_heads"] = 64.into();
    cfg["num_hidden_layers"] = 1000.into();
    cfg["intermediate_size"] = (1 << 20).into();
    m.write("config.json", cfg.to_string());
    assert!(config_err(&m).contains("GiB"));
}

#[test]
fn config_unknown_activation_and_bad_values() {
    let m = ModelCopy::new("act");
    m.set_config("hidden_act", "swish".into());
    assert!(config_err(&m).contains("swish"));
    for (field, value) in [
        ("hidden_size", serde_json::json!(-32)),
        ("hidden_size", serde_json::json!(32.5)),
        ("hidden_size", serde_json::json!("32")),
        ("num_hidden_layers", serde_json::Value::Null),
        ("layer_norm_eps", serde_json::json!(-1e-12)),
        ("layer_norm_eps", serde_json::json!(0.0)),
        ("model_type", serde_json::json!("gpt2")),
        ("position_embedding_type", serde_json::json!("relative_key")),
        ("pad_token_id", serde_json::json!(102)),
    ] {
        m.set_config(field, value.clone());
        let e = config_err(&m);
        assert!(!e.is_empty(), "{field} = {value}");
    }
}

#[test]
fn config_not_json() {
    let m = ModelCopy::new("cfg-json");
    for bytes in [
        &b""[..],
        b"{",
        b"\xff\xfe{\"hidden_size\": 32}",
        b"[]",
        b"{\"hidden_size\": 1e400}",
    ] {
        m.write("config.json", bytes);
        match BertConfig::from_file(m.path("config.json")) {
            Err(Error::Json { path, .. }) => assert_eq!(path, m.path("config.json")),
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(bytes)),
        }
        assert!(m.open().is_err());
    }
    let depth = 100_000;
    m.write(
        "config.json",
        format!("{}{}", "[".repeat(depth), "]".repeat(depth)),
    );
    assert!(matches!(
        BertConfig::from_file(m.path("config.json")),
        Err(Error::Json { .. })
    ));
    std::fs::remove_file(m.path("config.json")).unwrap();
    assert!(matches!(m.open(), Err(Error::Io { .. })));
}

// ---------------------------------------------------------------------------------------------
// tokenizer.json and the sentence-transformers files
// ---------------------------------------------------------------------------------------------

fn tokenizer_err(m: &ModelCopy, tag: &str) {
    let p = m.path("tokenizer.json");
    match Tokenizer::from_file(&p, 24) {
        Err(Error::Tokenizer { path, .. }) => assert_eq!(path, p, "{tag}"),
        Err(Error::Io { path, .. }) => assert_eq!(path, p, "{tag}"),
        other => panic!("{tag}: {other:?}"),
    }
    match err_of(m.open(), tag) {
        Error::Tokenizer { path, .. } | Error::Io { path, .. } => assert_eq!(path, p, "{tag}"),
        other => panic!("{tag}: SentenceEncoder::open gave {other:?}"),
    }
}

#[test]
fn corrupt_tokenizer() {
    let m = ModelCopy::new("tok");
    let good = std::fs::read(fixture().join("tokenizer.json")).unwrap();
    let depth = 100_000;
    let nested = format!("{{\"model\":{}{}}}", "[".repeat(depth), "]".repeat(depth));
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("half", good[..good.len() / 2].to_vec()),
        (
            "not-utf8",
            [&good[..100], &b"\xff\xfe"[..], &good[102..]].concat(),
        ),
        ("nul", b"\0\0\0\0".to_vec()),
        ("array", b"[1,2,3]".to_vec()),
        (
            "wrong-model",
            br#"{"version":"1.0","model":{"type":"Nope"}}"#.to_vec(),
        ),
        ("nested", nested.into_bytes()),
    ];
    for (tag, bytes) in cases {
        m.write("tokenizer.json", bytes);
        tokenizer_err(&m, tag);
    }
}

#[test]
fn tokenizer_ids_beyond_the_embedding_table() {
    let good: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture().join("tokenizer.json")).unwrap()).unwrap();
    // A vocabulary of the right size that maps a word to id 1e9: refused at load, naming it.
    let m = ModelCopy::new("tok-id");
    let mut tok = good.clone();
    tok["model"]["vocab"]["cat"] = 1_000_000_000.into();
    m.write("tokenizer.json", tok.to_string());
    match err_of(m.open(), "tok-id") {
        Error::Config(msg) => assert!(msg.contains("token id 1000000000"), "{msg}"),
        other => panic!("{other:?}"),
    }
    // A special token whose id exists only in the post-processor: the model rejects every
    // input at embed time instead of indexing past its table.
    let mut tok = good;
    let cls = &mut tok["post_processor"]["special_tokens"]["[CLS]"]["ids"];
    assert!(cls.is_array(), "fixture layout changed: {cls}");
    *cls = serde_json::json!([1_000_000_000]);
    m.write("tokenizer.json", tok.to_string());
    let enc = m.open().unwrap();
    let e = enc.embed(&["the cat"]).unwrap_err();
    assert!(matches!(e, Error::Input { .. }), "{e:?}");
    assert!(e.to_string().contains("1000000000"), "{e}");
    assert!(enc.embed(&[]).unwrap().is_empty());
}

#[test]
fn sentence_transformers_files_malformed() {
    let m = ModelCopy::new("st");
    m.write("modules.json", "{");
    assert!(matches!(m.open(), Err(Error::Json { path, .. }) if path.ends_with("modules.json")));
    m.write(
        "modules.json",
        std::fs::read(fixture().join("modules.json")).unwrap(),
    );

    m.write("1_Pooling/config.json", "\u{0}");
    assert!(matches!(m.open(), Err(Error::Json { .. })));
    // No mode at all is mean pooling, as in sentence-transformers; an unknown one is refused.
    m.write(
        "1_Pooling/config.json",
        r#"{"word_embedding_dimension":32,"pooling_mode":"median"}"#,
    );
    assert!(
        matches!(m.open(), Err(Error::Config(msg)) if msg.contains("pooling_mode") && msg.contains("median"))
    );
    m.write(
        "1_Pooling/config.json",
        std::fs::read(fixture().join("1_Pooling/config.json")).unwrap(),
    );

    for n in [0u64, 2, 65, u64::MAX] {
        m.write(
            "sentence_bert_config.json",
            format!(r#"{{"max_seq_length": {n}}}"#),
        );
        // 0 and 65 are outside 1..=max_position_embeddings; 2 leaves no room besides [CLS]
        // and [SEP]; u64::MAX is either.
        let e = err_of(m.open(), "max_seq_length");
        assert!(
            matches!(
                e,
                Error::Config(_) | Error::Tokenizer { .. } | Error::Json { .. }
            ),
            "{n}: {e:?}"
        );
    }
}

#[test]
fn the_untouched_copy_loads() {
    // The harness itself is sound: an unmodified copy loads and embeds.
    let m = ModelCopy::new("ok");
    let enc = m.open().unwrap();
    assert_eq!(enc.embed(&["the quick brown fox"]).unwrap().dim, 32);
}
