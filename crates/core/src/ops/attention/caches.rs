//! Cache sizes as the CPU reports them, and the key-block size of the microkernel path chosen
//! from them (never this machine's numbers hard-coded).
//!
//! Linux reports each core's caches in `/sys/devices/system/cpu/cpu0/cache/index*/`
//! (`level`, `type`, `size`, filled from CPUID by the kernel, also inside VMs); elsewhere, or
//! when that is unreadable, the defaults below (the smaller of the x86 cores we target). Read
//! once per process.

use std::sync::OnceLock;

/// Per-core caches, in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Caches {
    /// Level-2 cache (the block sizes below follow it; L1 is too small for a block of keys
    /// and holds the tiles' operands on either CPU).
    pub l2: usize,
}

/// Used when the system does not say: Zen 4's 1 MiB L2 (Sapphire Rapids has 2 MiB).
const DEFAULT: Caches = Caches { l2: 1 << 20 };

/// The caches of this CPU (read once).
pub(super) fn caches() -> Caches {
    static CACHES: OnceLock<Caches> = OnceLock::new();
    *CACHES.get_or_init(|| read_sysfs("/sys/devices/system/cpu/cpu0/cache").unwrap_or(DEFAULT))
}

/// Reads the L2 size under `dir` (`index0`, `index1`, …); `None` if it is missing.
fn read_sysfs(dir: &str) -> Option<Caches> {
    let mut l2 = None;
    for i in 0..8 {
        let at = |f: &str| std::fs::read_to_string(format!("{dir}/index{i}/{f}")).ok();
        let (Some(level), Some(kind), Some(size)) = (at("level"), at("type"), at("size")) else {
            continue;
        };
        let Some(bytes) = parse_size(&size) else {
            continue;
        };
        if level.trim() == "2" && matches!(kind.trim(), "Unified" | "Data") {
            l2 = Some(bytes);
        }
    }
    Some(Caches { l2: l2? })
}

/// `"32K"`, `"2048K"`, `"1M"`, `"65536"` → bytes.
fn parse_size(s: &str) -> Option<usize> {
    let s = s.trim();
    let (num, mult) = match s.as_bytes().last()? {
        b'K' | b'k' => (&s[..s.len() - 1], 1 << 10),
        b'M' | b'm' => (&s[..s.len() - 1], 1 << 20),
        b'G' | b'g' => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    num.trim()
        .parse::<usize>()
        .ok()?
        .checked_mul(mult)
        .filter(|&b| b > 0)
}

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
    fn sizes_parse() {
        assert_eq!(parse_size("32K\n"), Some(32 << 10));
        assert_eq!(parse_size("1024K"), Some(1 << 20));
        assert_eq!(parse_size("2M"), Some(2 << 20));
        assert_eq!(parse_size("65536"), Some(65536));
        assert_eq!(parse_size(""), None);
        assert_eq!(parse_size("K"), None);
        assert_eq!(parse_size("0K"), None);
    }

    #[test]
    fn sysfs_is_read_or_refused() {
        let dir = std::env::temp_dir().join(format!("qkv_caches_{}", std::process::id()));
        for (i, (level, kind, size)) in [
            ("1", "Data", "48K"),
            ("1", "Instruction", "32K"),
            ("2", "Unified", "2048K"),
        ]
        .iter()
        .enumerate()
        {
            let d = dir.join(format!("index{i}"));
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("level"), level).unwrap();
            std::fs::write(d.join("type"), kind).unwrap();
            std::fs::write(d.join("size"), size).unwrap();
        }
        let c = read_sysfs(dir.to_str().unwrap());
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(c, Some(Caches { l2: 2 << 20 }));
        assert_eq!(read_sysfs("/nonexistent/qkv"), None);
    }

    #[test]
    fn key_blocks_follow_l2() {
        let zen4 = Caches { l2: 1 << 20 };
        let spr = Caches { l2: 2 << 20 };
        // 512 KiB / (4·(64 + 128)) = 682 → 672; twice that with 2 MiB.
        assert_eq!(key_block(zen4, 64, 64), 672);
        assert_eq!(key_block(spr, 64, 64), 1360);
        assert_eq!(key_block(Caches { l2: 1 }, 64, 64), 64);
        assert_eq!(balanced_block(4096, 672), 592);
        assert_eq!(balanced_block(512, 672), 512);
        assert_eq!(balanced_block(10, 672), 16);
        assert_eq!(balanced_block(0, 672), 16);
    }
}
