//! LayerNorm over the last dimension, in place, plain and fused with a residual add (the
//! post-norm encoder's `x ← LN(x + residual)`).
//!
//! `y = (x − mean)·(γ/√(var + ε)) + β`, biased variance (÷ cols) as PyTorch. Two passes:
//! the mean, then `Σ(x − mean)²`, never `E[x²] − E[x]²`, which cancels catastrophically on
//! inputs like `1e4 + noise`. The two-pass sums are refined by the corrected two-pass algorithm
//! (Chan, Golub & LeVeque 1983): the f32 mean `m` is off by up to half an ULP of the data's
//! magnitude, so pass 2 also sums `d = x − m`, and `c = Σd/n` corrects both the centering
//! (`x − m − c`) and the variance (`(Σd² − c·Σd)/n`). See `docs/numerics.md`.

use super::rows::{check_rows, for_row_chunks};
use crate::error::{invalid, shape_mismatch, Result};
use crate::isa::{dispatch, Isa};
use crate::simd::{Simd, SimdOp};

/// LayerNorm of every row of a row-major `[rows, cols]` matrix, in place, on [`Isa::active`].
///
/// `gamma` and `beta` have `cols` elements; `eps` must be finite and ≥ 0.
///
/// ```
/// let mut x = [1.0, 2.0, 3.0, 4.0];
/// qkv_core::ops::layernorm::layer_norm(&mut x, 1, 4, &[1.0; 4], &[0.0; 4], 0.0)?;
/// let var = x.iter().map(|v| v * v).sum::<f32>() / 4.0;
/// assert!((var - 1.0).abs() < 1e-6);
/// # Ok::<(), qkv_core::Error>(())
/// ```
pub fn layer_norm(
    x: &mut [f32],
    rows: usize,
    cols: usize,
    gamma: &[f32],
    beta: &[f32],
    eps: f32,
) -> Result<()> {
    layer_norm_with_isa(x, rows, cols, gamma, beta, eps, Isa::active())
}

/// [`layer_norm`] on a given instruction set.
pub fn layer_norm_with_isa(
    x: &mut [f32],
    rows: usize,
    cols: usize,
    gamma: &[f32],
    beta: &[f32],
    eps: f32,
    isa: Isa,
) -> Result<()> {
    run("layer_norm", x, None, rows, cols, gamma, beta, eps, isa)
}

/// `x ← LayerNorm(x + residual)` for row-major `[rows, cols]` matrices, on [`Isa::active`].
pub fn add_layer_norm(
    x: &mut [f32],
    residual: &[f32],
    rows: usize,
    cols: usize,
    gamma: &[f32],
    beta: &[f32],
    eps: f32,
) -> Result<()> {
    add_layer_norm_with_isa(x, residual, rows, cols, gamma, beta, eps, Isa::active())
}

/// [`add_layer_norm`] on a given instruction set.
// Eight arguments: the shapes and parameters of `add_layer_norm`, plus the ISA.
#[allow(clippy::too_many_arguments)]
pub fn add_layer_norm_with_isa(
    x: &mut [f32],
    residual: &[f32],
    rows: usize,
    cols: usize,
    gamma: &[f32],
    beta: &[f32],
    eps: f32,
    isa: Isa,
) -> Result<()> {
    check_rows("add_layer_norm", "residual", residual.len(), rows, cols)?;
    run(
        "add_layer_norm",
        x,
        Some(residual),
        rows,
        cols,
        gamma,
        beta,
        eps,
        isa,
    )
}

/// Validates the arguments, then normalizes the rows in parallel.
#[allow(clippy::too_many_arguments)]
fn run(
    op: &'static str,
    x: &mut [f32],
    residual: Option<&[f32]>,
    rows: usize,
    cols: usize,
    gamma: &[f32],
    beta: &[f32],
    eps: f32,
    isa: Isa,
) -> Result<()> {
    check_rows(op, "x", x.len(), rows, cols)?;
    for (name, p) in [("gamma", gamma), ("beta", beta)] {
        if p.len() != cols {
            return Err(shape_mismatch(
                op,
                format!("{name} [{cols}]"),
                format!("{name} [{}]", p.len()),
            ));
        }
    }
    if !(eps >= 0.0 && eps.is_finite()) {
        return Err(invalid(
            op,
            format!("eps must be finite and >= 0, got {eps}"),
        ));
    }
    let isa = isa.check()?;
    for_row_chunks(x, cols, |row0, chunk| {
        let residual = residual.map(|r| &r[row0 * cols..row0 * cols + chunk.len()]);
        dispatch(
            isa,
            LayerNormRows {
                x: chunk,
                residual,
                cols,
                gamma,
                beta,
                eps,
            },
        )
    });
    Ok(())
}

/// LayerNorm of each `cols`-wide row of `x` (after adding `residual`, if any).
struct LayerNormRows<'a> {
    x: &'a mut [f32],
    residual: Option<&'a [f32]>,
    cols: usize,
    gamma: &'a [f32],
    beta: &'a [f32],
    eps: f32,
}

impl SimdOp for LayerNormRows<'_> {
    type Output = ();
    #[inline(always)]
    fn run<S: Simd>(self, s: S) {
        let (c, g, b, eps) = (self.cols, self.gamma, self.beta, self.eps);
        match self.residual {
            None => self
                .x
                .chunks_exact_mut(c)
                .for_each(|row| layer_norm_row(s, row, None, g, b, eps)),
            Some(r) => self
                .x
                .chunks_exact_mut(c)
                .zip(r.chunks_exact(c))
                .for_each(|(row, res)| layer_norm_row(s, row, Some(res), g, b, eps)),
        }
    }
}

/// `row ← LN(row + residual)` (or `LN(row)`) in place; `residual`, `gamma` and `beta` have the
/// row's length (checked by the callers).
#[inline(always)]
pub(crate) fn layer_norm_row<S: Simd>(
    s: S,
    row: &mut [f32],
    residual: Option<&[f32]>,
    gamma: &[f32],
    beta: &[f32],
    eps: f32,
) {
    let n = row.len();
    if n == 0 {
        return;
    }
    assert!(gamma.len() == n && beta.len() == n && residual.is_none_or(|r| r.len() == n));
    // Pass 1: (add the residual and) the mean.
    let sum = match residual {
        None => sum(s, row),
        Some(r) => add_sum(s, row, r),
    };
    let m = sum / n as f32;
    // Pass 2: Σd and Σd² with d = x − m; c = Σd/n corrects m's rounding.
    let (sd, sd2) = centered_sums(s, row, m);
    let c = sd / n as f32;
    let var = (sd2 - c * sd) / n as f32;
    // Rounding can leave a tiny negative on a constant row; `f32::max` would also eat a NaN.
    let var = if var < 0.0 { 0.0 } else { var };
    let rstd = 1.0 / (var + eps).sqrt();
    // Pass 3: y = ((x − m) − c)·(γ·rstd) + β.
    normalize(s, row, m, c, rstd, gamma, beta);
}

/// Σx, lane-wise in row order, reduced in a fixed order.
#[inline(always)]
fn sum<S: Simd>(s: S, x: &[f32]) -> f32 {
    let (l, n) = (S::LANES, x.len());
    let mut acc = s.zero();
    let mut i = 0;
    while i + l <= n {
        // SAFETY: i + LANES ≤ n.
        acc = s.add(acc, unsafe { s.load(x.as_ptr().add(i)) });
        i += l;
    }
    if i < n {
        // SAFETY: n − i < LANES readable values; padding 0 adds nothing.
        acc = s.add(acc, unsafe {
            s.load_partial(x.as_ptr().add(i), n - i, 0.0)
        });
    }
    s.reduce_sum(acc)
}

/// `x ← x + r` and Σx, as [`sum`]; `r` has `x`'s length.
#[inline(always)]
fn add_sum<S: Simd>(s: S, x: &mut [f32], r: &[f32]) -> f32 {
    let (l, n) = (S::LANES, x.len());
    let mut acc = s.zero();
    let mut i = 0;
    while i + l <= n {
        // SAFETY: i + LANES ≤ n = r.len().
        unsafe {
            let p = x.as_mut_ptr().add(i);
            let v = s.add(s.load(p), s.load(r.as_ptr().add(i)));
            s.store(p, v);
            acc = s.add(acc, v);
        }
        i += l;
    }
    if i < n {
        // SAFETY: n − i < LANES values remain in both; padding 0 + 0 adds nothing.
        unsafe {
            let p = x.as_mut_ptr().add(i);
            let v = s.add(
                s.load_partial(p, n - i, 0.0),
                s.load_partial(r.as_ptr().add(i), n - i, 0.0),
            );
            s.store_partial(p, n - i, v);
            acc = s.add(acc, v);
        }
    }
    s.reduce_sum(acc)
}

/// (Σd, Σd²) with `d = x − m`.
#[inline(always)]
fn centered_sums<S: Simd>(s: S, x: &[f32], m: f32) -> (f32, f32) {
    let (l, n) = (S::LANES, x.len());
    let vm = s.splat(m);
    let (mut a1, mut a2) = (s.zero(), s.zero());
    let mut i = 0;
    while i + l <= n {
        // SAFETY: i + LANES ≤ n.
        let d = s.sub(unsafe { s.load(x.as_ptr().add(i)) }, vm);
        a1 = s.add(a1, d);
        a2 = s.mul_add(d, d, a2);
        i += l;
    }
    if i < n {
        // SAFETY: n − i < LANES readable values; padding with m gives d = 0.
        let d = s.sub(unsafe { s.load_partial(x.as_ptr().add(i), n - i, m) }, vm);
        a1 = s.add(a1, d);
        a2 = s.mul_add(d, d, a2);
    }
    (s.reduce_sum(a1), s.reduce_sum(a2))
}

/// `x ← ((x − m) − c)·(γ·rstd) + β`.
#[inline(always)]
fn normalize<S: Simd>(s: S, x: &mut [f32], m: f32, c: f32, rstd: f32, gamma: &[f32], beta: &[f32]) {
    let (l, n) = (S::LANES, x.len());
    let (vm, vc, vr) = (s.splat(m), s.splat(c), s.splat(rstd));
    let f = |v: S::V, g: S::V, b: S::V| s.mul_add(s.sub(s.sub(v, vm), vc), s.mul(g, vr), b);
    let mut i = 0;
    while i + l <= n {
        // SAFETY: i + LANES ≤ n = gamma.len() = beta.len().
        unsafe {
            let p = x.as_mut_ptr().add(i);
            let y = f(
                s.load(p),
                s.load(gamma.as_ptr().add(i)),
                s.load(beta.as_ptr().add(i)),
            );
            s.store(p, y);
        }
        i += l;
    }
    if i < n {
        // SAFETY: n − i < LANES values remain in x, gamma and beta.
        unsafe {
            let p = x.as_mut_ptr().add(i);
            let g = s.load_partial(gamma.as_ptr().add(i), n - i, 0.0);
            let b = s.load_partial(beta.as_ptr().add(i), n - i, 0.0);
            s.store_partial(p, n - i, f(s.load_partial(p, n - i, 0.0), g, b));
        }
    }
}
