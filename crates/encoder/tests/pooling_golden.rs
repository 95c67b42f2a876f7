//! Pooling and normalization against sentence-transformers: mean-pooling the golden packed
//! last hidden states of all-MiniLM-L6-v2 and L2-normalizing must reproduce its
//! `mean_pooled_unnormalized` and `sentence_embedding` (no model needed).

mod common;

use common::fixtures;
use qkv_encoder::sentence::pooling::{l2_normalize, pool};
use qkv_encoder::{Pooling, Weights};
use std::path::Path;

fn offsets(w: &Weights) -> Vec<usize> {
    let (o, _) = w.tensor_i64("offsets").unwrap();
    o.into_iter().map(|v| usize::try_from(v).unwrap()).collect()
}

/// Largest |a - b| over two equal-length slices.
fn max_abs(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

fn check(dir: &Path, packed_file: &str, expected_file: &str, d: usize) {
    let hidden = Weights::open(dir.join(packed_file)).unwrap();
    let off = offsets(&hidden);
    let t = *off.last().unwrap();
    let h = hidden.tensor("last_hidden_state_packed", &[t, d]).unwrap();
    let b = off.len() - 1;
    let expected = Weights::open(dir.join(expected_file)).unwrap();
    let want_mean = expected
        .tensor("mean_pooled_unnormalized", &[b, d])
        .unwrap();
    let want_emb = expected.tensor("sentence_embedding", &[b, d]).unwrap();

    let mut out = vec![0f32; b * d];
    pool(&h, &off, d, Pooling::Mean, &mut out).unwrap();
    // PyTorch sums in f32, we in f64: the means (|x| < 2) were measured 1 ulp (1.2e-7) apart
    // at most; 5e-7 allows a few ulps.
    let e = max_abs(&out, &want_mean);
    assert!(e < 5e-7, "mean pooling differs by {e}");
    l2_normalize(&mut out, d).unwrap();
    let e = max_abs(&out, &want_emb);
    assert!(e < 5e-7, "normalized embedding differs by {e}");
}

#[test]
fn minilm_mean_pooling_matches_sentence_transformers() {
    let dir = fixtures().join("minilm");
    check(
        &dir,
        "minilm_public_last_hidden_state_packed.safetensors",
        "minilm_public.safetensors",
        384,
    );
}

#[test]
fn tiny_bert_mean_pooling_matches_transformers() {
    let dir = fixtures().join("tiny_bert");
    check(&dir, "expected.safetensors", "expected.safetensors", 32);
}
