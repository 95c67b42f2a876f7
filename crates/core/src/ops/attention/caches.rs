//! The key-block size of the microkernel path, chosen from the L2 the CPU reports
//! (`crate::cache`; L1 is too small for a block of keys and holds the tiles' operands on
//! either CPU), never this machine's numbers hard-coded.

use crate::cache::Caches;

/// Keys per block on the microkernel path for query blocks of `bq` rows and head width `d`:
/// the Sᵀ block (`bq` floats per key) and the K and V rows it reads (`2·d` floats per key) fill
/// at most half of L2, so both products and the softmax pass find their operands there. A
/// multiple of 16 (whole vectors), at least 64. Ranges of at most this many keys run in one
/// block, whose accumulator never leaves registers.
pub(super) fn key_block(c: Caches, bq: usize, d: usize) -> usize {
    let per_key = 4 * (bq + 2 * d);
    ((c.l2 / 2) / per_key.max(1) / 16 * 16).clamp(64, 4096)
}

/// `keys` split into blocks of at most `max` keys, as equal as whole vectors allow: the block
/// size to step by.
pub(super) fn balanced_block(keys: usize, max: usize) -> usize {
    let blocks = keys.div_ceil(max.max(1)).max(1);
    (keys.div_ceil(blocks).div_ceil(16) * 16).max(16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_blocks_follow_l2() {
        let zen4 = Caches::FALLBACK;
        let spr = Caches {
            l1d: 48 << 10,
            l2: 2 << 20,
        };
        // 512 KiB / (4·(64 + 128)) = 682 → 672; twice that with 2 MiB.
        assert_eq!(key_block(zen4, 64, 64), 672);
        assert_eq!(key_block(spr, 64, 64), 1360);
        assert_eq!(key_block(Caches { l1d: 1, l2: 1 }, 64, 64), 64);
        assert_eq!(balanced_block(4096, 672), 592);
        assert_eq!(balanced_block(512, 672), 512);
        assert_eq!(balanced_block(10, 672), 16);
        assert_eq!(balanced_block(0, 672), 16);
    }
}
