//! The row-wise kernels: softmax (rows sum to 1, fully masked rows are zeros), LayerNorm with
//! and without the residual add (finite output on finite input) and the activations (a NaN
//! is never swallowed), each `Ok` exactly when its arguments are valid.

use super::input::Input;
use super::reached;
use qkv_core::ops::activation::{apply_with_isa, bias_act_with_isa, Activation};
use qkv_core::ops::layernorm::{add_layer_norm_with_isa, layer_norm_with_isa};
use qkv_core::ops::softmax::softmax_rows_with_isa;

pub(super) fn fuzz_softmax(u: &mut Input) {
    let (rows, cols) = (u.size(64), u.size(300));
    let len = u.len_near(rows.checked_mul(cols));
    let (mut x, _) = u.buffer(len);
    // Mask some entries (fully masked rows included).
    for v in x.iter_mut() {
        if u.byte().is_multiple_of(4) {
            *v = f32::NEG_INFINITY;
        }
    }
    let isa = u.isa();
    let before = x.clone();
    let r = softmax_rows_with_isa(&mut x, rows, cols, isa);
    let valid = rows.checked_mul(cols) == Some(before.len()) && isa.is_available();
    assert_eq!(r.is_ok(), valid, "softmax: Ok iff valid: {r:?}");
    if r.is_err() || cols == 0 {
        return;
    }
    for (row, src) in x.chunks_exact(cols).zip(before.chunks_exact(cols)) {
        if src.iter().any(|v| v.is_nan() || *v == f32::INFINITY) {
            continue; // NaN poisons the row; +inf gives inf − inf
        }
        if src.iter().all(|&v| v == f32::NEG_INFINITY) {
            assert!(row.iter().all(|&p| p == 0.0), "fully masked row not zero");
            continue;
        }
        reached::hit(&reached::SOFTMAX_ROW);
        let sum: f64 = row.iter().map(|&p| f64::from(p)).sum();
        assert!(
            row.iter().all(|&p| (0.0..=1.0).contains(&p)),
            "probability outside [0, 1]: {row:?}"
        );
        assert!((sum - 1.0).abs() < 1e-4, "row sums to {sum}");
    }
}

pub(super) fn fuzz_layer_norm(u: &mut Input) {
    let (rows, cols) = (u.size(32), u.size(300));
    let len = u.len_near(rows.checked_mul(cols));
    let (mut x, x_tame) = u.buffer(len);
    let g_len = if u.bool() { cols } else { u.size(8) };
    let b_len = if u.bool() { cols } else { u.size(8) };
    let (gamma, g_tame) = u.buffer(g_len);
    let (beta, b_tame) = u.buffer(b_len);
    let eps = match u.byte() % 5 {
        0 => 1e-12,
        1 => 1e-5,
        2 => 0.0,
        3 => -1e-5,
        _ => u.value().0,
    };
    let with_residual = u.bool();
    let res_len = u.len_near(rows.checked_mul(cols));
    let (residual, r_tame) = u.buffer(res_len);
    let isa = u.isa();
    let n_x = x.len();
    let r = if with_residual {
        add_layer_norm_with_isa(&mut x, &residual, rows, cols, &gamma, &beta, eps, isa)
    } else {
        layer_norm_with_isa(&mut x, rows, cols, &gamma, &beta, eps, isa)
    };
    let shapes = rows.checked_mul(cols) == Some(n_x)
        && gamma.len() == cols
        && beta.len() == cols
        && (!with_residual || residual.len() == n_x);
    let valid = shapes && eps.is_finite() && eps >= 0.0 && isa.is_available();
    assert_eq!(r.is_ok(), valid, "layer_norm: Ok iff valid: {r:?}");
    if r.is_ok() && x_tame && g_tame && b_tame && (r_tame || !with_residual) && eps >= 1e-5 {
        reached::hit(&reached::LAYER_NORM);
        assert!(
            x.iter().all(|v| v.is_finite()),
            "finite input, non-finite LayerNorm"
        );
    }
}

pub(super) fn fuzz_activation(u: &mut Input) {
    let (rows, cols) = (u.size(32), u.size(200));
    let len = u.len_near(rows.checked_mul(cols));
    let (mut x, _) = u.buffer(len);
    let bias_len = if u.bool() { cols } else { u.size(8) };
    let (bias, _) = u.buffer(bias_len);
    let act = [
        Activation::Identity,
        Activation::Relu,
        Activation::Gelu,
        Activation::GeluTanh,
    ][u.below(4)];
    let isa = u.isa();
    let nan_in = x.iter().filter(|v| v.is_nan()).count();
    if u.bool() {
        let r = apply_with_isa(&mut x, act, isa);
        assert_eq!(r.is_ok(), isa.is_available());
        if r.is_ok() {
            reached::hit(&reached::ACTIVATION);
            let nan_out = x.iter().filter(|v| v.is_nan()).count();
            assert!(nan_out >= nan_in, "{act:?} swallowed a NaN");
        }
    } else {
        let r = bias_act_with_isa(&mut x, rows, cols, &bias, act, isa);
        let valid = rows.checked_mul(cols) == Some(x.len()) && bias.len() == cols;
        assert_eq!(r.is_ok(), valid && isa.is_available(), "bias_act: {r:?}");
    }
}
