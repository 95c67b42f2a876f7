//! Cache-blocking constants (BLIS naming), from this family of CPUs' caches:
//! 32–48 KiB L1d and 1–2 MiB L2 per core, a shared L3 of tens of MiB.

/// Depth of one K block. The B micro-panel (`KC·NR·4` = 48 KiB for AVX-512) and the A
/// micro-panel (`KC·MR·4` = 8 KiB) stream from L2 at < 10 B/cycle, far below its bandwidth,
/// and 256 steps amortize the write-out of the tile (24 stores per 6144 FMA cycles).
pub const KC: usize = 384;

/// Rows of A per packed block: `MC·KC·4` = 216 KiB stays in L2 beside the B micro-panels.
/// A multiple of every MR (8, 6, 4) so blocks split only at tile boundaries.
pub const MC: usize = 144;

/// Columns of B per packed block: `KC·NC·4` = 4.5 MiB lives in L3. A multiple of every NR
/// (48, 16, 8, 4).
pub const NC: usize = 3072;

/// Below this many flops (2·M·N·K) a product runs on one thread: rayon's fork/join costs
/// more than the work it would split (≈ 10 µs of FMA time on one core).
pub const PARALLEL_MIN_FLOPS: usize = 1 << 21;
