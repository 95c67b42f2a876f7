//! The fast encoder layer against the f64 reference layer across random configurations, and
//! a sequence alone against the same sequence inside a padded batch (bit for bit).

use proptest::prelude::*;
use qkv_encoder::nn::mask::additive_per_sequence;
use qkv_encoder::nn::reference::encoder_layer_f64;
use qkv_encoder::{
    Activation, Batch, Encoder, EncoderLayer, LayerConfig, LayerWeights, Mask, Workspace,
};
use qkv_testkit::layers::{layer_config, layer_input as input, random_layer_weights, Norms};
use qkv_testkit::rng::TestRng;
use rand::SeedableRng;

fn weights(cfg: &LayerConfig, seed: u64) -> LayerWeights {
    random_layer_weights(cfg, Norms::Random, &mut TestRng::seed_from_u64(seed))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]
    #[test]
    fn fast_layer_equals_reference(
        heads in 1usize..5, d_head in 1usize..20, d_ff in 1usize..70,
        lengths in prop::collection::vec(1usize..24, 1..4),
        mask in 0u8..3, norm_first in any::<bool>(),
        act in prop::sample::select(vec![Activation::Relu, Activation::Gelu, Activation::GeluTanh]),
        seed in any::<u64>(),
    ) {
        let d = heads * d_head;
        let cfg = layer_config(d, heads, d_ff, act, norm_first);
        let w = weights(&cfg, seed);
        let smax = *lengths.iter().max().unwrap();
        let mut m = input(lengths.len() * smax * smax, seed ^ 1);
        for (i, v) in m.iter_mut().enumerate() {
            if i % 3 == 1 { *v = f32::NEG_INFINITY; }
        }
        let mask = match mask {
            0 => Mask::None,
            1 => Mask::Causal,
            _ => additive_per_sequence(&m, smax),
        };
        let batch = Batch::from_lengths(&lengths).unwrap().with_mask(mask).unwrap();
        let x = input(batch.tokens() * d, seed ^ 2);
        let layer = EncoderLayer::new(cfg, &w).unwrap();
        let mut y = x.clone();
        layer.forward(&mut y, &batch).unwrap();
        let r = encoder_layer_f64(&cfg, &w, &x, &batch);
        // LayerNorm outputs are O(1); f32 rounding through a layer stays ~1e-6 (the PyTorch
        // golden cases measure ≤ 2e-6), and post-norm can amplify it by the inverse std of a
        // near-constant row, hence 1e-4.
        let max = y.iter().zip(&r).map(|(a, b)| (*a as f64 - b).abs()).fold(0.0f64, f64::max);
        prop_assert!(max <= 1e-4, "max |fast - ref| = {max:e}");
    }
}

#[test]
fn sequence_alone_equals_inside_padded_batch() {
    let (d, heads, f) = (48, 4, 96);
    for (norm_first, act, mask) in [
        (false, Activation::Relu, Mask::None),
        (true, Activation::Gelu, Mask::Causal),
    ] {
        let cfg = layer_config(d, heads, f, act, norm_first);
        let enc = Encoder::new(
            vec![EncoderLayer::new(cfg, &weights(&cfg, 3)).unwrap(); 2],
            None,
        )
        .unwrap();
        let (batch, seq) = (4, 19);
        let lengths = [19, 5, 12, 1];
        let x = input(batch * seq * d, 9);
        let pad: Vec<bool> = lengths
            .iter()
            .flat_map(|&l| (0..seq).map(move |j| j >= l))
            .collect();
        let mut ws = Workspace::default();
        let y = enc
            .forward_padded(&x, batch, seq, Some(&pad), mask, &mut ws)
            .unwrap();
        for (b, &len) in lengths.iter().enumerate() {
            let mut alone = x[b * seq * d..(b * seq + len) * d].to_vec();
            let one = Batch::single(len).with_mask(mask).unwrap();
            enc.forward_with(&mut alone, &one, &mut ws, None).unwrap();
            let inside = &y[b * seq * d..(b * seq + len) * d];
            assert!(
                alone
                    .iter()
                    .zip(inside)
                    .all(|(a, b)| a.to_bits() == b.to_bits()),
                "sequence {b} differs alone vs in batch"
            );
            assert!(
                y[(b * seq + len) * d..(b + 1) * seq * d]
                    .iter()
                    .all(|&v| v == 0.0),
                "padded rows of {b} must be 0"
            );
        }
    }
}

#[test]
fn middle_padding_uses_masked_path() {
    let (d, heads, f) = (16, 2, 32);
    let cfg = layer_config(d, heads, f, Activation::Relu, false);
    let enc = Encoder::new(
        vec![EncoderLayer::new(cfg, &weights(&cfg, 4)).unwrap()],
        None,
    )
    .unwrap();
    let x = input(2 * 6 * d, 5);
    // Sequence 0 pads position 2 (not a suffix); sequence 1 is right-padded.
    let pad = [
        false, false, true, false, false, false, false, false, false, false, true, true,
    ];
    let y = enc
        .forward_padded(&x, 2, 6, Some(&pad), Mask::None, &mut Workspace::default())
        .unwrap();
    // Reference: sequence 0 with token 2 removed is the same computation.
    let keep = [0usize, 1, 3, 4, 5];
    let mut s0: Vec<f32> = keep
        .iter()
        .flat_map(|&r| x[r * d..(r + 1) * d].to_vec())
        .collect();
    enc.forward(&mut s0, &Batch::single(5)).unwrap();
    for (k, &r) in keep.iter().enumerate() {
        for c in 0..d {
            assert!((y[r * d + c] - s0[k * d + c]).abs() < 1e-5);
        }
    }
    assert!(y[2 * d..3 * d].iter().all(|&v| v == 0.0));
    assert!(y[10 * d..12 * d].iter().all(|&v| v == 0.0));
}
