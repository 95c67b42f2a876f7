//! Activations: ReLU, GELU (exact, erf) and GELU (tanh approximation), with bias-add fused.
//!
//! Accuracy and special values are documented in `docs/numerics.md`: GELU (exact) is within
//! about 1e-7·max(1, |x|) of the true value, NaN propagates through every activation (ReLU
//! included), GELU(−∞) = 0 and GELU(+∞) = +∞.

use super::rows::{check_rows, for_row_chunks};
use crate::error::{shape_mismatch, Result};
use crate::isa::{dispatch, Isa};
use crate::simd::math::{erf, tanh};
use crate::simd::scalar::Scalar;
use crate::simd::{Simd, SimdOp};

/// An elementwise activation, as transformer configs name them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Activation {
    /// No activation.
    #[default]
    Identity,
    /// `max(0, x)`.
    Relu,
    /// Exact GELU, `x·Φ(x) = 0.5·x·(1 + erf(x/√2))` (BERT, PyTorch `gelu`).
    Gelu,
    /// GELU with the tanh approximation (`gelu_new`, `gelu_pytorch_tanh`).
    GeluTanh,
}

impl Activation {
    /// The activation of one value, by the same formulas as the vector kernels (on the scalar
    /// path, which rounds `a·b + c` twice where the SIMD paths fuse it).
    ///
    /// ```
    /// use qkv_core::ops::activation::Activation;
    /// assert_eq!(Activation::Relu.apply_scalar(-2.0), 0.0);
    /// assert!((Activation::Gelu.apply_scalar(1.0) - 0.841_344_7).abs() < 1e-6);
    /// ```
    pub fn apply_scalar(self, x: f32) -> f32 {
        act_vec(Scalar, x, self)
    }
}

/// `x ← act(x)` elementwise, on [`Isa::active`].
pub fn apply(x: &mut [f32], act: Activation) {
    apply_on(x, act, Isa::active());
}

/// [`apply`] on a given instruction set ([`crate::Error::IsaUnavailable`] if this CPU lacks
/// it).
pub fn apply_with_isa(x: &mut [f32], act: Activation, isa: Isa) -> Result<()> {
    apply_on(x, act, isa.check()?);
    Ok(())
}

fn apply_on(x: &mut [f32], act: Activation, isa: Isa) {
    // Rows of one element: the parallel driver then splits the slice anywhere.
    for_row_chunks(x, 1, |_, chunk| {
        let cols = chunk.len();
        dispatch(
            isa,
            ActRows {
                x: chunk,
                cols,
                bias: None,
                act,
            },
        )
    });
}

/// `x[r, c] ← act(x[r, c] + bias[c])` for a row-major `[rows, cols]` matrix, on
/// [`Isa::active`].
///
/// ```
/// use qkv_core::ops::activation::{bias_act, Activation};
/// let mut x = [-1.0, 0.5, 2.0, -3.0];
/// bias_act(&mut x, 2, 2, &[1.0, -1.0], Activation::Relu)?;
/// assert_eq!(x, [0.0, 0.0, 3.0, 0.0]);
/// # Ok::<(), qkv_core::Error>(())
/// ```
pub fn bias_act(
    x: &mut [f32],
    rows: usize,
    cols: usize,
    bias: &[f32],
    act: Activation,
) -> Result<()> {
    bias_act_with_isa(x, rows, cols, bias, act, Isa::active())
}

/// [`bias_act`] on a given instruction set.
pub fn bias_act_with_isa(
    x: &mut [f32],
    rows: usize,
    cols: usize,
    bias: &[f32],
    act: Activation,
    isa: Isa,
) -> Result<()> {
    check_rows("bias_act", "x", x.len(), rows, cols)?;
    if bias.len() != cols {
        return Err(shape_mismatch(
            "bias_act",
            format!("bias [{cols}]"),
            format!("bias [{}]", bias.len()),
        ));
    }
    let isa = isa.check()?;
    for_row_chunks(x, cols, |_, chunk| {
        dispatch(
            isa,
            ActRows {
                x: chunk,
                cols,
                bias: Some(bias),
                act,
            },
        )
    });
    Ok(())
}

/// `act(row + bias)` for each `cols`-wide row of `x`.
struct ActRows<'a> {
    x: &'a mut [f32],
    cols: usize,
    bias: Option<&'a [f32]>,
    act: Activation,
}

impl SimdOp for ActRows<'_> {
    type Output = ();
    #[inline(always)]
    fn run<S: Simd>(self, s: S) {
        for row in self.x.chunks_exact_mut(self.cols) {
            act_row(s, row, self.bias, self.act);
        }
    }
}

/// `row ← act(row + bias)` in place (`bias`, if any, has the row's length), for kernels that
/// apply an activation inside their own dispatched op (e.g. a fused FFN epilogue).
#[inline(always)]
pub(crate) fn act_row<S: Simd>(s: S, row: &mut [f32], bias: Option<&[f32]>, act: Activation) {
    // No closures here: a closure body is compiled without the caller's target features, so
    // its intrinsics would become calls. `act_vec`'s match is loop-invariant (unswitched).
    if act == Activation::Identity && bias.is_none() {
        return;
    }
    map_row(s, row, bias, act)
}

/// `act(v)` on one register, for kernels that hold their data in registers.
#[inline(always)]
pub(crate) fn act_vec<S: Simd>(s: S, v: S::V, act: Activation) -> S::V {
    match act {
        Activation::Identity => v,
        Activation::Relu => relu(s, v),
        Activation::Gelu => gelu(s, v),
        Activation::GeluTanh => gelu_tanh(s, v),
    }
}

/// `row ← act(row + bias)`.
#[inline(always)]
fn map_row<S: Simd>(s: S, row: &mut [f32], bias: Option<&[f32]>, act: Activation) {
    let (l, n) = (S::LANES, row.len());
    let p = row.as_mut_ptr();
    match bias {
        None => {
            let mut i = 0;
            while i + l <= n {
                // SAFETY: i + LANES ≤ n.
                unsafe { s.store(p.add(i), act_vec(s, s.load(p.add(i)), act)) };
                i += l;
            }
            if i < n {
                // SAFETY: n − i < LANES values remain.
                unsafe {
                    s.store_partial(
                        p.add(i),
                        n - i,
                        act_vec(s, s.load_partial(p.add(i), n - i, 0.0), act),
                    )
                };
            }
        }
        Some(b) => {
            assert_eq!(b.len(), n, "bias length");
            let bp = b.as_ptr();
            let mut i = 0;
            while i + l <= n {
                // SAFETY: i + LANES ≤ n = b.len().
                unsafe {
                    s.store(
                        p.add(i),
                        act_vec(s, s.add(s.load(p.add(i)), s.load(bp.add(i))), act),
                    )
                };
                i += l;
            }
            if i < n {
                // SAFETY: n − i < LANES values remain in row and bias.
                unsafe {
                    let v = s.add(
                        s.load_partial(p.add(i), n - i, 0.0),
                        s.load_partial(bp.add(i), n - i, 0.0),
                    );
                    s.store_partial(p.add(i), n - i, act_vec(s, v, act));
                }
            }
        }
    }
}

/// `max(0, x)`; the data goes second so NaN propagates (see [`Simd::max`]).
#[inline(always)]
fn relu<S: Simd>(s: S, x: S::V) -> S::V {
    s.max(s.zero(), x)
}

/// Below this, GELU is returned as 0: it is already exactly 0 in f32 arithmetic for
/// x < −5.6 (erf rounds to −1), and this also maps −∞ to 0 instead of −∞·0 = NaN.
const GELU_ZERO_BELOW: f32 = -10.0;

/// `0.5·x·(1 + erf(x/√2))`, as `h + h·erf` with `h = x/2` (one rounding fewer).
#[inline(always)]
fn gelu<S: Simd>(s: S, x: S::V) -> S::V {
    let h = s.mul(x, s.splat(0.5));
    let y = s.mul_add(
        h,
        erf(s, s.mul(x, s.splat(std::f32::consts::FRAC_1_SQRT_2))),
        h,
    );
    s.select_lt(x, s.splat(GELU_ZERO_BELOW), s.zero(), y)
}

/// `0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))`.
#[inline(always)]
fn gelu_tanh<S: Simd>(s: S, x: S::V) -> S::V {
    // √(2/π) and √(2/π)·0.044715: u = x·(C0 + C1·x²).
    const C0: f32 = 0.797_884_6;
    const C1: f32 = 0.035_677_407;
    let u = s.mul(x, s.mul_add(s.mul(x, x), s.splat(C1), s.splat(C0)));
    let h = s.mul(x, s.splat(0.5));
    let y = s.mul_add(h, tanh(s, u), h);
    s.select_lt(x, s.splat(GELU_ZERO_BELOW), s.zero(), y)
}
