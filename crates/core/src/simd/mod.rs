//! A small SIMD vocabulary, implemented once per instruction set.
//!
//! Kernels are written once, generic over [`Simd`], and marked `#[inline(always)]`. They are
//! entered through [`crate::isa::dispatch`], which calls them inside a `#[target_feature]` shim,
//! so LLVM compiles each kernel body with the instructions of the token it was given.
//!
//! A token (`Avx512`, `Avx2`, `Portable`, `Scalar`) is a zero-sized value that can only be made
//! when the CPU supports its instruction set; holding one is the proof that calling its
//! intrinsics is sound.

pub mod math;
pub mod portable;
pub mod scalar;
#[cfg(target_arch = "x86_64")]
pub mod x86;

/// Vector operations on `LANES` f32 lanes. All methods are `#[inline(always)]` in every
/// implementation so they melt into the calling kernel.
///
/// `max(a, b)` and `min(a, b)` follow the x86 rule: when either operand is NaN, `b` is returned.
/// Kernels order their operands with that in mind (the data goes second) so NaN propagates.
pub trait Simd: Copy + Send + Sync + 'static {
    /// One register of `LANES` f32 values.
    type V: Copy;
    /// Number of f32 lanes in [`Simd::V`].
    const LANES: usize;
    /// Short name used in reports (`avx512`, `avx2`, `portable`, `scalar`).
    const NAME: &'static str;

    /// All lanes set to `x`.
    fn splat(self, x: f32) -> Self::V;
    /// All lanes zero.
    fn zero(self) -> Self::V {
        self.splat(0.0)
    }
    /// Loads `LANES` values.
    ///
    /// # Safety
    /// `p` must be valid for reading `LANES` f32 (no alignment needed).
    unsafe fn load(self, p: *const f32) -> Self::V;
    /// Stores `LANES` values.
    ///
    /// # Safety
    /// `p` must be valid for writing `LANES` f32 (no alignment needed).
    unsafe fn store(self, p: *mut f32, v: Self::V);
    /// Broadcasts the f32 at `p`.
    ///
    /// # Safety
    /// `p` must be valid for reading one f32.
    #[inline(always)]
    unsafe fn broadcast(self, p: *const f32) -> Self::V {
        // SAFETY: forwarded from the caller.
        self.splat(unsafe { *p })
    }
    /// `a + b`.
    fn add(self, a: Self::V, b: Self::V) -> Self::V;
    /// `a - b`.
    fn sub(self, a: Self::V, b: Self::V) -> Self::V;
    /// `a * b`.
    fn mul(self, a: Self::V, b: Self::V) -> Self::V;
    /// `a / b`.
    fn div(self, a: Self::V, b: Self::V) -> Self::V;
    /// `a * b + c`, fused where the ISA has FMA.
    fn mul_add(self, a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    /// Lane-wise maximum (`b` when either is NaN).
    fn max(self, a: Self::V, b: Self::V) -> Self::V;
    /// Lane-wise minimum (`b` when either is NaN).
    fn min(self, a: Self::V, b: Self::V) -> Self::V;
    /// Round to nearest integer (ties to even), as a float.
    fn round(self, a: Self::V) -> Self::V;
    /// `2^n` for integral `n` in `[-126, 127]`, built from the exponent bits.
    fn pow2i(self, n: Self::V) -> Self::V;
    /// Lane-wise `if a < b { t } else { f }` (false when either is NaN).
    fn select_lt(self, a: Self::V, b: Self::V, t: Self::V, f: Self::V) -> Self::V;
    /// `|a|`.
    fn abs(self, a: Self::V) -> Self::V;
    /// Sum of all lanes, added in a fixed order.
    fn reduce_sum(self, a: Self::V) -> f32;
    /// Maximum of all lanes.
    fn reduce_max(self, a: Self::V) -> f32;

    /// Hints the cache to fetch the line holding `p` (no effect where unsupported). Any address
    /// is allowed: a prefetch never faults.
    #[inline(always)]
    fn prefetch(self, p: *const f32) {
        let _ = p;
    }

    /// Loads the first `n < LANES` values and fills the rest with `fill`.
    ///
    /// # Safety
    /// `p` must be valid for reading `n` f32.
    #[inline(always)]
    unsafe fn load_partial(self, p: *const f32, n: usize, fill: f32) -> Self::V {
        let mut buf = [fill; 16];
        debug_assert!(n <= Self::LANES && Self::LANES <= 16);
        // SAFETY: the caller guarantees `n` readable values; `buf` holds 16 >= n.
        unsafe { std::ptr::copy_nonoverlapping(p, buf.as_mut_ptr(), n) };
        // SAFETY: `buf` holds 16 >= LANES values.
        unsafe { self.load(buf.as_ptr()) }
    }
    /// Stores the first `n < LANES` lanes of `v`.
    ///
    /// # Safety
    /// `p` must be valid for writing `n` f32.
    #[inline(always)]
    unsafe fn store_partial(self, p: *mut f32, n: usize, v: Self::V) {
        let mut buf = [0.0f32; 16];
        debug_assert!(n <= Self::LANES && Self::LANES <= 16);
        // SAFETY: `buf` holds 16 >= LANES values.
        unsafe { self.store(buf.as_mut_ptr(), v) };
        // SAFETY: the caller guarantees `n` writable values.
        unsafe { std::ptr::copy_nonoverlapping(buf.as_ptr(), p, n) };
    }
}

/// A computation generic over the instruction set, run by [`crate::isa::dispatch`].
pub trait SimdOp {
    /// What the computation returns.
    type Output;
    /// Runs with the given token. Implementations should be `#[inline(always)]`.
    fn run<S: Simd>(self, s: S) -> Self::Output;
}
