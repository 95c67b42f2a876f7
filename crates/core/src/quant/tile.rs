//! The int8 microkernel contract: the tile, the function types every kernel implements, and
//! the write-out they all compute.
//!
//! A microkernel computes one `MR × NR` tile of i32 sums `Σ_k u[i,k]·q[j,k]` from a packed A
//! micro-panel (u8 activations, or i16 on AVX2) and a packed B micro-panel (i8 weights, or i16
//! on AVX2) over the whole (padded) depth, then writes the tile out fused:
//!
//! ```text
//! corr  = acc − zp[i]·colsum[j]                      (exact, i32)
//! v     = f32(corr) · (sa[i] · sw[j])                 (two roundings)
//! v     = β·C[i,j] + v          if β ≠ 0              (C not read when β = 0)
//! v     = v + bias[j]           if a bias is given
//! v     = max(0, v)             if ReLU
//! ```
//!
//! Every implementation performs exactly these f32 operations, unfused (no FMA), so a result
//! does not depend on the ISA, the tile it falls in, or the thread count: the i32 sums are
//! exact and the write-out rounds identically everywhere ([`dequant_one`] is the definition).

/// Largest K the int8 GEMM accepts. Every partial sum is bounded by
/// `K · 255 · 127 = K · 32385` in magnitude (activations u8 ≤ 255, weights |q| ≤ 127, and the
/// compensated sums `Σ (u − zp)·q` with `|u − zp| ≤ 255`), which fits i32 for K ≤ 66311.
pub const MAX_K: usize = 65536;

/// A hook run on each finished row segment of a tile (e.g. GELU), after bias and ReLU.
pub type RowHook<'a> = &'a (dyn Fn(&mut [f32]) + Sync);

/// Per-call constants every tile's write-out needs. Row arrays are padded to whole MR panels
/// and column arrays to whole NR panels, so full-vector loads of them never leave the buffers.
pub(crate) struct Tile {
    /// K groups in a packed panel (`k_pad / kg`).
    pub groups: usize,
    /// C's first element and row stride.
    pub c: *mut f32,
    pub rsc: usize,
    /// Scale of the existing C (0: C is not read).
    pub beta: f32,
    /// Bias per column (length N) or null.
    pub bias: *const f32,
    /// `max(0, x)` after the bias.
    pub relu: bool,
    /// Activation zero point and scale per row (padded to whole MR panels).
    pub zp: *const i32,
    pub sa: *const f32,
    /// Weight column sums and scales per output column (padded to whole NR panels).
    pub colsum: *const i32,
    pub sw: *const f32,
}

// SAFETY: the pointers address buffers that outlive the parallel region of one product (it
// joins before `loops::run` returns); rayon tasks only read through them, except C, where each
// task writes its own disjoint tiles.
unsafe impl Send for Tile {}
// SAFETY: as above.
unsafe impl Sync for Tile {}

/// One tile: `a`/`b` point at the packed micro-panels, `(i, j)` is the tile's origin in C and
/// `mr × nr` the part of it inside C.
///
/// # Safety
/// The kernel's instruction set is available; `a` holds `groups·MR·kg` and `b` `groups·NR·kg`
/// elements of the kernel's types; rows `i..i+mr` and columns `j..j+nr` lie inside C, the row
/// arrays hold `i + MR` and the column arrays `j + NR` values, the bias (if any) `j + nr`.
pub(crate) type TileFn =
    unsafe fn(t: &Tile, a: *const u8, b: *const u8, i: usize, j: usize, mr: usize, nr: usize);

/// Row minimum, maximum and finiteness of `x · inv_smooth` (element-wise when given).
///
/// # Safety
/// The kernel's instruction set is available; `inv_smooth`, when given, has `x.len()` values.
pub(crate) type MinMaxFn = unsafe fn(x: &[f32], inv_smooth: Option<&[f32]>) -> (f32, f32, bool);

/// `out[k] = clamp(round_ties_even(x[k]·inv_smooth[k]·inv) + zp, 0, 255)`.
///
/// # Safety
/// As for [`MinMaxFn`]; `out.len() == x.len()`.
pub(crate) type QuantFn =
    unsafe fn(x: &[f32], inv_smooth: Option<&[f32]>, inv: f32, zp: i32, out: &mut [u8]);

/// [`QuantFn`] fused with the packing: writes the bytes straight into row `r` of an MR-row u8
/// panel with k in groups of 4 (`panel[(g·mr + r)·4 + t]`). Bytes past K inside the last group
/// may be overwritten with any value: the weight panels are zero there.
///
/// # Safety
/// As for [`QuantFn`]; `panel` is valid for `mr · k_padded(x.len())` bytes and `r < mr`.
pub(crate) type QuantPackFn = unsafe fn(
    x: &[f32],
    inv_smooth: Option<&[f32]>,
    inv: f32,
    zp: i32,
    panel: *mut u8,
    r: usize,
    mr: usize,
);

/// The write-out of one element, as every kernel computes it (see the module docs).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn dequant_one(
    acc: i32,
    zp: i32,
    colsum: i32,
    sa: f32,
    sw: f32,
    beta: f32,
    c_old: f32,
    bias: Option<f32>,
    relu: bool,
) -> f32 {
    let corr = acc.wrapping_sub(zp.wrapping_mul(colsum));
    let mut v = corr as f32 * (sa * sw);
    if beta != 0.0 {
        v += beta * c_old;
    }
    if let Some(b) = bias {
        v += b;
    }
    if relu && 0.0 > v {
        v = 0.0;
    }
    v
}
