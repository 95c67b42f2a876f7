//! The seed notebook replayed on qkv's kernels (`qkv_notebook`): the values it printed, the
//! invariants it claimed, and golden values from running the notebook's own NumPy code.
//!
//! Golden values were produced by the notebook's cells under NumPy 2.4 (the legacy `RandomState`
//! stream is frozen across NumPy versions), with the encoder layer's LayerNorm changed to
//! PyTorch's `(x − mean)/√(var + 1e-5)` and masked scores set to −∞, as qkv does. qkv computes in
//! f32 and the notebook in f64, so weights agree to ~1e-7; the tolerances below are 2e-6 for
//! weights in [0, 1] and 2e-5 for O(1) activations after two LayerNorms.

use qkv_notebook::{self as seed, max_row_sum_error, SeedConfig, SeedDemo};
use std::sync::OnceLock;

fn demo() -> &'static SeedDemo {
    static DEMO: OnceLock<SeedDemo> = OnceLock::new();
    DEMO.get_or_init(|| seed::run(&SeedConfig::default()).expect("seed demo runs"))
}

fn assert_close(what: &str, got: &[f32], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!(
            (f64::from(g) - w).abs() <= tol,
            "{what}[{i}]: {g} vs {w} (tolerance {tol})"
        );
    }
}

#[test]
fn positional_encoding_rows_are_the_notebooks() {
    let d = demo();
    assert_eq!(d.pe_row(0)[..8], [0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0]);
    // The notebook's printout, to its 8 decimals; f32 rounding adds at most 3e-8.
    let row1 = [
        0.84147098, 0.54030231, 0.68156135, 0.73176098, 0.53316844, 0.84600911, 0.40930892,
        0.91239586,
    ];
    assert_close("PE[1, :8]", &d.pe_row(1)[..8], &row1, 1e-7);
    assert_eq!(d.pe.len(), 50 * 64);
}

#[test]
fn every_attention_row_sums_to_one() {
    let d = demo();
    let s = d.config.seq_len;
    for (what, w) in [
        ("single head", &d.sdpa_weights),
        ("multi-head", &d.mha_weights),
        ("encoder", &d.encoder.weights),
        ("encoder causal", &d.encoder_causal.weights),
        ("causal", &d.causal_weights),
    ] {
        let err = max_row_sum_error(w, s);
        assert!(err <= 1e-6, "{what}: max |row sum − 1| = {err}");
        assert!(w.iter().all(|&p| (0.0..=1.0).contains(&p)), "{what}");
    }
    assert_eq!(d.encoder.row_sums().len(), 4 * s);
}

#[test]
fn causal_row_zero_sees_only_key_zero() {
    let d = demo();
    let s = d.config.seq_len;
    let mut first = vec![0.0f32; s];
    first[0] = 1.0;
    assert_eq!(d.causal_weights[..s], first[..]);
    for h in 0..d.encoder_causal.heads() {
        assert_eq!(d.encoder_causal.head(h)[..s], first[..], "head {}", h + 1);
    }
    assert_eq!(d.encoder_causal.max_above_diagonal(), 0.0);
    assert!(d.encoder.max_above_diagonal() > 0.0);
    // The mask changes the layer's output, except for the last query, which sees every key
    // either way: its attention rows, and so its output row, are the same.
    let dm = d.config.d_model;
    assert_ne!(d.encoder.output[..dm], d.encoder_causal.output[..dm]);
    let last = (s - 1) * dm..s * dm;
    assert_close(
        "last output row, causal vs not",
        &d.encoder_causal.output[last.clone()],
        &d.encoder.output[last]
            .iter()
            .map(|&v| f64::from(v))
            .collect::<Vec<_>>(),
        1e-5,
    );
}

#[test]
fn layer_norm_matches_the_printout_and_normalizes() {
    let ln = &demo().layer_norm;
    // Printed: "Before LayerNorm - Mean: 5.3091, Std: 9.8988" (4 decimals: ±5e-5).
    assert!((ln.before.mean - 5.3091).abs() < 5e-5, "{:?}", ln.before);
    assert!((ln.before.std - 9.8988).abs() < 5e-5, "{:?}", ln.before);
    // After: mean 0; std √(var/(var + ε)) = 1 − O(ε/var) ≈ 1 − 5e-8 for var ≈ 98.
    assert!(ln.after.mean.abs() < 1e-6, "{:?}", ln.after);
    assert!((ln.after.std - 1.0).abs() < 1e-5, "{:?}", ln.after);
}

#[test]
fn scaling_demo_matches_the_printout() {
    let sc = &demo().scaling;
    // "Unscaled scores range: [-99.49, 41.97]", "Scaled scores range: [-24.87, 10.49]".
    let close = |g: f32, w: f64, tol: f64| (f64::from(g) - w).abs() <= tol;
    assert!(close(sc.unscaled.min, -99.49, 0.005) && close(sc.unscaled.max, 41.97, 0.005));
    assert!(close(sc.scaled.min, -24.87, 0.005) && close(sc.scaled.max, 10.49, 0.005));
    // "Unscaled attention entropy: 0.1319", "Scaled attention entropy: 0.2842".
    assert!(
        (sc.unscaled.entropy - 0.1319).abs() < 5e-5,
        "{:?}",
        sc.unscaled
    );
    assert!((sc.scaled.entropy - 0.2842).abs() < 5e-5, "{:?}", sc.scaled);
    assert_eq!(sc.scaled.scale, 0.25);
}

#[test]
fn attention_maps_are_the_figures() {
    let d = demo();
    let s = d.config.seq_len;
    // Cell 2, row 0 (NumPy).
    let sdpa0 = [
        0.06075433411,
        0.24486245755,
        0.05451827029,
        0.24539403699,
        0.01725147074,
        0.08060427329,
        0.01230464734,
        0.19470170970,
        0.03172238424,
        0.05788641575,
    ];
    assert_close("single head row 0", &d.sdpa_weights[..s], &sdpa0, 2e-6);
    // Cell 3 = the figure's panel 3, head 1 (and panel 2, row 0).
    let h1 = [
        0.03531513185,
        0.14581875375,
        0.11758916543,
        0.03817125923,
        0.08490872423,
        0.14037828172,
        0.19479274834,
        0.06140920920,
        0.15763771531,
        0.02397901094,
    ];
    assert_close("head 1 query 0", &d.mha_head(0)[..s], &h1, 2e-6);
    let h4_row9 = [
        0.07122599540,
        0.13519394888,
        0.11673068443,
        0.17449255545,
        0.04441610511,
        0.09699868538,
        0.09052013714,
        0.05817766846,
        0.11447384554,
        0.09777037420,
    ];
    assert_close("head 4 query 9", &d.mha_head(3)[9 * s..], &h4_row9, 2e-6);
    let out0 = [-0.13714228339, 0.07007599096, -0.58880944191, 0.44347954452];
    assert_close("multi-head output[0, :4]", &d.mha_output[..4], &out0, 2e-6);
    // Cell 8 = panel 6.
    assert_close(
        "causal row 1",
        &d.causal_weights[s..s + 3],
        &[0.26963283898, 0.73036716102, 0.0],
        2e-6,
    );
    assert_close(
        "causal row 9",
        &d.causal_weights[9 * s..9 * s + 3],
        &[0.02753828706, 0.22171279216, 0.05870342127],
        2e-6,
    );
}

#[test]
fn encoder_layer_matches_numpy_with_pytorch_layernorm() {
    let d = demo();
    let s = d.config.seq_len;
    let e = &d.encoder;
    assert_close(
        "head 1 row 2",
        &e.head(0)[2 * s..2 * s + 4],
        &[0.05173039449, 0.06817263220, 0.05479631718, 0.06122318174],
        2e-6,
    );
    assert_close(
        "head 3 row 9",
        &e.head(2)[9 * s..9 * s + 4],
        &[0.15333915822, 0.14614271373, 0.05962766985, 0.02052044947],
        2e-6,
    );
    assert_close(
        "output[0, :4]",
        &e.output[..4],
        &[
            -0.11053187479,
            -0.33453630870,
            0.76753517845,
            -0.54038068792,
        ],
        2e-5,
    );
    let c = &d.encoder_causal;
    assert_close(
        "causal head 1 row 2",
        &c.head(0)[2 * s..2 * s + 4],
        &[0.29611098327, 0.39022832424, 0.31366069249, 0.0],
        2e-6,
    );
    assert_close(
        "causal output[0, :4]",
        &c.output[..4],
        &[-0.07174224698, 0.70599731702, 1.29808846484, -0.00280916029],
        2e-5,
    );
    // "Output mean: 0.0000, Output std: 1.0000" (NumPy: std 0.9999971).
    for run in [e, c] {
        assert!(run.output_mean.abs() < 1e-6, "{}", run.output_mean);
        assert!(
            (run.output_std - 0.999_997_1).abs() < 1e-5,
            "{}",
            run.output_std
        );
    }
}

#[test]
fn dot_product_variance_is_d_k_and_one_after_scaling() {
    let d = demo();
    let dims: Vec<usize> = d.dot_variance.iter().map(|v| v.d_k).collect();
    assert_eq!(dims, [4, 8, 16, 32, 64, 128, 256, 512, 1024]);
    for v in &d.dot_variance {
        // The sample variance of n independent q·k has relative standard error
        // √((2 + 6/d)/n) (DotVariance::ratio_std_error: 0.021 for d = 4, 0.016 for large d at
        // n = 8192). Five standard errors: a correct kernel fails this with probability < 1e-6
        // per width, a wrong scale (e.g. Var = d/2 or 2d, or a missing 1/√d) cannot pass.
        let tol = 5.0 * v.ratio_std_error();
        assert!(
            (v.ratio() - 1.0).abs() < tol,
            "d_k {}: Var/d_k = {} ± {tol}",
            v.d_k,
            v.ratio()
        );
        assert!(
            (v.var_scaled - 1.0).abs() < tol,
            "d_k {}: {}",
            v.d_k,
            v.var_scaled
        );
        assert!((v.var_scaled - v.ratio()).abs() < 1e-9 * v.ratio());
        assert_eq!(v.samples, 8192);
    }
    // NumPy on the same stream (`randn(8192, 2, d)` after the notebook's cells): d = 4 gives
    // Var 4.05625295, d = 1024 gives 984.02634.
    assert!((d.dot_variance[0].var - 4.056_252_95).abs() < 1e-6);
    assert!((d.dot_variance[8].var - 984.026_34).abs() < 1e-3);
}

#[test]
fn softmax_curves_are_distributions() {
    let d = demo();
    assert_eq!(d.softmax_x.len(), 100);
    assert_eq!(d.softmax_x[0], -3.0);
    assert_eq!(d.softmax_x[99], 3.0);
    let scales: Vec<f32> = d.softmax_curves.iter().map(|c| c.0).collect();
    assert_eq!(scales, [0.5, 1.0, 2.0, 4.0]);
    let mut last_peak = 0.0;
    for (s, y) in &d.softmax_curves {
        assert!((y.iter().sum::<f32>() - 1.0).abs() < 1e-5, "scale {s}");
        // Larger scales sharpen: the peak at x = 3 grows (panel 4: 0.031, 0.059, 0.114, 0.216).
        assert!(y[99] > last_peak);
        last_peak = y[99];
    }
    assert!((last_peak - 0.216).abs() < 5e-3, "{last_peak}");
}

#[test]
fn bad_configs_are_errors() {
    let bad = SeedConfig {
        heads: 5,
        ..SeedConfig::default()
    };
    assert!(seed::run(&bad).is_err());
    let bad = SeedConfig {
        var_samples: 1,
        ..SeedConfig::default()
    };
    assert!(seed::run(&bad).is_err());
}
