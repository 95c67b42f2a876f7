//! The general GEMM with a row-major B, which it reads in place for small M
//! (`gemm/blocking.rs::b_in_place`), against the same B packed once, bit for bit.

use proptest::prelude::*;
use qkv_core::gemm::KC;
use qkv_core::{gemm, gemm_packed, with_threads, GemmOptions, Isa, MatMut, MatRef, PackedMatrix};
use qkv_testkit::isa::host_isas;
use qkv_testkit::rng::rand_vec;

/// (MR, NR) per ISA, as documented in `gemm/kernel.rs`; used only to pick edge sizes.
fn tile(isa: Isa) -> (usize, usize) {
    match isa {
        Isa::Avx512 => (8, 48),
        Isa::Avx2 => (6, 16),
        Isa::Portable => (6, 8),
        Isa::Scalar => (4, 4),
    }
}

/// A row-major B (the general GEMM reads it in place when M is small, packs it otherwise) and
/// the same B packed once give the same bits: the microkernel's arithmetic does not depend on
/// where B comes from. Strided B (NaN between rows), β ≠ 0, bias and ReLU, 1 and 2 threads.
fn row_major_equals_packed(isa: Isa, m: usize, k: usize, n: usize, pad: usize, seed: u64) {
    let a = rand_vec(m * k, seed);
    let ldb = n + pad;
    let mut b = vec![f32::NAN; k.saturating_sub(1) * ldb + n];
    let vals = rand_vec(k * n, seed + 1);
    for p in 0..k {
        b[p * ldb..p * ldb + n].copy_from_slice(&vals[p * n..(p + 1) * n]);
    }
    let bias = rand_vec(n, seed + 2);
    let c0 = rand_vec(m * n, seed + 3);
    let bv = MatRef::with_strides(&b, k, n, ldb, 1).unwrap();
    let pm = PackedMatrix::from_kn_for(bv, isa).unwrap();
    let run = |threads: usize, packed: bool| {
        with_threads(threads, || {
            let mut c = c0.clone();
            let opts = GemmOptions {
                beta: 0.5,
                alpha: 1.5,
                bias: Some(&bias),
                relu: true,
                isa: Some(isa),
                ..Default::default()
            };
            let av = MatRef::new(&a, m, k).unwrap();
            let cv = MatMut::new(&mut c, m, n).unwrap();
            if packed {
                gemm_packed(av, &pm, cv, &opts).unwrap();
            } else {
                gemm(av, bv, cv, &opts).unwrap();
            }
            c.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
        })
        .unwrap()
    };
    let want = run(1, true);
    assert_eq!(run(1, false), want, "{isa} {m}×{k}×{n} pad {pad}: 1 thread");
    assert_eq!(
        run(2, false),
        want,
        "{isa} {m}×{k}×{n} pad {pad}: 2 threads"
    );
}

#[test]
fn row_major_b_small_m_equals_packed() {
    for isa in host_isas("row_major_b_small_m_equals_packed") {
        let (mr, nr) = tile(isa);
        for (i, &m) in [1, 2, 3, mr, mr + 1, 2 * mr, 16, 17, 33].iter().enumerate() {
            for &n in &[1, 5, 16, 17, nr - 1, nr, nr + 16, 64, 2 * nr + 7, 384] {
                for &k in &[1, 64, KC + 3] {
                    row_major_equals_packed(isa, m, k, n, (i + n) % 3 * 5, (m * n + k) as u64);
                }
            }
        }
        // Over a block of N (NC = 3072) and two of K, M large enough for 2 threads to split.
        row_major_equals_packed(isa, 9, 2 * KC + 1, 3072 + 40, 3, 7);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]
    /// Small M with a row-major B (the in-place path) against the packed path bit for bit
    /// (gemm.rs checks both layouts against the f64 reference).
    #[test]
    fn prop_row_major_b_small_m(
        m in 1usize..=40,
        n in prop_oneof![1usize..=130, prop::sample::select(vec![384usize, 1536])],
        k in prop_oneof![1usize..=70, KC - 2..=KC + 2],
        pad in 0usize..9, seed in any::<u64>(),
    ) {
        for isa in Isa::available() {
            row_major_equals_packed(isa, m, k, n, pad, seed);
        }
    }
}

/// A row-major A of up to `A_IN_PLACE_MAX_M` rows is read in place by the microkernel
/// (`gemm/blocking.rs::a_in_place`); the same A as a column-major view is packed. Same bits,
/// with NaN between the rows (a read past a row's K values would show), edge tiles of every
/// height, 1 and 2 threads.
fn a_in_place_equals_packed(isa: Isa, m: usize, k: usize, n: usize, seed: u64) {
    let lda = k + 3;
    let vals = rand_vec(m * k, seed);
    let mut a = vec![f32::NAN; m.saturating_sub(1) * lda + k];
    let mut a_t = vec![0.0f32; m * k]; // [k, m]: A column-major
    for i in 0..m {
        a[i * lda..i * lda + k].copy_from_slice(&vals[i * k..(i + 1) * k]);
        for p in 0..k {
            a_t[p * m + i] = vals[i * k + p];
        }
    }
    let w = rand_vec(n * k, seed + 1);
    let pm = PackedMatrix::from_kn_for(MatRef::new(&w, n, k).unwrap().t(), isa).unwrap();
    let bias = rand_vec(n, seed + 2);
    let run = |threads: usize, in_place: bool| {
        with_threads(threads, || {
            let mut c = vec![0.0f32; m * n];
            let opts = GemmOptions {
                bias: Some(&bias),
                isa: Some(isa),
                ..Default::default()
            };
            let av = match in_place {
                true => MatRef::with_strides(&a, m, k, lda, 1).unwrap(),
                false => MatRef::new(&a_t, k, m).unwrap().t(),
            };
            gemm_packed(av, &pm, MatMut::new(&mut c, m, n).unwrap(), &opts).unwrap();
            c.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
        })
        .unwrap()
    };
    let want = run(1, false);
    for threads in [1, 2] {
        assert_eq!(
            run(threads, true),
            want,
            "{isa} {m}×{k}×{n}, {threads} threads"
        );
    }
}

#[test]
fn row_major_a_small_m_equals_packed() {
    for isa in host_isas("row_major_a_small_m_equals_packed") {
        let (mr, nr) = tile(isa);
        let max = qkv_core::gemm::A_IN_PLACE_MAX_M;
        for &m in &[
            1,
            2,
            3,
            5,
            mr - 1,
            mr,
            mr + 1,
            15,
            2 * mr + 3,
            max - 1,
            max,
            max + 1,
        ] {
            for &k in &[1, 7, 64, KC + 3] {
                for &n in &[1, 17, nr, 2 * nr + 7] {
                    a_in_place_equals_packed(isa, m, k, n, (m * 31 + k * 7 + n) as u64);
                }
            }
        }
    }
}
