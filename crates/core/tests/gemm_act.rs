//! The activation fused into the f32 GEMM (`GemmOptions::act`) against the same
//! product followed by `ops::activation::apply`, bit for bit: every activation, edge tiles,
//! B packed and as views, A read in place and packed, β and bias, 1 and 2 threads.

use qkv_core::gemm::KC;
use qkv_core::ops::activation::apply_with_isa;
use qkv_core::{
    gemm, gemm_packed, with_threads, Activation, GemmOptions, MatMut, MatRef, PackedMatrix,
};
use qkv_testkit::isa::host_isas;
use qkv_testkit::rng::rand_vec;

const ACTS: [Activation; 4] = [
    Activation::Identity,
    Activation::Relu,
    Activation::Gelu,
    Activation::GeluTanh,
];

fn fused_equals_separate(isa: qkv_core::Isa, m: usize, k: usize, n: usize, seed: u64) {
    // Values spread over GELU's whole range (its erf polynomial, the zero tail below −10).
    let a: Vec<f32> = rand_vec(m * k, seed).iter().map(|x| x * 6.0).collect();
    let w = rand_vec(n * k, seed + 1);
    let bias = rand_vec(n, seed + 2);
    let c0 = rand_vec(m * n, seed + 3);
    let wv = MatRef::new(&w, n, k).unwrap().t();
    let pm = PackedMatrix::from_kn_for(wv, isa).unwrap();
    for act in ACTS {
        for packed in [true, false] {
            let run = |threads: usize, act: Activation| {
                with_threads(threads, || {
                    let mut c = c0.clone();
                    let opts = GemmOptions {
                        beta: 0.5,
                        bias: Some(&bias),
                        act,
                        isa: Some(isa),
                        ..Default::default()
                    };
                    let av = MatRef::new(&a, m, k).unwrap();
                    let cv = MatMut::new(&mut c, m, n).unwrap();
                    match packed {
                        true => gemm_packed(av, &pm, cv, &opts).unwrap(),
                        false => gemm(av, wv, cv, &opts).unwrap(),
                    }
                    c
                })
                .unwrap()
            };
            let mut want = run(1, Activation::Identity);
            apply_with_isa(&mut want, act, isa).unwrap();
            let want: Vec<u32> = want.iter().map(|x| x.to_bits()).collect();
            for threads in [1, 2] {
                let got: Vec<u32> = run(threads, act).iter().map(|x| x.to_bits()).collect();
                assert_eq!(
                    got, want,
                    "{isa} {m}×{k}×{n} {act:?} packed {packed}, {threads} threads"
                );
            }
        }
    }
}

#[test]
fn fused_activation_equals_a_pass_afterwards() {
    for isa in host_isas("fused_activation_equals_a_pass_afterwards") {
        for &m in &[1, 3, 8, 15, 17, 40, 300] {
            for &k in &[1, 64, KC + 3] {
                for &n in &[1, 17, 48, 100] {
                    fused_equals_separate(isa, m, k, n, (m * 131 + k * 17 + n) as u64);
                }
            }
        }
    }
}

#[test]
fn relu_with_another_activation_is_an_error() {
    let (a, b) = (vec![1.0f32; 4], vec![1.0f32; 4]);
    let mut c = vec![0.0f32; 4];
    let opts = GemmOptions {
        relu: true,
        act: Activation::Gelu,
        ..Default::default()
    };
    let r = gemm(
        MatRef::new(&a, 2, 2).unwrap(),
        MatRef::new(&b, 2, 2).unwrap(),
        MatMut::new(&mut c, 2, 2).unwrap(),
        &opts,
    );
    assert!(r.unwrap_err().to_string().contains("give one activation"));
    assert_eq!(c, [0.0; 4], "C untouched on error");
}

#[test]
fn gelu_of_minus_infinity_is_zero_in_the_write_out() {
    // A row of −∞ (a huge negative product) goes through GELU's zero tail, not −∞·0 = NaN.
    let a = vec![f32::NEG_INFINITY, 1.0];
    let b = vec![1.0f32, 0.0];
    let mut c = vec![f32::NAN; 1];
    let opts = GemmOptions {
        act: Activation::Gelu,
        ..Default::default()
    };
    gemm(
        MatRef::new(&a, 1, 2).unwrap(),
        MatRef::new(&b, 2, 1).unwrap(),
        MatMut::new(&mut c, 1, 1).unwrap(),
        &opts,
    )
    .unwrap();
    assert_eq!(c, [0.0]);
}
