//! Numerics and shapes at the edges, through the encoder's public APIs:
//! - batch 0 and sequences of length 0 are valid inputs with empty outputs (not errors), and an
//!   empty sequence inside a batch changes nothing for the others;
//! - NaN or ±Inf in an activation propagates visibly (the affected sequence comes out NaN) and
//!   never leaks into other sequences of the batch;
//! - fully masked attention rows and huge logits stay finite.
//!
//! The behaviour is documented in `docs/hardening.md`.

use qkv_core::ops::activation::Activation;
use qkv_core::ops::softmax::softmax_rows;
use qkv_encoder::bert::{BertModel, TokenSeq};
use qkv_encoder::embedder::{EmbedOptions, SentenceEncoder};
use qkv_encoder::encoder::{Encoder, Workspace};
use qkv_encoder::layer::{EncoderLayer, LayerConfig, LayerNorm, LayerWeights};
use qkv_encoder::mask::AttentionMask;
use qkv_encoder::pooling::Pooling;
use qkv_encoder::tokenize::Encoding;
use rand::{Rng, SeedableRng};
use std::path::Path;

fn tiny() -> SentenceEncoder {
    SentenceEncoder::open(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny_bert"))
        .unwrap()
}

fn rand_vec(n: usize, a: f32, rng: &mut rand_chacha::ChaCha8Rng) -> Vec<f32> {
    (0..n).map(|_| rng.gen_range(-a..a)).collect()
}

/// A random post-norm (or pre-norm) encoder of `layers` layers with a final LayerNorm.
fn encoder(d: usize, heads: usize, f: usize, layers: usize, norm_first: bool) -> Encoder {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let cfg = LayerConfig {
        d_model: d,
        heads,
        d_ff: f,
        activation: Activation::Gelu,
        norm_first,
        eps: 1e-5,
    };
    let (sd, sf) = (1.0 / (d as f32).sqrt(), 1.0 / (f as f32).sqrt());
    let ls = (0..layers)
        .map(|_| {
            let w = LayerWeights {
                in_proj_weight: rand_vec(3 * d * d, sd, &mut rng),
                in_proj_bias: rand_vec(3 * d, 0.1, &mut rng),
                out_proj_weight: rand_vec(d * d, sd, &mut rng),
                out_proj_bias: rand_vec(d, 0.1, &mut rng),
                linear1_weight: rand_vec(f * d, sd, &mut rng),
                linear1_bias: rand_vec(f, 0.1, &mut rng),
                linear2_weight: rand_vec(d * f, sf, &mut rng),
                linear2_bias: rand_vec(d, 0.1, &mut rng),
                norm1_weight: vec![1.0; d],
                norm1_bias: vec![0.0; d],
                norm2_weight: vec![1.0; d],
                norm2_bias: vec![0.0; d],
            };
            EncoderLayer::new(cfg, &w).unwrap()
        })
        .collect();
    let norm = LayerNorm {
        gamma: vec![1.0; d],
        beta: vec![0.0; d],
        eps: 1e-5,
    };
    Encoder::new(ls, Some(norm)).unwrap()
}

fn input(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    rand_vec(n, 2.0, &mut rng)
}

fn same_bits(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}

#[test]
fn encoder_batch_zero_and_empty_sequences() {
    let d = 16;
    for norm_first in [false, true] {
        let enc = encoder(d, 2, 32, 2, norm_first);
        let mut ws = Workspace::default();
        for mask in [
            AttentionMask::None,
            AttentionMask::Causal,
            AttentionMask::Additive {
                data: vec![],
                per_sequence: true,
            },
        ] {
            // Batch 0.
            let mut x: Vec<f32> = vec![];
            enc.forward_packed(&mut x, &[], &mask, &mut ws, None)
                .unwrap();
            assert!(x.is_empty());
            // Only empty sequences, with attention weights requested.
            let mut probs = vec![Vec::new(), Vec::new()];
            enc.forward_packed(&mut x, &[0, 0, 0], &mask, &mut ws, Some(&mut probs))
                .unwrap();
            assert!(x.is_empty() && probs.iter().all(Vec::is_empty));
        }
        // Padded layout: batch 0, and sequences of length 0.
        for (batch, seq) in [(0, 0), (0, 7), (3, 0)] {
            let y = enc
                .forward_padded(&[], batch, seq, None, &AttentionMask::None, &mut ws)
                .unwrap();
            assert!(y.is_empty(), "[{batch}, {seq}]");
        }
        // An empty sequence between two others changes nothing.
        let x = input(5 * d, 1);
        let mut a = x.clone();
        enc.forward_packed(&mut a, &[3, 2], &AttentionMask::None, &mut ws, None)
            .unwrap();
        let mut b = x.clone();
        enc.forward_packed(
            &mut b,
            &[0, 3, 0, 0, 2, 0],
            &AttentionMask::None,
            &mut ws,
            None,
        )
        .unwrap();
        assert!(same_bits(&a, &b));
    }
}

#[test]
fn fully_padded_sequence_in_a_padded_batch_gives_zero_rows() {
    let d = 16;
    let enc = encoder(d, 4, 32, 2, false);
    let (batch, seq) = (3, 5);
    let x = input(batch * seq * d, 2);
    // Sequence 1 is all padding; sequence 2 has padding in the middle (the masked path).
    let mut pad = vec![false; batch * seq];
    pad[seq..2 * seq].fill(true);
    pad[2 * seq + 1] = true;
    let y = enc
        .forward_padded(
            &x,
            batch,
            seq,
            Some(&pad),
            &AttentionMask::None,
            &mut Workspace::default(),
        )
        .unwrap();
    assert!(y[seq * d..2 * seq * d].iter().all(|&v| v == 0.0));
    assert!(y.iter().all(|v| v.is_finite()));
}

#[test]
fn bert_model_batch_zero_and_empty_sequences() {
    let model = tiny();
    let bert: &BertModel = model.model();
    let mut ws = Workspace::default();
    let mut out = vec![1.0f32; 3];
    bert.forward(&[], &mut ws, &mut out, None).unwrap();
    assert!(out.is_empty());
    let empty = TokenSeq {
        ids: &[],
        type_ids: Some(&[]),
    };
    bert.forward(&[empty, empty], &mut ws, &mut out, None)
        .unwrap();
    assert!(out.is_empty());
    assert_eq!(BertModel::offsets(&[empty, empty]), [0, 0, 0]);

    fn seq(ids: &[u32]) -> TokenSeq<'_> {
        TokenSeq {
            ids,
            type_ids: None,
        }
    }
    let (a, b): (&[u32], &[u32]) = (&[2, 11, 12, 3], &[2, 13, 3]);
    let mut dense = Vec::new();
    bert.forward(&[seq(a), seq(b)], &mut ws, &mut dense, None)
        .unwrap();
    let mut holey = Vec::new();
    bert.forward(
        &[empty, seq(a), empty, seq(b), empty],
        &mut ws,
        &mut holey,
        None,
    )
    .unwrap();
    assert!(same_bits(&dense, &holey));
    assert_eq!(
        BertModel::offsets(&[empty, seq(a), empty, seq(b)]),
        [0, 0, 4, 4, 7]
    );
}

#[test]
fn sentence_encoder_empty_inputs() {
    let model = tiny();
    for batch_size in [0, 1, 64] {
        let opts = EmbedOptions {
            batch_size,
            ..Default::default()
        };
        let e = model.embed_with(&[], &opts).unwrap();
        assert!(e.is_empty() && e.data.is_empty());
        assert_eq!((e.len(), e.dim, e.tokens, e.truncated), (0, 32, 0, 0));
        assert!(model.embed_encodings(&[], &opts).unwrap().is_empty());
    }
    // The empty string is [CLS] [SEP]: a real, unit-length embedding.
    let e = model.embed(&[""]).unwrap();
    let norm: f32 = e.row(0).iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-5, "{norm}");
    // A token sequence of length 0 (no special tokens either): mean pooling of nothing is the
    // zero vector (sentence-transformers' clamp of the count at 1e-9), and normalizing it keeps
    // it zero; CLS and max pooling have no token to take and say so.
    let none = Encoding {
        ids: vec![],
        type_ids: vec![],
        tokens: vec![],
        truncated: false,
    };
    let hello = model.tokenizer().encode("hello world").unwrap();
    let e = model
        .embed_encodings(&[hello.clone(), none.clone()], &EmbedOptions::default())
        .unwrap();
    assert_eq!(e.len(), 2);
    assert!(e.row(1).iter().all(|&v| v == 0.0));
    let alone = model
        .embed_encodings(&[hello], &EmbedOptions::default())
        .unwrap();
    assert!(same_bits(e.row(0), alone.row(0)));
    for pooling in [Pooling::Cls, Pooling::Max] {
        let opts = EmbedOptions {
            pooling: Some(pooling),
            ..Default::default()
        };
        let err = model
            .embed_encodings(std::slice::from_ref(&none), &opts)
            .unwrap_err();
        assert!(err.to_string().contains("empty"), "{err}");
    }
}

#[test]
fn nan_and_inf_in_activations_propagate_to_their_sequence_only() {
    let d = 32;
    let lengths = [4, 3, 5];
    let enc = encoder(d, 4, 64, 2, false);
    let x = input(12 * d, 3);
    let mut ws = Workspace::default();
    let mut clean = x.clone();
    enc.forward_packed(&mut clean, &lengths, &AttentionMask::None, &mut ws, None)
        .unwrap();
    assert!(clean.iter().all(|v| v.is_finite()));
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        for norm_first in [false, true] {
            let enc = encoder(d, 4, 64, 2, norm_first);
            let mut want = x.clone();
            enc.forward_packed(&mut want, &lengths, &AttentionMask::None, &mut ws, None)
                .unwrap();
            // One value of token 1 of sequence 1 (rows 4..7).
            let mut y = x.clone();
            y[5 * d + 3] = bad;
            enc.forward_packed(&mut y, &lengths, &AttentionMask::None, &mut ws, None)
                .unwrap();
            // Attention mixes the bad token into every query of its sequence: all of it is NaN.
            assert!(
                y[4 * d..7 * d].iter().all(|v| v.is_nan()),
                "{bad} (norm_first {norm_first}) did not poison its sequence"
            );
            // The other sequences are exactly what they were.
            assert!(same_bits(&y[..4 * d], &want[..4 * d]));
            assert!(same_bits(&y[7 * d..], &want[7 * d..]));
        }
    }
}

#[test]
fn fully_masked_queries_and_huge_logits_stay_finite() {
    let d = 16;
    let enc = encoder(d, 2, 32, 2, false);
    let (n, s) = (2, 4);
    let x = input(n * s * d, 4);
    // Query 0 of each sequence sees no key at all; other entries carry ±1e30 logits.
    let mut m = vec![0.0f32; n * s * s];
    for b in 0..n {
        m[b * s * s..b * s * s + s].fill(f32::NEG_INFINITY);
        m[b * s * s + s + 1] = 1e30;
        m[b * s * s + 2 * s] = -1e30;
    }
    let mask = AttentionMask::Additive {
        data: m,
        per_sequence: true,
    };
    let mut y = x.clone();
    let mut probs = vec![Vec::new(), Vec::new()];
    enc.forward_packed(
        &mut y,
        &[s, s],
        &mask,
        &mut Workspace::default(),
        Some(&mut probs),
    )
    .unwrap();
    assert!(y.iter().all(|v| v.is_finite()));
    let heads = 2;
    for p in &probs {
        assert_eq!(p.len(), n * heads * s * s);
        assert!(p.iter().all(|v| v.is_finite() && (0.0..=1.0).contains(v)));
        for (r, row) in p.chunks_exact(s).enumerate() {
            let sum: f32 = row.iter().sum();
            if r % s == 0 {
                assert_eq!(row, [0.0; 4], "a fully masked query gets no weight");
            } else {
                assert!((sum - 1.0).abs() < 1e-6, "row {r} sums to {sum}");
            }
            if r % s == 1 {
                assert_eq!(row[1], 1.0, "the 1e30 logit takes all the weight");
            }
        }
    }
    // The kernel on its own: 1e30 logits, and a mix of ±1e30 and -inf.
    let mut l = [1e30, 0.0, -1e30, 1e30, f32::NEG_INFINITY, f32::NEG_INFINITY];
    softmax_rows(&mut l, 2, 3).unwrap();
    assert_eq!(l, [1.0, 0.0, 0.0, 1.0, 0.0, 0.0]);
}

#[test]
fn short_buffers_and_hostile_lengths_are_errors_not_panics() {
    use qkv_core::ops::attention::{Mask, Seq};
    use qkv_encoder::layer::LayerBuffers;
    use std::panic::{catch_unwind, AssertUnwindSafe};
    let d = 16;
    let enc = encoder(d, 2, 32, 1, false);
    let mut x = vec![0.0f32; 3 * d];
    let layer = &enc.layers()[0];
    let r = catch_unwind(AssertUnwindSafe(|| {
        layer.forward(
            &mut x,
            4,
            &[Seq { start: 0, len: 4 }],
            Mask::None,
            &mut LayerBuffers::default(),
            None,
        )
    }));
    assert!(
        matches!(r, Ok(Err(_))),
        "EncoderLayer::forward on 3 rows claimed as 4"
    );
    let ln = LayerNorm {
        gamma: vec![1.0; d],
        beta: vec![0.0; d],
        eps: 1e-5,
    };
    let r = catch_unwind(AssertUnwindSafe(|| ln.apply(&mut x, 4)));
    assert!(
        matches!(r, Ok(Err(_))),
        "LayerNorm::apply on 3 rows claimed as 4"
    );
    let r = catch_unwind(AssertUnwindSafe(|| {
        enc.forward_packed(
            &mut x,
            &[usize::MAX, 2],
            &AttentionMask::None,
            &mut Workspace::default(),
            None,
        )
    }));
    assert!(matches!(r, Ok(Err(_))), "lengths summing past usize::MAX");
}
