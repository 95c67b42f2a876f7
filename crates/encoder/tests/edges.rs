//! Numerics and shapes at the edges, through the encoder's public APIs:
//! - batch 0 and sequences of length 0 are valid inputs with empty outputs (not errors), and an
//!   empty sequence inside a batch changes nothing for the others;
//! - NaN or ±Inf in an activation propagates visibly (the affected sequence comes out NaN) and
//!   never leaks into other sequences of the batch;
//! - fully masked attention rows and huge logits stay finite.
//!
//! The behaviour is documented in `docs/hardening.md`.

use qkv_core::ops::softmax::softmax_rows;
use qkv_encoder::nn::mask::additive_per_sequence;
use qkv_encoder::{
    Activation, Batch, BertModel, EmbedOptions, Encoder, Encoding, LayerNorm, Mask, Pooling,
    TokenSeq, Workspace,
};
use qkv_testkit::bits::same_bits;
use qkv_testkit::layers::{
    layer_config, layer_input as input, random_encoder, tiny_bert as tiny, Norms,
};

/// A random post-norm (or pre-norm) encoder of `layers` layers with a final LayerNorm.
fn encoder(d: usize, heads: usize, f: usize, layers: usize, norm_first: bool) -> Encoder {
    let cfg = layer_config(d, heads, f, Activation::Gelu, norm_first);
    random_encoder(cfg, layers, Norms::Unit, true, 7).unwrap()
}

/// `enc.forward_with` on packed sequences of `lengths` under `mask`.
fn run(
    enc: &Encoder,
    x: &mut [f32],
    lengths: &[usize],
    mask: Mask,
    ws: &mut Workspace,
    probs: Option<&mut [Vec<f32>]>,
) -> qkv_encoder::Result<()> {
    let batch = Batch::from_lengths(lengths)?.with_mask(mask)?;
    enc.forward_with(x, &batch, ws, probs)
}

#[test]
fn encoder_batch_zero_and_empty_sequences() {
    let d = 16;
    for norm_first in [false, true] {
        let enc = encoder(d, 2, 32, 2, norm_first);
        let mut ws = Workspace::default();
        for mask in [Mask::None, Mask::Causal, additive_per_sequence(&[], 0)] {
            // Batch 0.
            let mut x: Vec<f32> = vec![];
            run(&enc, &mut x, &[], mask, &mut ws, None).unwrap();
            assert!(x.is_empty());
            // Only empty sequences, with attention weights requested.
            let mut probs = vec![Vec::new(), Vec::new()];
            run(&enc, &mut x, &[0, 0, 0], mask, &mut ws, Some(&mut probs)).unwrap();
            assert!(x.is_empty() && probs.iter().all(Vec::is_empty));
        }
        // Padded layout: batch 0, and sequences of length 0.
        for (batch, seq) in [(0, 0), (0, 7), (3, 0)] {
            let y = enc
                .forward_padded(&[], batch, seq, None, Mask::None, &mut ws)
                .unwrap();
            assert!(y.is_empty(), "[{batch}, {seq}]");
        }
        // An empty sequence between two others changes nothing.
        let x = input(5 * d, 1);
        let mut a = x.clone();
        run(&enc, &mut a, &[3, 2], Mask::None, &mut ws, None).unwrap();
        let mut b = x.clone();
        run(&enc, &mut b, &[0, 3, 0, 0, 2, 0], Mask::None, &mut ws, None).unwrap();
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
            Mask::None,
            &mut Workspace::default(),
        )
        .unwrap();
    assert!(y[seq * d..2 * seq * d].iter().all(|&v| v == 0.0));
    assert!(y.iter().all(|v| v.is_finite()));
}

#[test]
fn bert_model_batch_zero_and_empty_sequences() {
    let model = tiny();
    let bert: &BertModel = model.model().bert().unwrap();
    let mut ws = Workspace::default();
    let mut out = vec![1.0f32; 3];
    bert.forward_with(&[], &mut ws, &mut out, None).unwrap();
    assert!(out.is_empty());
    let empty = TokenSeq {
        ids: &[],
        type_ids: Some(&[]),
    };
    bert.forward_with(&[empty, empty], &mut ws, &mut out, None)
        .unwrap();
    assert!(out.is_empty());
    assert_eq!(
        Batch::from_tokens(&[empty, empty]).unwrap().offsets(),
        [0, 0, 0]
    );

    fn seq(ids: &[u32]) -> TokenSeq<'_> {
        TokenSeq {
            ids,
            type_ids: None,
        }
    }
    let (a, b): (&[u32], &[u32]) = (&[2, 11, 12, 3], &[2, 13, 3]);
    let mut dense = Vec::new();
    bert.forward_with(&[seq(a), seq(b)], &mut ws, &mut dense, None)
        .unwrap();
    let mut holey = Vec::new();
    bert.forward_with(
        &[empty, seq(a), empty, seq(b), empty],
        &mut ws,
        &mut holey,
        None,
    )
    .unwrap();
    assert!(same_bits(&dense, &holey));
    assert_eq!(
        Batch::from_tokens(&[empty, seq(a), empty, seq(b)])
            .unwrap()
            .offsets(),
        [0, 0, 4, 4, 7]
    );
    // The one-call form gives the same bits as the workspace form.
    assert!(same_bits(&bert.forward(&[seq(a), seq(b)]).unwrap(), &dense));
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
    run(&enc, &mut clean, &lengths, Mask::None, &mut ws, None).unwrap();
    assert!(clean.iter().all(|v| v.is_finite()));
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        for norm_first in [false, true] {
            let enc = encoder(d, 4, 64, 2, norm_first);
            let mut want = x.clone();
            run(&enc, &mut want, &lengths, Mask::None, &mut ws, None).unwrap();
            // One value of token 1 of sequence 1 (rows 4..7).
            let mut y = x.clone();
            y[5 * d + 3] = bad;
            run(&enc, &mut y, &lengths, Mask::None, &mut ws, None).unwrap();
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
    let mut y = x.clone();
    let mut probs = vec![Vec::new(), Vec::new()];
    run(
        &enc,
        &mut y,
        &[s, s],
        additive_per_sequence(&m, s),
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
    use qkv_encoder::nn::LayerBuffers;
    use std::panic::{catch_unwind, AssertUnwindSafe};
    let d = 16;
    let enc = encoder(d, 2, 32, 1, false);
    let mut x = vec![0.0f32; 3 * d];
    let layer = &enc.layers()[0];
    let r = catch_unwind(AssertUnwindSafe(|| {
        layer.forward_with(
            &mut x,
            &Batch::single(4),
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
        run(
            &enc,
            &mut x,
            &[usize::MAX, 2],
            Mask::None,
            &mut Workspace::default(),
            None,
        )
    }));
    assert!(matches!(r, Ok(Err(_))), "lengths summing past usize::MAX");
    // A mask that does not cover the batch is refused when it joins the batch.
    let short = [0.0f32; 15];
    for mask in [
        qkv_encoder::nn::mask::additive(&short, 4),
        additive_per_sequence(&short, 3),
        additive_per_sequence(&[0.0; 16], 4),
    ] {
        let r = Batch::from_lengths(&[4, 1]).unwrap().with_mask(mask);
        assert!(r.is_err(), "{mask:?}");
    }
}
