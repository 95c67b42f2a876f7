//! Unit tests of `st_config.rs` (kept beside it, out of the module's file).

use super::*;
use std::path::PathBuf;

/// Writes `text` to a fresh temporary file named after `tag`.
fn write(tag: &str, text: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("qkv-stcfg-{}-{tag}.json", std::process::id()));
    std::fs::write(&p, text).unwrap();
    p
}

/// The config error's message for `text` parsed by `f`, checked to name the file.
fn err_of<T: std::fmt::Debug>(tag: &str, text: &str, f: impl Fn(&Path) -> Result<T>) -> String {
    let p = write(tag, text);
    let r = f(&p);
    std::fs::remove_file(&p).ok();
    match r {
        Err(Error::Config(m)) => {
            assert!(
                m.contains(&format!("qkv-stcfg-{}-{tag}", std::process::id())),
                "{m}"
            );
            m
        }
        other => panic!("{tag}: {other:?}"),
    }
}

fn pooling(text: &str) -> PoolingConfig {
    let p = write("pool-ok", text);
    let r = PoolingConfig::from_file(&p).unwrap();
    std::fs::remove_file(&p).ok();
    r
}

#[test]
fn classic_pooling_flags() {
    let c = pooling(
        r#"{"word_embedding_dimension":384,"pooling_mode_cls_token":false,
           "pooling_mode_mean_tokens":true,"pooling_mode_max_tokens":false,
           "pooling_mode_mean_sqrt_len_tokens":false,"pooling_mode_weightedmean_tokens":false,
           "pooling_mode_lasttoken":false,"include_prompt":true}"#,
    );
    assert_eq!(
        (c.mode, c.include_prompt, c.dim),
        (Pooling::Mean, true, Some(384))
    );
    for (flag, mode) in LEGACY_FLAGS {
        let c = pooling(&format!(r#"{{"{flag}":true,"include_prompt":false}}"#));
        assert_eq!(
            (c.mode, c.include_prompt, c.dim),
            (mode, false, None),
            "{flag}"
        );
    }
    // No flag set: sentence-transformers falls back to mean.
    assert_eq!(
        pooling(r#"{"pooling_mode_cls_token":false}"#).mode,
        Pooling::Mean
    );
    let m = err_of(
        "two",
        r#"{"pooling_mode_mean_tokens":true,"pooling_mode_max_tokens":true}"#,
        |p| PoolingConfig::from_file(p),
    );
    assert!(
        m.contains("pooling_mode") && m.contains("concatenation"),
        "{m}"
    );
    let m = err_of("flag-type", r#"{"pooling_mode_cls_token":"yes"}"#, |p| {
        PoolingConfig::from_file(p)
    });
    assert!(m.contains("`pooling_mode_cls_token`"), "{m}");
}

#[test]
fn st6_pooling_mode() {
    let c = pooling(r#"{"embedding_dimension":32,"pooling_mode":"max","include_prompt":true}"#);
    assert_eq!(
        (c.mode, c.include_prompt, c.dim),
        (Pooling::Max, true, Some(32))
    );
    assert_eq!(
        pooling(r#"{"pooling_mode":["lasttoken"]}"#).mode,
        Pooling::LastToken
    );
    // pooling_mode wins over legacy flags.
    let c = pooling(r#"{"pooling_mode":"weightedmean","pooling_mode_cls_token":true}"#);
    assert_eq!(c.mode, Pooling::WeightedMean);
    for (tag, text, needle) in [
        ("unknown", r#"{"pooling_mode":"median"}"#, "median"),
        (
            "several",
            r#"{"pooling_mode":["cls","mean"]}"#,
            "concatenation",
        ),
        ("empty", r#"{"pooling_mode":[]}"#, "empty"),
        ("number", r#"{"pooling_mode":3}"#, "pooling_mode"),
        (
            "dim",
            r#"{"pooling_mode":"cls","embedding_dimension":-1}"#,
            "embedding_dimension",
        ),
        (
            "prompt",
            r#"{"pooling_mode":"cls","include_prompt":1}"#,
            "include_prompt",
        ),
        ("array", r#"[1]"#, "JSON object"),
    ] {
        let m = err_of(tag, text, |p| PoolingConfig::from_file(p));
        assert!(m.contains(needle), "{tag}: {m}");
    }
    let p = write("pool-json", "{");
    assert!(matches!(
        PoolingConfig::from_file(&p),
        Err(Error::Json { .. })
    ));
    std::fs::remove_file(&p).ok();
}

#[test]
fn modules_in_both_layouts() {
    let classic = r#"[{"idx":0,"name":"0","path":"","type":"sentence_transformers.models.Transformer"},
        {"idx":1,"name":"1","path":"1_Pooling","type":"sentence_transformers.models.Pooling"}]"#;
    let st6 = r#"[{"idx":0,"name":"0","path":"","type":"sentence_transformers.base.modules.transformer.Transformer"},
        {"idx":1,"name":"1","path":"pool","type":"sentence_transformers.sentence_transformer.modules.pooling.Pooling"},
        {"idx":2,"name":"2","path":"2_Normalize","type":"sentence_transformers.base.modules.normalize.Normalize"}]"#;
    for (text, want) in [
        (classic, (Some("1_Pooling"), false)),
        (st6, (Some("pool"), true)),
    ] {
        let p = write("modules", text);
        let m = Modules::from_file(&p).unwrap().unwrap();
        assert_eq!((m.pooling_dir.as_deref(), m.normalize), want);
    }
    let dense = r#"[{"path":"","type":"sentence_transformers.models.Transformer"},
        {"path":"2_Dense","type":"sentence_transformers.models.Dense"}]"#;
    let m = err_of("dense", dense, Modules::from_file);
    assert!(m.contains("sentence_transformers.models.Dense"), "{m}");
    let twice = r#"[{"path":"a","type":"x.Pooling"},{"path":"b","type":"x.Pooling"}]"#;
    assert!(err_of("twice", twice, Modules::from_file).contains("second Pooling"));
    let missing = std::env::temp_dir().join("qkv-stcfg-no-such-modules.json");
    assert_eq!(Modules::from_file(&missing).unwrap(), None);
}

#[test]
fn sentence_bert_config_and_tokenizer_max_length() {
    let p = write("sbert", r#"{"max_seq_length":128,"do_lower_case":true}"#);
    let c = SbertConfig::from_file(&p).unwrap();
    assert_eq!((c.max_seq_length, c.do_lower_case), (Some(128), true));
    // The sentence-transformers 6 file has neither field.
    std::fs::write(&p, r#"{"transformer_task":"feature-extraction"}"#).unwrap();
    assert_eq!(SbertConfig::from_file(&p).unwrap(), SbertConfig::default());
    std::fs::remove_file(&p).ok();
    for (tag, text, needle) in [
        ("sbert-zero", r#"{"max_seq_length":0}"#, "max_seq_length"),
        ("sbert-str", r#"{"max_seq_length":"256"}"#, "max_seq_length"),
        ("sbert-lower", r#"{"do_lower_case":"no"}"#, "do_lower_case"),
    ] {
        let m = err_of(tag, text, SbertConfig::from_file);
        assert!(m.contains(needle), "{tag}: {m}");
    }

    for (text, want) in [
        (r#"{"model_max_length":40}"#, Some(40)),
        (
            r#"{"model_max_length":1000000000000000019884624838656}"#,
            None,
        ),
        (r#"{"model_max_length":null}"#, None),
        (r#"{"cls_token":"[CLS]"}"#, None),
    ] {
        let p = write("tokcfg", text);
        assert_eq!(tokenizer_max_length(&p).unwrap(), want, "{text}");
        std::fs::remove_file(&p).ok();
    }
    for (tag, text) in [
        ("tok-zero", r#"{"model_max_length":0}"#),
        ("tok-neg", r#"{"model_max_length":-5}"#),
        ("tok-frac", r#"{"model_max_length":12.5}"#),
        ("tok-str", r#"{"model_max_length":"512"}"#),
    ] {
        let m = err_of(tag, text, tokenizer_max_length);
        assert!(m.contains("model_max_length"), "{tag}: {m}");
    }
}
