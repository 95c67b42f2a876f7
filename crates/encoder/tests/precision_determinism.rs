//! Every precision is bit-identical for 1, 2 and 4 threads and for any batch composition: on a
//! synthetic encoder big enough that the bf16 and int8 GEMMs take their parallel paths, on the
//! tiny BERT, and on all-MiniLM-L6-v2 when it is present.
//!
//! Why: the int8 sums are exact integers and each row's activation scale depends on that row
//! only; the bf16 kernel sums each element's whole depth in one fixed order; neither splits a
//! reduction across threads (see `docs/numerics_int8.md`).

mod common;

use qkv_core::with_threads;
use qkv_encoder::{
    Activation, Batch, EmbedOptions, Encoder, EncoderLayer, LayerNorm, LoadOptions, Precision,
    PrecisionPlan, SentenceEncoder, Workspace,
};
use qkv_testkit::bits::first_diff;
use qkv_testkit::dirs::{model_dir, tiny_bert_dir as tiny_dir};
use qkv_testkit::layers::{layer_config, layer_input as input, random_layer_weights, Norms};
use qkv_testkit::rng::TestRng;
use rand::SeedableRng;

const THREADS: [usize; 3] = [1, 2, 4];

/// A random 2-layer encoder at `plan` (d 128, 4 heads, FFN 512).
fn encoder(plan: &PrecisionPlan, norm_first: bool) -> Encoder {
    let cfg = layer_config(128, 4, 512, Activation::Gelu, norm_first);
    let mut rng = TestRng::seed_from_u64(21);
    let input_norm = LayerNorm {
        gamma: (0..128).map(|i| 1.0 + (i % 7) as f32 * 0.3).collect(),
        beta: vec![0.1; 128],
        eps: 1e-5,
    };
    let layers = (0..2)
        .map(|_| {
            let w = random_layer_weights(&cfg, Norms::Random, &mut rng);
            EncoderLayer::with_precision(cfg, &w, plan, Some(&input_norm)).unwrap()
        })
        .collect();
    Encoder::new(layers, None).unwrap()
}

fn forward(enc: &Encoder, x: &[f32], lengths: &[usize], threads: usize) -> Vec<f32> {
    let mut y = x.to_vec();
    let batch = Batch::from_lengths(lengths).unwrap();
    with_threads(threads, || {
        enc.forward_with(&mut y, &batch, &mut Workspace::default(), None)
    })
    .unwrap()
    .unwrap();
    y
}

fn plans() -> Vec<PrecisionPlan> {
    let mut smoothed = PrecisionPlan::uniform(Precision::Int8);
    smoothed.smooth_alpha = Some(0.5);
    let mut mixed = smoothed;
    mixed.ffn_out = Precision::Bf16;
    Precision::ALL
        .into_iter()
        .map(PrecisionPlan::uniform)
        .chain([smoothed, mixed])
        .collect()
}

#[test]
fn synthetic_encoder_is_bit_identical_across_threads_and_batches() {
    let d = 128;
    // 640 tokens: every int8/bf16 GEMM is above the parallel threshold (2 Mi multiply-adds).
    let lengths = [200, 7, 1, 130, 64, 238];
    let tokens: usize = lengths.iter().sum();
    let x = input(tokens * d, 3);
    for plan in plans() {
        for norm_first in [false, true] {
            let enc = encoder(&plan, norm_first);
            let tag = format!("{plan:?} norm_first={norm_first}");
            let y1 = forward(&enc, &x, &lengths, 1);
            assert!(y1.iter().all(|v| v.is_finite()), "{tag}");
            for t in &THREADS[1..] {
                let yt = forward(&enc, &x, &lengths, *t);
                assert_eq!(first_diff(&y1, &yt), None, "{tag}: {t} threads");
            }
            // Each sequence alone equals its rows in the batch.
            let mut at = 0;
            for &len in &lengths {
                let alone = forward(&enc, &x[at * d..(at + len) * d], &[len], 2);
                assert_eq!(
                    first_diff(&alone, &y1[at * d..(at + len) * d]),
                    None,
                    "{tag}: sequence of {len} alone"
                );
                at += len;
            }
        }
    }
}

/// Embeddings of `texts` at every precision are bit-identical for 1, 2, 4 threads and for
/// batch sizes 0 (all at once), 5 and 1.
fn check_model(dir: &std::path::Path, texts: &[&str]) {
    for p in Precision::ALL {
        let model = SentenceEncoder::open_with(dir, &LoadOptions::precision(p)).unwrap();
        let run = |threads: usize, batch_size: usize| {
            let o = EmbedOptions {
                batch_size,
                ..Default::default()
            };
            with_threads(threads, || model.embed_with(texts, &o).unwrap().data).unwrap()
        };
        let base = run(1, 0);
        for (t, bs) in [(2, 0), (4, 0), (1, 5), (2, 1)] {
            assert_eq!(
                first_diff(&base, &run(t, bs)),
                None,
                "{p}: {t} threads, batch size {bs}"
            );
        }
    }
}

#[test]
fn tiny_bert_every_precision_is_bit_identical() {
    let texts: Vec<String> = (0..40)
        .map(|i| {
            let words = [
                "the", "cat", "sat", "on", "a", "mat", "hello", "world", "fox",
            ];
            (0..1 + (i * 7) % 23)
                .map(|j| words[(i + j * 3) % words.len()])
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    check_model(&tiny_dir(), &refs);
}

#[test]
fn minilm_every_precision_is_bit_identical() {
    let Some(dir) = model_dir() else { return };
    let golden: Vec<String> = serde_json::from_slice(
        &std::fs::read(common::fixtures().join("minilm/sentences.json")).unwrap(),
    )
    .unwrap();
    let refs: Vec<&str> = golden.iter().map(String::as_str).collect();
    check_model(&dir, &refs);
}
