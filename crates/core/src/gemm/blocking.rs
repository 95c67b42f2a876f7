//! Cache-blocking constants (BLIS naming), from the caches this CPU reports (`crate::cache`).
//!
//! Zen 4: 32 KiB L1d and 1 MiB L2 per core; Sapphire Rapids: 48 KiB and 2 MiB; both with a
//! shared L3 of tens of MiB. KC and NC are fixed (KC is part of the layout of a
//! [`PackedMatrix`](super::PackedMatrix), packed once at load time); MC follows the L2.

use crate::cache::caches;
use crate::mat::MatRef;
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

/// Whether the general GEMM reads a row-major B (`[K, N]`, N contiguous, row stride `ld`)
/// where it lies instead of packing it: each k step of the microkernel then loads its NR
/// columns from row `pc + p` of B. Packing costs a read and a write of all of B per call, and
/// repays itself only over many row panels; a B panel read in place is reread from the cache
/// by each of the ⌈M/MR⌉ row panels, which is as cheap as the packed panel unless its rows,
/// `ld·4` bytes apart, crowd into a few cache sets (a stride of 8 KiB or more: 2 or 3 of the
/// 64 L1 sets per row and the same few L2 sets for all KC rows). Measured on Zen 4 (thread CPU
/// time, 1 thread, docs/benchmarks.md): in place was 1.3–3.8× faster for M ≤ 16 at every N,
/// 1.0–1.9× for M ≤ 256 with N ≤ 1536 and M = 512 with N ≤ 384, and 3–18 % slower with
/// N = 3072 from M = 37 and with N = 1536 at M = 512 and beyond.
pub(crate) fn b_in_place(b: MatRef, m: usize) -> bool {
    let ld = b.row_stride();
    b.col_stride() == 1 && (m <= 16 || (m <= 256 && ld < 2048) || (m <= 512 && ld <= 1024))
}

/// Whether the microkernel reads a row-major A where it lies instead of packing Ã: with a few
/// rows (one to a few sentences per pass) the pack is a serial step before every product,
/// and at 2 threads it reads rows the other core just wrote (the last product's C), which
/// took 14 % of a 15-token MiniLM pass on the calling thread (Zen 4, `perf`). Up to 256 rows
/// the tile reads its 8 rows from L1/L2 as fast as a packed panel (MiniLM in passes of 4 and 8
/// sentences, 1 thread: 2–3 % faster; the 32-sentence batch level); rows a multiple of 4 KiB
/// apart would all fall into one L1 set, so those are packed.
pub(crate) fn a_in_place(a: MatRef) -> bool {
    a.col_stride() == 1 && a.rows() <= A_IN_PLACE_MAX_M && !a.row_stride().is_multiple_of(1024)
}

/// Up to this many rows, a row-major A is read in place by the microkernel instead of packed
/// (unless its rows are a multiple of 4 KiB apart).
pub const A_IN_PLACE_MAX_M: usize = 256;

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

    #[test]
    fn a_few_rows_of_a_row_major_a_are_read_in_place() {
        let data = vec![0.0f32; 300 * 3072];
        let a = |m: usize, k: usize| MatRef::new(&data[..m * k], m, k).unwrap();
        assert!(a_in_place(a(15, 384)) && a_in_place(a(256, 1536)));
        assert!(!a_in_place(a(257, 384)), "many rows are packed");
        assert!(
            !a_in_place(a(15, 3072)),
            "rows 12 KiB apart share an L1 set"
        );
        assert!(!a_in_place(a(15, 384).t()), "a column-major A is packed");
    }

    #[test]
    fn row_major_b_is_read_in_place_for_small_m() {
        let data = vec![0.0f32; 64 * 3072];
        let b = |n: usize| MatRef::new(&data, 64, n).unwrap();
        assert!(b_in_place(b(3072), 16));
        assert!(!b_in_place(b(3072), 37));
        assert!(b_in_place(b(1536), 256) && !b_in_place(b(1536), 512));
        assert!(b_in_place(b(384), 512) && !b_in_place(b(384), 513));
        assert!(!b_in_place(b(64).t(), 1), "a column-major B is packed");
    }
}
