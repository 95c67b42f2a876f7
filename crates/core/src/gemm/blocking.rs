//! Cache-blocking constants (BLIS naming), from the caches this CPU reports (`crate::cache`).
//!
//! Zen 4: 32 KiB L1d and 1 MiB L2 per core; Sapphire Rapids: 48 KiB and 2 MiB; both with a
//! shared L3 of tens of MiB. KC and NC are fixed (KC is part of the layout of a
//! [`PackedMatrix`](super::PackedMatrix), packed once at load time); MC follows the L2.

use crate::cache::caches;
use std::sync::OnceLock;

/// Depth of one K block. The B micro-panel (`KC·NR·4` = 72 KiB for AVX-512) streams from L2
/// at < 10 B/cycle on either CPU, far below its bandwidth, the A micro-panel (`KC·MR·4` =
/// 12 KiB) stays in L1, and 384 steps amortize the write-out of the tile (24 stores per 9216
/// FMA cycles on Zen 4).
pub const KC: usize = 384;

/// Rows of A per block when the CPU does not say (`mc()` reads the L2): `MC·KC·4` = 216 KiB.
/// A multiple of every MR (8, 6, 4) so blocks split only at tile boundaries.
pub const MC: usize = 144;

/// Columns of B per packed block: `KC·NC·4` = 4.5 MiB lives in L3. A multiple of every NR
/// (48, 16, 8, 4).
pub const NC: usize = 3072;

/// Below this many flops (2·M·N·K) a product runs on one thread: rayon's fork/join costs
/// more than the work it would split (≈ 10 µs of FMA time on one core).
pub const PARALLEL_MIN_FLOPS: usize = 1 << 21;

/// Below this many packed values (128 KiB) a block of Ã or B̃ is packed on the calling thread:
/// a copy that takes ~10 µs is not worth waking the pool for.
pub const PARALLEL_PACK_MIN: usize = 1 << 15;

/// Rows of A per block on this CPU: the packed Ã block (`mc·KC·4` bytes) is as large as the
/// L2. Inside a block the loops keep one B̃ micro-panel (72 KiB) in L2 while the Ã panels
/// stream past it in order (the prefetchers keep ahead of a linear stream), so a larger block
/// means fewer passes over B̃. Measured on Zen 4 (1 MiB L2, 1 thread, CPU time, 2048³ and
/// 2048×768×3072): mc = 144 → 336 → 672 gave +2–3 % each step, 1008 and 2048 no more. Zen 4
/// gets 672; Sapphire Rapids (2 MiB) 1008, the cap (not measured there). A multiple of 24
/// (every MR) in `[MC, 1008]`.
pub fn mc() -> usize {
    static V: OnceLock<usize> = OnceLock::new();
    *V.get_or_init(|| mc_for_l2(caches().l2))
}

/// [`mc()`] for an L2 of `l2` bytes.
fn mc_for_l2(l2: usize) -> usize {
    (l2 / (KC * 4) / 24 * 24).clamp(MC, 1008)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mc_follows_the_l2() {
        assert_eq!(mc_for_l2(1 << 20), 672); // Zen 4
        assert_eq!(mc_for_l2(2 << 20), 1008); // Sapphire Rapids: the cap
        assert_eq!(mc_for_l2(128 << 10), MC); // small L2: the floor
        assert!(mc().is_multiple_of(24) && (MC..=1008).contains(&mc()));
    }
}
