//! The attention microkernels (head widths 32, 64, 96, 128 on AVX-512 and AVX2; the other
//! ISAs take the GEMM-tile path for the same calls, so they are checked too) against the f64
//! reference: every mask kind, lengths around the tiles (6 keys, 16/48/64-query blocks) and the
//! key blocks, padding between sequences, the 4 KiB row stride that copies K and V, fully
//! hidden rows, NaN, and bit-identity across thread counts.

use proptest::prelude::*;
use qkv_core::ops::attention::{attention, AttentionParams, Mask};
use qkv_core::{with_threads, Isa};
use qkv_testkit::isa::host_isas;

mod attention_support;
use attention_support::{check, setup, setup_strided, MaskKind};

const D_HEADS: [usize; 4] = [32, 64, 96, 128];

/// Every mask kind the kernels distinguish (windows narrower than a tile, about a tile, wider
/// than the sequence).
const KINDS: [MaskKind; 9] = [
    MaskKind::None,
    MaskKind::Causal,
    MaskKind::Additive,
    MaskKind::AdditivePerSeq,
    MaskKind::RelativeBias,
    MaskKind::Window(0),
    MaskKind::Window(5),
    MaskKind::Window(40),
    MaskKind::Window(1000),
];

#[test]
fn every_width_and_mask_matches_reference() {
    for isa in host_isas("every_width_and_mask_matches_reference") {
        for d in D_HEADS {
            for len in [
                1usize, 5, 6, 7, 15, 16, 17, 47, 48, 49, 63, 64, 65, 97, 128, 129,
            ] {
                let st = setup(&[len], 2, d, 0, 1.0, (len * 977 + d) as u64);
                for kind in KINDS {
                    check(isa, &st, kind, 1.0);
                }
            }
        }
    }
}

/// Batches with padding rows between sequences of different lengths (key padding is each
/// sequence's own length).
#[test]
fn padded_batches_match_reference() {
    for isa in host_isas("padded_batches_match_reference") {
        for d in D_HEADS {
            let st = setup(&[70, 1, 17, 64, 3], 3, d, 2, 1.0, d as u64);
            for kind in KINDS {
                check(isa, &st, kind, 1.0);
            }
        }
    }
}

/// Sequences longer than one key block (the block follows the L2 size: with 1 MiB, 400 keys
/// at d_head 128, 512 at 96, 1024 at 32; twice that with 2 MiB), so the accumulator is
/// rescaled between blocks.
#[test]
fn several_key_blocks_match_reference() {
    for isa in host_isas("several_key_blocks_match_reference") {
        let st = setup(&[1500], 1, 128, 0, 1.0, 31);
        for kind in [MaskKind::None, MaskKind::Causal, MaskKind::Window(300)] {
            check(isa, &st, kind, 1.0);
        }
        let st = setup(&[1100], 1, 96, 0, 1.0, 32);
        for kind in [MaskKind::RelativeBias, MaskKind::Additive] {
            check(isa, &st, kind, 1.0);
        }
        let st = setup(&[1100], 1, 32, 0, 1.0, 33);
        check(isa, &st, MaskKind::None, 1.0);
    }
}

/// Rows 4 KiB apart share L1 sets: the kernels copy K and V rows first; same results.
#[test]
fn aliasing_row_stride_matches_reference() {
    for isa in host_isas("aliasing_row_stride_matches_reference") {
        for (d, heads) in [(64, 4), (128, 2), (32, 3)] {
            let st = setup_strided(&[100, 9], heads, d, 1, 1.0, 77, 1024);
            for kind in [MaskKind::None, MaskKind::Causal, MaskKind::RelativeBias] {
                check(isa, &st, kind, 1.0);
            }
        }
    }
}

#[test]
fn large_logits_match_reference() {
    for isa in host_isas("large_logits_match_reference") {
        for d in D_HEADS {
            let st = setup(&[70], 2, d, 0, 30.0, 5);
            for kind in [MaskKind::None, MaskKind::Causal, MaskKind::Window(3)] {
                check(isa, &st, kind, 30.0);
            }
        }
    }
}

/// Rows that see no key give exact zeros; a hidden key gets exactly zero weight.
#[test]
fn hidden_rows_and_keys() {
    for isa in host_isas("hidden_rows_and_keys") {
        for d in D_HEADS {
            let len = 70;
            let mut st = setup(&[len], 1, d, 0, 1.0, 3);
            let mut mask = vec![0.0f32; len * len];
            mask[65 * len..66 * len].fill(f32::NEG_INFINITY); // query 65 sees nothing
            for m in mask.iter_mut().skip(3).step_by(len) {
                *m = f32::NEG_INFINITY; // key 3 hidden from everyone
            }
            // Key 3 (K and V) would dominate every output if it were not hidden.
            for x in &mut st.qkv[3 * st.rs + d..3 * st.rs + 3 * d] {
                *x = 1e3;
            }
            let m = Mask::Additive {
                data: &mask,
                row_stride: len,
                batch_stride: 0,
            };
            let mut out = vec![1.0f32; len * d];
            let params = AttentionParams {
                isa: Some(isa),
                ..AttentionParams::new(1, d)
            };
            attention(st.view(), &st.seqs, &params, m, &mut out, d, None).unwrap();
            assert!(
                out[65 * d..66 * d].iter().all(|&x| x == 0.0),
                "{isa} d {d}: a row that sees nothing must be exactly 0"
            );
            assert!(out.iter().all(|x| x.is_finite()), "{isa} d {d}");
            // Without key 3 (weight exactly 0), every output is a convex mix of the other
            // values, all in (−1, 1); with it, far outside.
            assert!(
                out.iter().all(|x| x.abs() < 1.0),
                "{isa} d {d}: key 3 leaked"
            );
        }
    }
}

#[test]
fn nan_poisons_its_rows_only() {
    for isa in host_isas("nan_poisons_its_rows_only") {
        for d in D_HEADS {
            let len = 80;
            // A NaN query poisons its own row.
            let mut st = setup(&[len], 1, d, 0, 1.0, 6);
            st.qkv[67 * st.rs + 1] = f32::NAN;
            let (out, _) = st.run(isa, MaskKind::None, None, false);
            for (r, row) in out.chunks(d).enumerate() {
                if r == 67 {
                    assert!(row.iter().all(|x| x.is_nan()), "{isa} d {d}: NaN row");
                } else {
                    assert!(row.iter().all(|x| x.is_finite()), "{isa} d {d}: row {r}");
                }
            }
            // A NaN key poisons every query that sees it (causal: queries ≥ the key).
            let mut st = setup(&[len], 1, d, 0, 1.0, 7);
            st.qkv[50 * st.rs + d + 2] = f32::NAN;
            let (out, _) = st.run(isa, MaskKind::Causal, None, false);
            for (r, row) in out.chunks(d).enumerate() {
                let nan = row.iter().all(|x| x.is_nan());
                assert_eq!(nan, r >= 50, "{isa} d {d}: row {r}");
            }
        }
    }
}

/// 1, 2 and 3 threads give the same bits on every width and mask, single sequences that split
/// over query blocks as well as batches.
#[test]
fn threads_do_not_change_bits() {
    for isa in host_isas("threads_do_not_change_bits") {
        for d in D_HEADS {
            for lens in [&[300usize][..], &[130, 64, 7, 200]] {
                let st = setup(lens, 2, d, 1, 1.0, 12);
                for kind in [
                    MaskKind::None,
                    MaskKind::Causal,
                    MaskKind::RelativeBias,
                    MaskKind::Window(20),
                ] {
                    let one = with_threads(1, || st.run(isa, kind, None, false).0).unwrap();
                    for t in [2, 3] {
                        let many = with_threads(t, || st.run(isa, kind, None, false).0).unwrap();
                        assert!(
                            one.iter()
                                .zip(&many)
                                .all(|(a, b)| a.to_bits() == b.to_bits()),
                            "{isa} d {d} {kind:?}: {t} threads differ"
                        );
                    }
                }
            }
        }
    }
}

/// A sequence alone gives the same bits as inside a batch, at any position.
#[test]
fn batch_position_does_not_change_bits() {
    for isa in host_isas("batch_position_does_not_change_bits") {
        for d in D_HEADS {
            let st = setup(&[50, 131], 2, d, 3, 1.0, 21);
            let (batch, _) = st.run(isa, MaskKind::Causal, None, false);
            let s1 = st.seqs[1];
            let mut solo = setup(&[131], 2, d, 0, 1.0, 0);
            solo.qkv
                .copy_from_slice(&st.qkv[s1.start * st.rs..(s1.start + s1.len) * st.rs]);
            let (alone, _) = solo.run(isa, MaskKind::Causal, None, false);
            let w = 2 * d;
            let inside = &batch[s1.start * w..(s1.start + s1.len) * w];
            assert!(
                alone
                    .iter()
                    .zip(inside)
                    .all(|(a, b)| a.to_bits() == b.to_bits()),
                "{isa} d {d}: alone ≠ in batch"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
    /// Random batches, head counts, widths and masks against the reference, on every ISA.
    #[test]
    fn prop_tiles_equal_reference(
        lens in prop::collection::vec(prop_oneof![1usize..=8, 1usize..=150], 1..4),
        heads in 1usize..4,
        d in prop::sample::select(D_HEADS.to_vec()),
        kind in 0usize..7,
        radius in 0usize..70,
        gap in 0usize..3,
        seed in any::<u64>(),
    ) {
        let kind = [
            MaskKind::None,
            MaskKind::Causal,
            MaskKind::Additive,
            MaskKind::AdditivePerSeq,
            MaskKind::RelativeBias,
            MaskKind::Window(radius),
            MaskKind::Window(radius / 8),
        ][kind];
        let st = setup(&lens, heads, d, gap, 1.0, seed);
        // Isa::available(), not host_isas: a proptest would record a missing required ISA as
        // a regression case (the loops above fail on it instead).
        for isa in Isa::available() {
            check(isa, &st, kind, 1.0);
        }
    }
}

/// The microkernels reduce nothing across lanes: AVX-512 and AVX2 give the same bits wherever
/// their key blocks agree (always up to 64 keys, the smallest key block).
#[test]
fn avx512_and_avx2_give_the_same_bits() {
    let isas = host_isas("avx512_and_avx2_give_the_same_bits");
    if !(isas.contains(&Isa::Avx512) && isas.contains(&Isa::Avx2)) {
        eprintln!("avx512_and_avx2_give_the_same_bits: skipped (needs both)");
        return;
    }
    for d in D_HEADS {
        let st = setup(&[64, 1, 33, 50], 2, d, 1, 1.0, 41);
        for kind in KINDS {
            let (a, _) = st.run(Isa::Avx512, kind, None, false);
            let (b, _) = st.run(Isa::Avx2, kind, None, false);
            assert!(
                a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()),
                "d {d} {kind:?}: AVX-512 and AVX2 differ"
            );
        }
    }
}
