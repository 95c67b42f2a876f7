//! The online softmax of the microkernel path, on a whole Sᵀ block at once (FlashAttention's
//! running max `m` and sum `l`, Milakov & Gimelshein 2018), in base 2: scores arrive
//! multiplied by `log2 e`, so the weights are `2^(s − m)`.
//!
//! Queries are in vector lanes, so every step is lane-wise: the block maximum is a `max`
//! across rows (folded in by the scores kernel), the sum an `add` down the keys, in key order
//! for every lane: the same order whatever the thread count or the query block's position.

use crate::simd::Simd;

/// `2^x` for `x ≤ 0` (and NaN) lane-wise, within 2 ULP of the true value where the result
/// is a normal f32 (0.93 ULP measured with FMA, 1.19 without); `x < −126` gives exactly 0 (so a hidden score, −∞,
/// gets weight 0). NaN propagates. Inputs above 0 are outside the contract (the callers
/// subtract the running maximum first).
///
/// `x = n + r` with `n = round(x)` and `r ∈ [−½, ½]` exact; `2^r` by a degree-6 polynomial
/// (relative-error minimax on [−½, ½], Lawson-reweighted least squares, error 1.0e-7 before
/// rounding); `2^n` from the exponent bits, which for `n = −127` are all zero: exactly 0.
#[inline(always)]
pub(super) fn exp2_nonpos<S: Simd>(s: S, x: S::V) -> S::V {
    const C: [f32; 6] = [
        std::f32::consts::LN_2, // the fit's linear term rounds to ln 2 in f32
        0.240_226_46,
        0.055_503_286,
        0.009_618_489,
        0.001_339_993_1,
        0.000_153_458_11,
    ];
    // Data second so NaN passes through; −127 makes 2^n exactly 0 below.
    let x = s.max(s.splat(-127.0), x);
    let n = s.round(x);
    let r = s.sub(x, n);
    let mut p = s.splat(C[5]);
    p = s.mul_add(p, r, s.splat(C[4]));
    p = s.mul_add(p, r, s.splat(C[3]));
    p = s.mul_add(p, r, s.splat(C[2]));
    p = s.mul_add(p, r, s.splat(C[1]));
    p = s.mul_add(p, r, s.splat(C[0]));
    let y = s.mul_add(p, r, s.splat(1.0));
    s.mul(y, s.pow2i(n))
}

/// The block's running state, one value per query lane (`nv·L` lanes).
pub(super) struct Running<'a> {
    /// Running maximum over the keys seen (base-2 units), −∞ before the first block.
    pub m: &'a mut [f32],
    /// Running sum of `2^(s − m)`.
    pub l: &'a mut [f32],
    /// This block's maximum, from the scores kernel.
    pub mb: &'a [f32],
    /// Out: the factor `2^(m_old − m_new)` for the accumulator of earlier blocks.
    pub corr: &'a mut [f32],
}

/// Pass 2 for one Sᵀ block of `keys` rows at stride `sts`: updates `m` and `l` of the first
/// `nv` query vectors, writes the factor for the accumulator, and leaves
/// `st ← 2^(st − m_new)` (the unnormalized weights).
///
/// A query whose keys are all hidden so far keeps `m = −∞` and `l = 0`; its weights are
/// exactly 0 (the maximum used for it is 0, and 2^(−∞) = 0). A NaN score makes its weight
/// NaN, hence `l` and the query's output NaN.
#[inline(always)]
pub(super) fn exp_block<S: Simd>(
    s: S,
    st: &mut [f32],
    sts: usize,
    keys: usize,
    nv: usize,
    run: Running,
) {
    let l = S::LANES;
    assert!(
        nv * l
            <= run
                .m
                .len()
                .min(run.l.len())
                .min(run.mb.len())
                .min(run.corr.len())
            && (keys == 0 || (keys - 1) * sts + nv * l <= st.len()),
        "exp_block: buffers too short"
    );
    let lowest = s.splat(f32::MIN);
    for t in 0..nv {
        let o = t * l;
        // SAFETY: o + L ≤ nv·L ≤ each state slice's length (asserted).
        let (m_old, mb, l_old) = unsafe {
            (
                s.load(run.m.as_ptr().add(o)),
                s.load(run.mb.as_ptr().add(o)),
                s.load(run.l.as_ptr().add(o)),
            )
        };
        let m_new = s.max(m_old, mb);
        // The maximum the weights are taken against: 0 where nothing is visible yet (−∞).
        let m_use = s.select_lt(m_new, lowest, s.zero(), m_new);
        let corr = exp2_nonpos(s, s.sub(m_old, m_use));
        let mut sum = s.zero();
        let mut p = st.as_mut_ptr().wrapping_add(o);
        for _ in 0..keys {
            // SAFETY: row j < keys of the block: (j·sts + o + L) ≤ st.len() (asserted).
            unsafe {
                let w = exp2_nonpos(s, s.sub(s.load(p), m_use));
                s.store(p, w);
                sum = s.add(sum, w);
            }
            p = p.wrapping_add(sts);
        }
        // SAFETY: as for the loads above.
        unsafe {
            s.store(run.m.as_mut_ptr().add(o), m_new);
            s.store(run.l.as_mut_ptr().add(o), s.mul_add(l_old, corr, sum));
            s.store(run.corr.as_mut_ptr().add(o), corr);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simd::scalar::Scalar;

    /// The worst error of `exp2_nonpos` in ULP over a dense sweep of [−126, 0], on one token.
    struct Sweep;
    impl crate::simd::SimdOp for Sweep {
        type Output = f64;
        fn run<S: Simd>(self, s: S) -> f64 {
            let l = S::LANES;
            let n = 1 << 21;
            let xs: Vec<f32> = (0..n).map(|i| -126.0 * (i as f32 / n as f32)).collect();
            let mut ys = vec![0.0f32; n];
            for (x, y) in xs.chunks_exact(l).zip(ys.chunks_exact_mut(l)) {
                // SAFETY: both chunks hold LANES values.
                unsafe { s.store(y.as_mut_ptr(), exp2_nonpos(s, s.load(x.as_ptr()))) };
            }
            let mut worst = 0.0f64;
            for (&x, &y) in xs.iter().zip(&ys) {
                let t = (x as f64).exp2();
                let ulp = (t as f32).next_up() as f64 - t as f32 as f64;
                worst = worst.max((y as f64 - t).abs() / ulp);
            }
            worst
        }
    }

    /// Within 2 ULP of 2^x (f64) on every ISA; the edges exact.
    #[test]
    fn exp2_nonpos_is_accurate() {
        #[cfg(feature = "internals")]
        let isas = crate::isa::require_tested("exp2_nonpos_is_accurate");
        #[cfg(not(feature = "internals"))]
        let isas = crate::isa::Isa::available();
        for isa in isas {
            let worst = crate::isa::dispatch(isa, Sweep);
            eprintln!("exp2_nonpos {isa}: worst {worst:.3} ULP on [−126, 0]");
            assert!(worst <= 2.0, "exp2_nonpos {isa}: {worst} ULP");
        }
        let s = Scalar;
        assert_eq!(exp2_nonpos(s, 0.0), 1.0);
        assert_eq!(exp2_nonpos(s, -1.0), 0.5);
        assert_eq!(exp2_nonpos(s, f32::NEG_INFINITY), 0.0);
        assert_eq!(exp2_nonpos(s, -127.5), 0.0);
        assert!(exp2_nonpos(s, f32::NAN).is_nan());
    }
}
