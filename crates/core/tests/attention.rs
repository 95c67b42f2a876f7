//! Fused attention against the f64 reference on every ISA the host has.

use proptest::prelude::*;
use qkv_core::ops::attention::{attention, AttentionParams, Mask, Seq, SINGLE_BLOCK_MAX};
use qkv_core::reference::attention::attention_f64;
use qkv_core::{with_threads, Isa};
use qkv_testkit::isa::host_isas;

mod attention_support;
use attention_support::{check, setup, MaskKind};

#[test]
fn matches_reference_sizes_and_masks() {
    for isa in host_isas("matches_reference_sizes_and_masks") {
        for &len in &[1usize, 2, 7, 10, 127, 128, 129] {
            for &d in &[1usize, 16, 63, 64, 65, 128] {
                for kind in [MaskKind::None, MaskKind::Causal, MaskKind::Additive] {
                    let st = setup(&[len], 2, d, 0, 1.0, (len * 131 + d) as u64);
                    check(isa, &st, kind, 1.0);
                }
            }
        }
    }
}

#[test]
fn relative_bias_and_sliding_windows_match_reference() {
    for isa in host_isas("relative_bias_and_sliding_windows_match_reference") {
        for &len in &[1usize, 2, 9, 47, 48, 49, 130] {
            for &d in &[8usize, 32, 64] {
                let st = setup(&[len], 3, d, 0, 1.0, (len * 7 + d) as u64);
                for kind in [
                    MaskKind::RelativeBias,
                    MaskKind::Window(0),
                    MaskKind::Window(1),
                    MaskKind::Window(4),
                    MaskKind::Window(60),
                    MaskKind::Window(1000),
                ] {
                    check(isa, &st, kind, 1.0);
                }
            }
        }
        // Batches with padding rows, and windows across the blocked-keys path.
        let st = setup(&[5, 1, 17, 9], 2, 16, 3, 1.0, 17);
        check(isa, &st, MaskKind::RelativeBias, 1.0);
        check(isa, &st, MaskKind::Window(3), 1.0);
        let st = setup(&[SINGLE_BLOCK_MAX + 300], 1, 16, 0, 1.0, 23);
        check(isa, &st, MaskKind::Window(64), 1.0);
        check(isa, &st, MaskKind::Window(500), 1.0);
    }
}

#[test]
fn relative_bias_table_is_checked() {
    let st = setup(&[6, 4], 2, 8, 0, 1.0, 1);
    let w = 16;
    let mut out = vec![0.0f32; st.rows * w];
    let short = &st.bias[..st.bias.len() - 1];
    for (table, span) in [
        (short, st.smax),
        (&st.bias[..], st.smax - 1),
        (&[][..], usize::MAX),
    ] {
        let r = attention(
            st.view(),
            &st.seqs,
            &AttentionParams::new(2, 8),
            Mask::RelativeBias { table, span },
            &mut out,
            w,
            None,
        );
        assert!(r.is_err(), "span {span}, table {} accepted", table.len());
    }
}

#[test]
fn long_sequences_use_key_blocks() {
    let len = SINGLE_BLOCK_MAX + 77;
    for isa in host_isas("long_sequences_use_key_blocks") {
        for kind in [MaskKind::None, MaskKind::Causal, MaskKind::Additive] {
            let st = setup(&[len], 1, 16, 0, 1.0, 99);
            check(isa, &st, kind, 1.0);
        }
        let st = setup(&[513], 2, 64, 0, 1.0, 98);
        check(isa, &st, MaskKind::Causal, 1.0);
    }
}

#[test]
fn key_padding_batches_and_per_sequence_masks() {
    for isa in host_isas("key_padding_batches_and_per_sequence_masks") {
        // Padded layout: every sequence starts at b·S with its own length; gaps are padding.
        let st = setup(&[5, 1, 17, 9], 3, 16, 4, 1.0, 5);
        for kind in [MaskKind::None, MaskKind::Causal, MaskKind::AdditivePerSeq] {
            check(isa, &st, kind, 1.0);
        }
    }
}

#[test]
fn fully_masked_rows_give_zero() {
    for isa in host_isas("fully_masked_rows_give_zero") {
        let st = setup(&[6], 2, 8, 0, 1.0, 3);
        let mut mask = vec![0.0f32; 36];
        mask[6..12].fill(f32::NEG_INFINITY); // query 1 sees nothing
        mask[3] = f32::NEG_INFINITY; // query 0 does not see key 3
        let w = 16;
        let mut out = vec![1.0f32; 6 * w];
        let mut probs = vec![1.0f32; 2 * 36];
        let params = AttentionParams {
            isa: Some(isa),
            ..AttentionParams::new(2, 8)
        };
        let m = Mask::Additive {
            data: &mask,
            row_stride: 6,
            batch_stride: 0,
        };
        attention(
            st.view(),
            &st.seqs,
            &params,
            m,
            &mut out,
            w,
            Some(&mut probs),
        )
        .unwrap();
        assert!(
            out[w..2 * w].iter().all(|&x| x == 0.0),
            "{isa}: fully masked row must be exactly 0"
        );
        assert!(probs[6..12].iter().all(|&x| x == 0.0));
        assert_eq!(probs[3], 0.0, "{isa}: masked key has weight exactly 0");
        assert!(out.iter().all(|x| x.is_finite()));
    }
}

#[test]
fn causal_row_zero_is_one_hot() {
    for isa in host_isas("causal_row_zero_is_one_hot") {
        let st = setup(&[10], 4, 16, 0, 1.0, 8);
        let (out, probs) = st.run(isa, MaskKind::Causal, None, true);
        for h in 0..4 {
            let row = &probs[h * 100..h * 100 + 10];
            assert_eq!(row[0], 1.0);
            assert!(row[1..].iter().all(|&x| x == 0.0));
            // Query 0's output is exactly V of key 0.
            for e in 0..16 {
                assert_eq!(out[h * 16 + e], st.qkv[2 * 64 + h * 16 + e]);
            }
        }
    }
}

#[test]
fn huge_logits_stay_finite() {
    for isa in host_isas("huge_logits_stay_finite") {
        for logit in [1e2f32, 1e4, 1e30] {
            let st = setup(&[33], 2, 16, 0, logit, 4);
            let (out, probs) = st.run(isa, MaskKind::Causal, None, true);
            assert!(
                out.iter().all(|x| x.is_finite()),
                "{isa}: logits ×{logit} overflowed"
            );
            for r in 0..2 * 33 {
                let s: f32 = probs[r * 33..(r + 1) * 33].iter().sum();
                assert!((s - 1.0).abs() < 1e-5, "{isa}: row sums to {s}");
            }
            if logit <= 1e2 {
                check(isa, &st, MaskKind::Causal, logit);
            }
        }
    }
}

#[test]
fn nan_propagates() {
    for isa in host_isas("nan_propagates") {
        let mut st = setup(&[8], 1, 8, 0, 1.0, 6);
        st.qkv[3 * 24 + 2] = f32::NAN; // query 3
        let (out, _) = st.run(isa, MaskKind::None, None, false);
        assert!(
            out[3 * 8..4 * 8].iter().all(|x| x.is_nan()),
            "{isa}: NaN query row must be NaN"
        );
        assert!(out[..3 * 8].iter().all(|x| x.is_finite()));
    }
}

/// A NaN key poisons every query's row whole, in `probs` too (as `softmax_rows` does), wherever
/// the NaN falls within the row's SIMD chunks.
#[test]
fn nan_key_poisons_whole_probs_rows() {
    for isa in host_isas("nan_key_poisons_whole_probs_rows") {
        for key in [0, 5, 17, 39] {
            let (len, d) = (40, 8);
            let mut st = setup(&[len], 1, d, 0, 1.0, 9);
            st.qkv[key * 3 * d + d + 1] = f32::NAN; // key `key`, element 1
            let (out, p) = st.run(isa, MaskKind::None, None, true);
            assert!(out.iter().all(|x| x.is_nan()), "{isa} key {key}: out");
            assert!(
                p.iter().all(|x| x.is_nan()),
                "{isa} key {key}: probs rows must be NaN whole"
            );
        }
    }
}

#[test]
fn custom_scale_and_errors() {
    let st = setup(&[4], 1, 4, 0, 1.0, 1);
    let isa = Isa::active();
    let (a, _) = st.run(isa, MaskKind::None, Some(1.0), false);
    let (r, _) = attention_f64(&st.view(), &st.seqs, 1, 4, 1.0, &Mask::None, st.rows);
    for (x, y) in a.iter().zip(&r) {
        assert!((*x as f64 - y).abs() < 1e-6);
    }
    let mut out = vec![0.0f32; 3];
    let err = attention(
        st.view(),
        &st.seqs,
        &AttentionParams::new(1, 4),
        Mask::None,
        &mut out,
        4,
        None,
    )
    .unwrap_err();
    assert!(err.to_string().contains("out"), "{err}");
    let bad = [Seq { start: 0, len: 3 }, Seq { start: 2, len: 2 }];
    let mut out = vec![0.0f32; 16];
    assert!(attention(
        st.view(),
        &bad,
        &AttentionParams::new(1, 4),
        Mask::None,
        &mut out,
        4,
        None
    )
    .is_err());
    // Empty batch and empty sequences are valid.
    attention(
        st.view(),
        &[],
        &AttentionParams::new(1, 4),
        Mask::None,
        &mut out,
        4,
        None,
    )
    .unwrap();
    attention(
        st.view(),
        &[Seq { start: 0, len: 0 }],
        &AttentionParams::new(1, 4),
        Mask::None,
        &mut out,
        4,
        None,
    )
    .unwrap();
}

#[test]
fn threads_and_batch_position_do_not_change_bits() {
    let st = setup(&[130, 64, 7, 200], 3, 32, 3, 1.0, 12);
    for isa in host_isas("threads_and_batch_position_do_not_change_bits") {
        for kind in [MaskKind::None, MaskKind::Causal] {
            let one = with_threads(1, || st.run(isa, kind, None, false).0).unwrap();
            for t in [2, 3] {
                let many = with_threads(t, || st.run(isa, kind, None, false).0).unwrap();
                assert!(
                    one.iter()
                        .zip(&many)
                        .all(|(a, b)| a.to_bits() == b.to_bits()),
                    "{isa}: {t} threads differ"
                );
            }
            // Sequence 3 run alone (same data) gives the same bits as inside the batch.
            let w = 3 * 32;
            let s3 = st.seqs[3];
            let mut solo = setup(&[200], 3, 32, 0, 1.0, 0);
            solo.qkv
                .copy_from_slice(&st.qkv[s3.start * 3 * w..(s3.start + s3.len) * 3 * w]);
            let (a, _) = solo.run(isa, kind, None, false);
            let batch = &one[s3.start * w..(s3.start + s3.len) * w];
            assert!(
                a.iter().zip(batch).all(|(x, y)| x.to_bits() == y.to_bits()),
                "{isa}: alone ≠ in batch"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
    #[test]
    fn prop_fused_equals_reference(
        lens in prop::collection::vec(prop_oneof![1usize..=3, 1usize..=70], 1..4),
        heads in 1usize..4,
        d in prop_oneof![Just(1usize), Just(16), 2usize..=70],
        kind in prop::sample::select(vec![0u8, 1, 2, 3]),
        gap in 0usize..3,
        seed in any::<u64>(),
    ) {
        let kind = [MaskKind::None, MaskKind::Causal, MaskKind::Additive, MaskKind::AdditivePerSeq][kind as usize];
        let st = setup(&lens, heads, d, gap, 1.0, seed);
        // Isa::available(), not host_isas: the other loops of this file fail on a missing
        // required ISA; a proptest would record that as a regression case.
        for isa in Isa::available() {
            check(isa, &st, kind, 1.0);
        }
    }
}
