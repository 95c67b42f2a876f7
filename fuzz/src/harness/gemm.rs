//! `gemm` and `gemm_packed` with arbitrary shapes, strides, α/β, bias, ReLU and ISAs: `Ok`
//! exactly when the arguments are valid, C untouched on an error and outside its view, and
//! on integer data the result checked exactly against an f64 sum.

use super::input::{span, Input, View};
use super::{reached, MAX_WORK};
use qkv_core::{gemm, gemm_packed, GemmOptions, MatMut, PackedMatrix};

pub(super) fn fuzz_gemm(u: &mut Input, packed: bool) {
    let big = u.byte().is_multiple_of(8);
    let lim = if big { 300 } else { 40 };
    let (m, n, k) = (u.size(lim), u.size(lim), u.size(lim));
    let a = View::new(u, m, k);
    let b = View::new(u, k, n);
    // C: row stride ≥ n (MatMut requires it for more than one row), sometimes padded.
    let rsc = match u.byte() % 4 {
        0 => n.saturating_add(u.size(4)),
        1 => u.size(8),
        _ => n,
    };
    let c_len = u.len_near(span(m, n, rsc, 1));
    let (alpha, alpha_tame) = u.value();
    let (beta, beta_tame) = u.value();
    let beta = if u.bool() { 0.0 } else { beta };
    let (c_init, c_tame) = u.buffer(c_len);
    // With β = 0 C must not be read: fill it with NaN.
    let mut c = if beta == 0.0 {
        vec![f32::NAN; c_init.len()]
    } else {
        c_init
    };
    let bias_len = if u.bool() { n } else { u.size(8) };
    let (bias, bias_tame) = u.buffer(bias_len);
    let use_bias = u.bool();
    let relu = u.bool();
    let isa = u.isa();
    let parallel = u.bool();

    let (Some(am), Some(bm)) = (a.mat(), b.mat()) else {
        return;
    };
    // Valid but huge work (a stride-0 view can claim any size) is not a bug. Packing B costs
    // K·N.
    let pack_work = if packed { k.saturating_mul(n) } else { 0 };
    if m.saturating_mul(n).saturating_mul(k) > MAX_WORK || pack_work > MAX_WORK {
        return;
    }
    let opts = GemmOptions {
        alpha,
        beta,
        bias: use_bias.then_some(&bias[..]),
        relu,
        act: qkv_core::Activation::Identity,
        isa: Some(isa),
        parallel,
    };
    let before = c.clone();
    let r = {
        let Ok(cm) = MatMut::with_row_stride(&mut c, m, n, rsc) else {
            return;
        };
        if packed {
            match PackedMatrix::from_kn_for(bm, isa) {
                Ok(p) => gemm_packed(am, &p, cm, &opts),
                Err(e) => {
                    // Unavailable ISA, or a packed size that overflows usize (a clean error).
                    let too_large = matches!(e, qkv_core::Error::InvalidArgument { .. });
                    assert!(!isa.is_available() || too_large, "packing failed: {e}");
                    return;
                }
            }
        } else {
            gemm(am, bm, cm, &opts)
        }
    };
    let valid = isa.is_available()
        && alpha.is_finite()
        && beta.is_finite()
        && (!use_bias || bias.len() == n);
    assert_eq!(
        r.is_ok(),
        valid,
        "gemm: Ok iff the arguments are valid: {r:?}"
    );
    if r.is_err() {
        assert!(
            before
                .iter()
                .zip(&c)
                .all(|(x, y)| x.to_bits() == y.to_bits()),
            "gemm wrote C and then failed"
        );
        return;
    }
    // Elements of C outside the view are untouched.
    if m == 0 || n == 0 {
        return; // nothing to write, and m or n may be a huge claim
    }
    let mut in_view = vec![false; c.len()];
    for i in 0..m {
        for j in 0..n {
            in_view[i * rsc + j] = true;
        }
    }
    for (idx, (x, y)) in before.iter().zip(&c).enumerate() {
        if !in_view[idx] {
            assert_eq!(x.to_bits(), y.to_bits(), "gemm wrote outside C at {idx}");
        }
    }
    // Exact check on integer data (every product and partial sum is an exact f32 integer).
    let tame = a.tame && b.tame && alpha_tame && beta_tame && (c_tame || beta == 0.0);
    if tame && (!use_bias || bias_tame) && k <= 300 && (m <= 1 || rsc >= n) {
        reached::hit(&reached::GEMM_EXACT);
        for i in 0..m {
            for j in 0..n {
                let dot: f64 = (0..k).map(|p| a.at(i, p) * b.at(p, j)).sum();
                let prev = if beta == 0.0 {
                    0.0
                } else {
                    f64::from(beta) * f64::from(before[i * rsc + j])
                };
                let mut want = f64::from(alpha) * dot + prev;
                if use_bias {
                    want += f64::from(bias[j]);
                }
                if relu {
                    want = want.max(0.0);
                }
                let got = c[i * rsc + j];
                assert_eq!(
                    f64::from(got),
                    want,
                    "gemm {m}×{n}×{k} ({isa:?}, packed {packed}) at ({i}, {j})"
                );
            }
        }
    }
}
