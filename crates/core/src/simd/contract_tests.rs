//! The default `load_partial`/`store_partial` (used by every token but AVX-512) check
//! `n ≤ LANES` for real: a bad `n` panics instead of overrunning their stack buffer.

use super::portable::Portable;
use super::scalar::Scalar;
use super::{Simd, SimdOp};

#[test]
#[should_panic(expected = "load_partial: n = 2 > LANES")]
fn scalar_load_partial_rejects_n_above_lanes() {
    let x = [1.0f32, 2.0];
    // SAFETY: `x` holds the 2 values asked for; only `n ≤ LANES` is broken, on purpose.
    let _ = unsafe { Scalar.load_partial(x.as_ptr(), 2, 0.0) };
}

#[test]
#[should_panic(expected = "store_partial: n = 9 > LANES")]
fn portable_store_partial_rejects_n_above_lanes() {
    let mut x = [0.0f32; 9];
    // SAFETY: `x` holds the 9 values asked for; only `n ≤ LANES` is broken, on purpose.
    unsafe { Portable.store_partial(x.as_mut_ptr(), 9, Portable.splat(1.0)) };
}

#[test]
#[should_panic(expected = "load_partial: n = 17 > LANES")]
fn load_partial_never_copies_past_its_buffer() {
    // 17 values would overflow the 16-float buffer if the check were a debug_assert
    // compiled out; the real check panics first.
    let x = [0.0f32; 17];
    // SAFETY: `x` holds the 17 values asked for; only `n ≤ LANES` is broken, on purpose.
    let _ = unsafe { Portable.load_partial(x.as_ptr(), 17, 0.0) };
}

/// `n = LANES` (allowed) is a full access and `n = 1` touches one value, on every ISA.
struct FullAndOne;

impl SimdOp for FullAndOne {
    type Output = ();
    #[inline(always)]
    fn run<S: Simd>(self, s: S) {
        let x: Vec<f32> = (0..S::LANES).map(|i| i as f32 + 0.5).collect();
        let mut y = vec![0.0f32; S::LANES];
        // SAFETY: `x` and `y` hold LANES values, and n = LANES is allowed.
        unsafe {
            let v = s.load_partial(x.as_ptr(), S::LANES, -1.0);
            s.store_partial(y.as_mut_ptr(), S::LANES, v)
        };
        assert_eq!(x, y, "{}", std::any::type_name::<S>());
        let mut z = vec![7.0f32; S::LANES];
        // SAFETY: as above, with n = 1 ≤ LANES.
        unsafe {
            let v = s.load_partial(x.as_ptr(), 1, -1.0);
            s.store_partial(z.as_mut_ptr(), 1, v)
        };
        assert_eq!(z[0], x[0], "{}", std::any::type_name::<S>());
        assert!(
            z[1..].iter().all(|&v| v == 7.0),
            "{}: wrote past n",
            std::any::type_name::<S>()
        );
    }
}

#[test]
fn partial_access_with_n_equal_to_lanes_is_a_full_access() {
    for isa in crate::Isa::available() {
        crate::isa::dispatch(isa, FullAndOne);
    }
}
