//! The portable path: `wide::f32x8`, which compiles to NEON on aarch64 and to SSE2 pairs on a
//! baseline x86-64 build. `wide` picks its instructions at compile time, so this path is the one
//! for CPUs without a run-time-detected kernel.

use super::Simd;
use wide::{f32x8, i32x8, CmpLt};

/// Portable token, always available.
#[derive(Clone, Copy, Debug, Default)]
pub struct Portable;

impl Simd for Portable {
    type V = f32x8;
    const LANES: usize = 8;

    #[inline(always)]
    fn splat(self, x: f32) -> f32x8 {
        f32x8::splat(x)
    }
    #[inline(always)]
    unsafe fn load(self, p: *const f32) -> f32x8 {
        // SAFETY: the caller guarantees 8 readable f32; f32x8 has no validity invariants.
        unsafe { (p as *const [f32; 8]).read_unaligned() }.into()
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32, v: f32x8) {
        // SAFETY: the caller guarantees 8 writable f32.
        unsafe { (p as *mut [f32; 8]).write_unaligned(v.to_array()) }
    }
    #[inline(always)]
    fn add(self, a: f32x8, b: f32x8) -> f32x8 {
        a + b
    }
    #[inline(always)]
    fn sub(self, a: f32x8, b: f32x8) -> f32x8 {
        a - b
    }
    #[inline(always)]
    fn mul(self, a: f32x8, b: f32x8) -> f32x8 {
        a * b
    }
    #[inline(always)]
    fn div(self, a: f32x8, b: f32x8) -> f32x8 {
        a / b
    }
    #[inline(always)]
    fn mul_add(self, a: f32x8, b: f32x8, c: f32x8) -> f32x8 {
        a.mul_add(b, c)
    }
    #[inline(always)]
    fn max(self, a: f32x8, b: f32x8) -> f32x8 {
        // a > b ? a : b, so NaN in either operand yields b.
        b.cmp_lt(a).blend(a, b)
    }
    #[inline(always)]
    fn min(self, a: f32x8, b: f32x8) -> f32x8 {
        a.cmp_lt(b).blend(a, b)
    }
    #[inline(always)]
    fn round(self, a: f32x8) -> f32x8 {
        a.round()
    }
    #[inline(always)]
    fn pow2i(self, n: f32x8) -> f32x8 {
        let bits = (n.round_int() + i32x8::splat(127)) << 23;
        bytemuck::cast(bits)
    }
    #[inline(always)]
    fn select_lt(self, a: f32x8, b: f32x8, t: f32x8, f: f32x8) -> f32x8 {
        a.cmp_lt(b).blend(t, f)
    }
    #[inline(always)]
    fn abs(self, a: f32x8) -> f32x8 {
        a.abs()
    }
    #[inline(always)]
    fn reduce_sum(self, a: f32x8) -> f32 {
        let v = a.to_array();
        ((v[0] + v[4]) + (v[1] + v[5])) + ((v[2] + v[6]) + (v[3] + v[7]))
    }
    #[inline(always)]
    fn reduce_max(self, a: f32x8) -> f32 {
        a.to_array()
            .into_iter()
            .fold(f32::NEG_INFINITY, |m, x| m.max(x))
    }
}
