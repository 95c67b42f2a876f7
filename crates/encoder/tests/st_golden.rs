//! The sentence-transformers side of the family fixtures, end to end through
//! `SentenceEncoder`: the BERT cases (`bert_cls_prompts`: classic layout, CLS pooling, a default
//! prompt; `bert_max_st6`: the layout sentence-transformers 6 writes, max pooling, Normalize;
//! `bert_lasttoken`) against `SentenceTransformer(dir).encode(texts)`, and the per-call options
//! (prompts, `include_prompt: false` for every pooling mode, Matryoshka truncation,
//! `do_lower_case`) against `scripts/make_st_options_golden.py`.
//!
//! Tolerance: token ids exact; embeddings 1e-5 absolute (f32 model on values of order 1,
//! PyTorch's padded batches of 3 against qkv's packed ones).

mod common;

use common::fixtures;
use qkv_encoder::{EmbedOptions, Error, SentenceEncoder, Weights};
use qkv_testkit::dirs::TempDir;
use std::path::{Path, PathBuf};

const TOL: f32 = 1e-5;

fn family(case: &str) -> PathBuf {
    fixtures().join("families").join(case)
}

fn texts(dir: &Path) -> Vec<String> {
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("inputs.json")).unwrap()).unwrap();
    v["texts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect()
}

fn max_abs(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Embeds the case's inputs with `opts` and checks them against `want` (`[n, dim]`).
fn check(model: &SentenceEncoder, xs: &[&str], opts: &EmbedOptions, want: &[f32], what: &str) {
    let e = model.embed_with(xs, opts).unwrap();
    assert_eq!(e.len(), xs.len(), "{what}");
    let err = max_abs(&e.data, want);
    assert!(err <= TOL, "{what}: embeddings differ by {err}");
}

#[test]
fn bert_cases_match_sentence_transformers() {
    for case in ["bert_cls_prompts", "bert_max_st6", "bert_lasttoken"] {
        let dir = family(case);
        let model = SentenceEncoder::open(&dir).unwrap();
        let owned = texts(&dir);
        let xs: Vec<&str> = owned.iter().map(String::as_str).collect();
        let golden = Weights::open(dir.join("golden.safetensors")).unwrap();

        // Token ids, prompt included, concatenated in input order.
        let enc = model.tokenize(&xs, &EmbedOptions::default()).unwrap();
        let ids: Vec<i64> = enc
            .iter()
            .flat_map(|e| e.ids.iter().map(|&i| i64::from(i)))
            .collect();
        let (want_ids, _) = golden.tensor_i64("input_ids").unwrap();
        assert_eq!(ids, want_ids, "{case}: token ids");

        let n = xs.len();
        let d = model.dim();
        let want = golden.tensor("sentence_embedding", &[n, d]).unwrap();
        for batch_size in [0, 3] {
            let opts = EmbedOptions {
                batch_size,
                ..Default::default()
            };
            check(
                &model,
                &xs,
                &opts,
                &want,
                &format!("{case} batch {batch_size}"),
            );
        }
    }
}

#[test]
fn directory_settings_are_read() {
    let m = SentenceEncoder::open(family("bert_cls_prompts")).unwrap();
    let dir = m.model_dir();
    assert_eq!((dir.max_seq_length, dir.normalize), (40, false));
    assert_eq!(m.prompt(&EmbedOptions::default()).unwrap(), Some("query: "));
    // sentence-transformers 6: no max_seq_length; tokenizer_config.json's model_max_length.
    let m = SentenceEncoder::open(family("bert_max_st6")).unwrap();
    let dir = m.model_dir();
    assert_eq!((dir.max_seq_length, dir.normalize), (40, true));
    assert_eq!(m.prompt(&EmbedOptions::default()).unwrap(), None);
}

/// A copy of a family fixture in a temp dir, with `files` (relative path, contents) replaced.
fn variant(case: &str, files: &[(&str, &str)]) -> TempDir {
    let tmp = TempDir::new("st-variant");
    let src = family(case);
    for entry in ["", "1_Pooling", "2_Normalize"] {
        let from = src.join(entry);
        if !from.is_dir() {
            continue;
        }
        std::fs::create_dir_all(tmp.dir().join(entry)).unwrap();
        for f in std::fs::read_dir(&from).unwrap() {
            let f = f.unwrap();
            if f.file_type().unwrap().is_file() {
                std::fs::copy(f.path(), tmp.dir().join(entry).join(f.file_name())).unwrap();
            }
        }
    }
    for (name, text) in files {
        std::fs::write(tmp.dir().join(name), text).unwrap();
    }
    tmp
}

fn options_golden() -> Weights {
    Weights::open(fixtures().join("st_options/golden.safetensors")).unwrap()
}

#[test]
fn pooling_modes_without_the_prompt() {
    let golden = options_golden();
    let owned = texts(&family("bert_cls_prompts"));
    let xs: Vec<&str> = owned.iter().map(String::as_str).collect();
    for mode in [
        "cls",
        "max",
        "mean",
        "mean_sqrt_len_tokens",
        "weightedmean",
        "lasttoken",
    ] {
        let cfg = format!(
            r#"{{"embedding_dimension":32,"pooling_mode":"{mode}","include_prompt":false}}"#
        );
        let dir = variant("bert_cls_prompts", &[("1_Pooling/config.json", &cfg)]);
        let model = SentenceEncoder::open(dir.dir()).unwrap();
        assert!(!model.model_dir().include_prompt);
        let want = golden
            .tensor(&format!("pool_{mode}_noprompt"), &[xs.len(), 32])
            .unwrap();
        check(&model, &xs, &EmbedOptions::default(), &want, mode);
    }
}

#[test]
fn prompts_by_name_by_text_and_none() {
    let golden = options_golden();
    let model = SentenceEncoder::open(family("bert_cls_prompts")).unwrap();
    let owned = texts(&family("bert_cls_prompts"));
    let xs: Vec<&str> = owned.iter().map(String::as_str).collect();
    let n = xs.len();
    for (name, opts) in [
        (
            "prompt_passage",
            EmbedOptions {
                prompt_name: Some("passage".into()),
                ..Default::default()
            },
        ),
        (
            "prompt_text",
            EmbedOptions {
                prompt: Some("search: ".into()),
                ..Default::default()
            },
        ),
        (
            "prompt_none",
            EmbedOptions {
                prompt: Some(String::new()),
                ..Default::default()
            },
        ),
    ] {
        let want = golden.tensor(name, &[n, 32]).unwrap();
        check(&model, &xs, &opts, &want, name);
    }
    let bad = EmbedOptions {
        prompt_name: Some("doc".into()),
        ..Default::default()
    };
    let e = model.embed_with(&xs, &bad).unwrap_err().to_string();
    assert!(
        e.contains("\"doc\"") && e.contains("passage") && e.contains("query"),
        "{e}"
    );
}

#[test]
fn matryoshka_truncates_then_normalizes() {
    let golden = options_golden();
    let model = SentenceEncoder::open(family("bert_max_st6")).unwrap();
    let owned = texts(&family("bert_max_st6"));
    let xs: Vec<&str> = owned.iter().map(String::as_str).collect();
    let opts = EmbedOptions {
        dimensions: Some(8),
        ..Default::default()
    };
    let e = model.embed_with(&xs, &opts).unwrap();
    assert_eq!(e.dim, 8);
    for i in 0..e.len() {
        let norm: f32 = e.row(i).iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "row {i}: norm {norm}");
    }
    let want = golden.tensor("st6_truncate8", &[xs.len(), 8]).unwrap();
    check(&model, &xs, &opts, &want, "truncate 8");
    // The full width is allowed; 0 and more than the width are errors.
    let full = EmbedOptions {
        dimensions: Some(32),
        ..Default::default()
    };
    assert_eq!(
        model.embed_with(&xs, &full).unwrap(),
        model.embed(&xs).unwrap()
    );
    for n in [0, 33] {
        let opts = EmbedOptions {
            dimensions: Some(n),
            ..Default::default()
        };
        let e = model.embed_with(&xs, &opts).unwrap_err().to_string();
        assert!(
            e.contains(&format!("dimensions = {n}")) && e.contains("1..=32"),
            "{e}"
        );
    }
}

#[test]
fn do_lower_case_lowercases_prompt_and_text() {
    let golden = options_golden();
    let dir = variant(
        "bert_max_st6",
        &[("sentence_bert_config.json", r#"{"do_lower_case":true}"#)],
    );
    let model = SentenceEncoder::open(dir.dir()).unwrap();
    let owned = texts(&family("bert_max_st6"));
    let xs: Vec<&str> = owned.iter().map(String::as_str).collect();
    let want = golden.tensor("st6_lower", &[xs.len(), 32]).unwrap();
    check(
        &model,
        &xs,
        &EmbedOptions::default(),
        &want,
        "do_lower_case",
    );
}

#[test]
fn no_truncate_names_the_input_and_its_length() {
    let model = SentenceEncoder::open(family("bert_cls_prompts")).unwrap();
    let owned = texts(&family("bert_cls_prompts"));
    let xs: Vec<&str> = owned.iter().map(String::as_str).collect();
    let truncating = model.embed(&xs).unwrap();
    assert_eq!(truncating.truncated, 1, "the long input is cut at 40");
    let strict = EmbedOptions {
        truncate: false,
        ..Default::default()
    };
    match model.embed_with(&xs, &strict) {
        Err(Error::TooLong { index, tokens, max }) => {
            // The whole input's length, prompt included (counted with the tokenizers library).
            assert_eq!((index, tokens, max), (7, 206, 40));
        }
        other => panic!("{other:?}"),
    }
    // Short inputs pass untouched.
    let short = model.embed_with(&xs[..7], &strict).unwrap();
    assert_eq!(short.data, model.embed(&xs[..7]).unwrap().data);
}
