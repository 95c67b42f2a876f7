//! Kernel selection for the attention microkernels: which ISAs and head widths take them, the
//! register tiles of each (chosen from the vector width and register count), and the
//! dispatcher that runs a task inside the ISA's `#[target_feature]` shim.
//!
//! Dependencies run one way: `schedule` → this file → `scores`, `pv` → `simd`.
//!
//! Register tiles (`MR·NB` and `NK·QA` accumulators, FMA latency 4 on both 2-pipe CPUs we
//! target, so ≥ 8 independent accumulators keep the pipes busy):
//!
//! | ISA | query block `BQ` | Sᵀ tile `NK × QA·L` | P·V tile `MR × NB·L` per d_head |
//! |---|---|---|---|
//! | AVX-512 (32 zmm) | 64 | 6 keys × 64 queries: 24 acc + 4 Q̃ᵀ | 32: 8×32, 64: 4×64, 96: 4×96, 128: 2×128 (16–24 acc + NB V rows) |
//! | AVX2 (16 ymm) | 48 | 6 keys × 16 queries: 12 acc + 2 Q̃ᵀ + 1 broadcast | 6×16 on every d_head, in column chunks (12 acc + 2 V + 1 broadcast) |
//!
//! `BQ` divides by every `MR` of its ISA and by `QA·L`, so tiles never straddle a query block.
//! The portable and scalar tokens keep the GEMM-tile path (`blocked.rs`).

#[cfg(target_arch = "x86_64")]
use super::pack::pack_qt_avx;
use super::pack::pack_qt_scalar;
use super::pv::{pv_tile, PvArgs};
use super::scores::{scores_tile, ScoreArgs};
use crate::gemm::kernel::TileShape;
use crate::isa::{define_dispatch, Isa};
use crate::simd::Simd;

/// Head widths with attention microkernels.
pub(super) const FAST_D_HEADS: [usize; 4] = [32, 64, 96, 128];

/// An ISA token with (or without) attention microkernels. Every token implements it; those
/// without kernels say so with `FAST = false` and are never asked to run one.
pub(super) trait AttnTiles: TileShape {
    /// Whether this token has the microkernels.
    const FAST: bool;
    /// Queries per block (a multiple of `QA·LANES` and of every `MR` below).
    const BQ: usize;
    /// Keys per Sᵀ tile.
    const NK: usize;
    /// Query vectors per Sᵀ tile.
    const QA: usize;

    /// `(MR, columns)` of the P·V tile for head width `D` (`columns` divides `D`).
    fn pv_shape<const D: usize>() -> (usize, usize);

    /// One Sᵀ tile ([`scores_tile`] with this token's `NK` keys and `qv` query vectors,
    /// `1 ≤ qv ≤ QA`: a query block shorter than the tile (a sentence of 18 tokens in a block
    /// of 64) computes only the vectors that hold its queries).
    ///
    /// # Safety
    /// As for [`scores_tile`] with `QA = qv`.
    unsafe fn scores(self, a: &ScoreArgs, qv: usize);

    /// One P·V tile ([`pv_tile`] with this token's shape for `D`).
    ///
    /// # Safety
    /// As for [`pv_tile`].
    unsafe fn pv<const D: usize>(self, a: &PvArgs);

    /// Pass 0, the query block transposed and scaled ([`pack_qt_scalar`] or its AVX form).
    fn pack_qt(
        self,
        q: &[f32],
        rs: usize,
        shape: (usize, usize),
        c: f32,
        qt: &mut [f32],
        qts: usize,
    );
}

/// Implements [`AttnTiles`] for a token with microkernels: block, Sᵀ tile, and one
/// `(d_head, MR, NB)` per head width (other widths: the last arm's shape in column chunks).
macro_rules! attn_tiles {
    ($token:ty, bq: $bq:literal, scores: ($nk:literal, $qa:literal),
     pv: [$(($d:literal, $mr:literal, $nb:literal)),*], other: ($omr:literal, $onb:literal)) => {
        impl AttnTiles for $token {
            const FAST: bool = true;
            const BQ: usize = $bq;
            const NK: usize = $nk;
            const QA: usize = $qa;

            #[inline(always)]
            fn pv_shape<const D: usize>() -> (usize, usize) {
                match D {
                    $($d => ($mr, $nb * <$token as Simd>::LANES),)*
                    _ => ($omr, $onb * <$token as Simd>::LANES),
                }
            }

            #[inline(always)]
            unsafe fn scores(self, a: &ScoreArgs, qv: usize) {
                // SAFETY: forwarded from the caller's contract (with QA = qv).
                unsafe {
                    match qv {
                        1 if $qa > 1 => scores_tile::<$token, $nk, 1>(self, a),
                        2 if $qa > 2 => scores_tile::<$token, $nk, 2>(self, a),
                        3 if $qa > 3 => scores_tile::<$token, $nk, 3>(self, a),
                        _ => scores_tile::<$token, $nk, $qa>(self, a),
                    }
                }
            }

            #[inline(always)]
            unsafe fn pv<const D: usize>(self, a: &PvArgs) {
                // `D` is a constant: the match folds to one instantiation.
                match D {
                    // SAFETY: forwarded from the caller's contract.
                    $($d => unsafe { pv_tile::<$token, $mr, $nb>(self, a) },)*
                    // SAFETY: forwarded from the caller's contract.
                    _ => unsafe { pv_tile::<$token, $omr, $onb>(self, a) },
                }
            }

            #[inline(always)]
            fn pack_qt(
                self,
                q: &[f32],
                rs: usize,
                shape: (usize, usize),
                c: f32,
                qt: &mut [f32],
                qts: usize,
            ) {
                // SAFETY: this token exists only on CPUs with AVX2 (hence AVX).
                unsafe { pack_qt_avx(q, rs, shape, c, qt, qts) }
            }
        }
    };
}

/// Implements [`AttnTiles`] for a token that keeps the GEMM-tile path.
macro_rules! no_attn_tiles {
    ($token:ty) => {
        impl AttnTiles for $token {
            const FAST: bool = false;
            const BQ: usize = 48;
            const NK: usize = 4;
            const QA: usize = 1;
            fn pv_shape<const D: usize>() -> (usize, usize) {
                (4, <$token as Simd>::LANES)
            }
            // Never called (`FAST = false`); correct all the same, with the smallest tiles.
            unsafe fn scores(self, a: &ScoreArgs, _qv: usize) {
                // SAFETY: forwarded from the caller's contract.
                unsafe { scores_tile::<$token, 4, 1>(self, a) }
            }
            unsafe fn pv<const D: usize>(self, a: &PvArgs) {
                // SAFETY: forwarded from the caller's contract.
                unsafe { pv_tile::<$token, 4, 1>(self, a) }
            }
            fn pack_qt(
                self,
                q: &[f32],
                rs: usize,
                shape: (usize, usize),
                c: f32,
                qt: &mut [f32],
                qts: usize,
            ) {
                pack_qt_scalar(q, rs, shape, c, qt, qts)
            }
        }
    };
}

// AVX-512: BQ 64 covers the benchmark lengths 128/512/4096 without padding; the Sᵀ tile is
// 6 keys × 4 vectors (24 accumulators, 4 Q̃ᵀ loads and 6 embedded broadcasts per step).
#[cfg(target_arch = "x86_64")]
attn_tiles!(crate::simd::x86::Avx512, bq: 64, scores: (6, 4),
    pv: [(32, 8, 2), (64, 4, 4), (96, 4, 6), (128, 2, 8)], other: (4, 1));
// AVX2: 16 registers. The Sᵀ tile is 6 keys × 2 vectors (12 accumulators); P·V is the
// Haswell 6×16 tile over column chunks of 16.
#[cfg(target_arch = "x86_64")]
attn_tiles!(crate::simd::x86::Avx2, bq: 48, scores: (6, 2), pv: [], other: (6, 2));
no_attn_tiles!(crate::simd::portable::Portable);
no_attn_tiles!(crate::simd::scalar::Scalar);

/// An attention computation generic over a token with [`AttnTiles`], run by [`dispatch_attn`].
pub(super) trait AttnOp {
    type Output;
    fn run<S: AttnTiles>(self, s: S) -> Self::Output;
}

define_dispatch! {
    /// Runs an [`AttnOp`] with the token of `isa`, compiled for that instruction set.
    pub(super) fn dispatch_attn<Op: AttnOp>
}

/// Whether `isa` runs attention of head width `d` on the microkernels, and its query block.
pub(super) fn fast_block(isa: Isa, d: usize) -> Option<usize> {
    struct Probe(usize);
    impl AttnOp for Probe {
        type Output = Option<usize>;
        fn run<S: AttnTiles>(self, _: S) -> Option<usize> {
            (S::FAST && FAST_D_HEADS.contains(&self.0)).then_some(S::BQ)
        }
    }
    dispatch_attn(isa, Probe(d))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every query block splits into whole Sᵀ and P·V tiles, and every P·V tile into whole
    /// vectors of a head width.
    #[test]
    fn tiles_divide_the_block() {
        fn check<S: AttnTiles>() {
            assert_eq!(S::BQ % (S::QA * S::LANES), 0);
            for (mr, cols) in [
                S::pv_shape::<32>(),
                S::pv_shape::<64>(),
                S::pv_shape::<96>(),
                S::pv_shape::<128>(),
            ] {
                assert!(mr <= 16, "fused.rs pads its scratch for MR ≤ 16");
                assert_eq!(cols % S::LANES, 0);
            }
            assert_eq!(32 % S::pv_shape::<32>().1, 0);
            assert_eq!(64 % S::pv_shape::<64>().1, 0);
            assert_eq!(96 % S::pv_shape::<96>().1, 0);
            assert_eq!(128 % S::pv_shape::<128>().1, 0);
        }
        #[cfg(target_arch = "x86_64")]
        {
            check::<crate::simd::x86::Avx512>();
            check::<crate::simd::x86::Avx2>();
        }
        check::<crate::simd::portable::Portable>();
        check::<crate::simd::scalar::Scalar>();
    }
}
