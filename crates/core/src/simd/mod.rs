//! A small SIMD vocabulary, implemented once per instruction set.
//!
//! Kernels are written once, generic over [`Simd`], and marked `#[inline(always)]`. They are
//! entered through [`crate::isa::dispatch`], which calls them inside a `#[target_feature]` shim,
//! so LLVM compiles each kernel body with the instructions of the token it was given.
//!
//! A token (`Avx512`, `Avx2`, `Portable`, `Scalar`) is a zero-sized value that can only be made
//! when the CPU supports its instruction set; holding one is the proof that calling its
//! intrinsics is sound.
//!
//! The module is private to the crate, which seals [`Simd`]: these four tokens are the only
//! implementations, so the default methods below may rely on `LANES ≤ 16` (checked at compile
//! time all the same) and no downstream type can meet the written contract while breaking it.

pub(crate) mod math;
pub(crate) mod portable;
pub(crate) mod scalar;
#[cfg(target_arch = "x86_64")]
pub(crate) mod transpose;
#[cfg(target_arch = "x86_64")]
pub(crate) mod x86;

/// Lanes of the widest token (AVX-512): the size of the stack buffer behind the default
/// `load_partial`/`store_partial`.
const PARTIAL_MAX: usize = 16;

/// Vector operations on `LANES` f32 lanes. All methods are `#[inline(always)]` in every
/// implementation so they melt into the calling kernel.
///
/// `max(a, b)` and `min(a, b)` follow the x86 rule: when either operand is NaN, `b` is returned.
/// Kernels order their operands with that in mind (the data goes second) so NaN propagates.
pub(crate) trait Simd: Copy + Send + Sync + 'static {
    /// One register of `LANES` f32 values.
    type V: Copy;
    /// Number of f32 lanes in [`Simd::V`].
    const LANES: usize;

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
    /// `p` must be valid for reading one f32 and aligned to 4 bytes (as every pointer into a
    /// `[f32]` is): implementations read through `&*p`.
    #[inline(always)]
    unsafe fn broadcast(self, p: *const f32) -> Self::V {
        // SAFETY: the caller guarantees a readable, aligned f32 at `p`.
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

    /// Hints that the cache line at `p` will be read soon, into the L2 only (a panel that is
    /// needed after the current one: into L1 it would evict what the kernel is using). Any
    /// address is allowed (a prefetch never faults); a no-op where the ISA has no hint.
    #[inline(always)]
    fn prefetch_l2(self, p: *const f32) {
        let _ = p;
    }

    /// Loads the first `n` values (`n ≤ LANES`; kernels use it for tails, `n < LANES`) and
    /// fills the other lanes with `fill`.
    ///
    /// # Safety
    /// `n ≤ LANES`, and `p` must be valid for reading `n` f32 (no alignment needed). The default
    /// implementation checks `n ≤ LANES` and panics otherwise, never overruns its buffer.
    #[inline(always)]
    unsafe fn load_partial(self, p: *const f32, n: usize, fill: f32) -> Self::V {
        const { assert!(Self::LANES <= PARTIAL_MAX) };
        assert!(n <= Self::LANES, "load_partial: n = {n} > LANES");
        let mut buf = [fill; PARTIAL_MAX];
        // SAFETY: the caller guarantees `n` readable values; `buf` holds PARTIAL_MAX >= LANES
        // >= n (both checked above); the two do not overlap (`buf` is a fresh local).
        unsafe { std::ptr::copy_nonoverlapping(p, buf.as_mut_ptr(), n) };
        // SAFETY: `buf` holds PARTIAL_MAX >= LANES values.
        unsafe { self.load(buf.as_ptr()) }
    }
    /// Stores the first `n` lanes of `v` (`n ≤ LANES`; kernels use it for tails, `n < LANES`).
    ///
    /// # Safety
    /// `n ≤ LANES`, and `p` must be valid for writing `n` f32 (no alignment needed). The
    /// default implementation checks `n ≤ LANES` and panics otherwise, never overruns.
    #[inline(always)]
    unsafe fn store_partial(self, p: *mut f32, n: usize, v: Self::V) {
        const { assert!(Self::LANES <= PARTIAL_MAX) };
        assert!(n <= Self::LANES, "store_partial: n = {n} > LANES");
        let mut buf = [0.0f32; PARTIAL_MAX];
        // SAFETY: `buf` holds PARTIAL_MAX >= LANES values.
        unsafe { self.store(buf.as_mut_ptr(), v) };
        // SAFETY: the caller guarantees `n` writable values; `n <= LANES <= PARTIAL_MAX`
        // values of `buf` are initialized; the two do not overlap.
        unsafe { std::ptr::copy_nonoverlapping(buf.as_ptr(), p, n) };
    }
}

/// A computation generic over the instruction set, run by [`crate::isa::dispatch`].
pub(crate) trait SimdOp {
    /// What the computation returns.
    type Output;
    /// Runs with the given token. Implementations should be `#[inline(always)]`.
    fn run<S: Simd>(self, s: S) -> Self::Output;
}

#[cfg(all(test, feature = "internals"))]
mod math_tests;

#[cfg(test)]
mod contract_tests;
