//! The data caches this CPU reports, read once: the sizes the kernels' blocking is derived from
//! (the GEMM's MC in `gemm/blocking.rs`, the attention microkernels' key blocks in
//! `ops/attention/caches.rs`), never this machine's numbers hard-coded.
//!
//! Linux's sysfs (`/sys/devices/system/cpu/cpu0/cache/index*/`: `level`, `type`, `size`,
//! filled from CPUID by the kernel, also inside VMs) gives the caches of core 0, the same on
//! every x86 and Arm server; where it is missing (other systems, containers that hide it) or
//! unreadable, the sizes of a Zen 4 core (the smaller of the two server cores qkv is tuned on)
//! stand in.

use std::sync::OnceLock;

/// Where Linux lists the caches of core 0.
const SYSFS: &str = "/sys/devices/system/cpu/cpu0/cache";

/// Sizes in bytes of the caches one core sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Caches {
    /// Level-1 data cache (Zen 4: 32 KiB; Sapphire Rapids: 48 KiB).
    pub l1d: usize,
    /// Level-2 cache of one core (Zen 4: 1 MiB; Sapphire Rapids: 2 MiB).
    pub l2: usize,
}

impl Caches {
    /// The stand-in when the system does not say: a Zen 4 core.
    pub const FALLBACK: Caches = Caches {
        l1d: 32 << 10,
        l2: 1 << 20,
    };
}

/// This CPU's caches (read on first call).
pub(crate) fn caches() -> Caches {
    static C: OnceLock<Caches> = OnceLock::new();
    *C.get_or_init(|| read_sysfs(SYSFS).unwrap_or(Caches::FALLBACK))
}

/// The L1d and L2 sizes under `dir` (`index0`, `index1`, …), `None` when a level is missing.
/// Entries that are incomplete or whose size does not parse are passed over.
fn read_sysfs(dir: &str) -> Option<Caches> {
    let (mut l1d, mut l2) = (None, None);
    for i in 0..8 {
        let at = |f: &str| std::fs::read_to_string(format!("{dir}/index{i}/{f}")).ok();
        let (Some(level), Some(kind), Some(size)) = (at("level"), at("type"), at("size")) else {
            continue;
        };
        let Some(bytes) = parse_size(&size) else {
            continue;
        };
        match (level.trim(), kind.trim()) {
            ("1", "Data") => l1d = Some(bytes),
            ("2", "Unified" | "Data") => l2 = Some(bytes),
            _ => {}
        }
    }
    Some(Caches { l1d: l1d?, l2: l2? })
}

/// `"32K"`, `"1024K"`, `"2M"`, `"65536"` → bytes; `None` for anything else and for 0.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_as_sysfs_writes_them() {
        assert_eq!(parse_size("32K\n"), Some(32 << 10));
        assert_eq!(parse_size("1024K"), Some(1 << 20));
        assert_eq!(parse_size("2M"), Some(2 << 20));
        assert_eq!(parse_size("512"), Some(512));
        assert_eq!(parse_size("65536"), Some(65536));
        assert_eq!(parse_size("x"), None);
        assert_eq!(parse_size(""), None);
        assert_eq!(parse_size("K"), None);
        assert_eq!(parse_size("0K"), None);
    }

    #[test]
    fn sysfs_is_read_or_refused() {
        let dir = std::env::temp_dir().join(format!("qkv_caches_{}", std::process::id()));
        let write = |entries: &[(&str, &str, &str)]| {
            std::fs::remove_dir_all(&dir).ok();
            for (i, (level, kind, size)) in entries.iter().enumerate() {
                let d = dir.join(format!("index{i}"));
                std::fs::create_dir_all(&d).unwrap();
                std::fs::write(d.join("level"), level).unwrap();
                std::fs::write(d.join("type"), kind).unwrap();
                std::fs::write(d.join("size"), size).unwrap();
            }
            read_sysfs(dir.to_str().unwrap())
        };
        let spr = write(&[
            ("1", "Data", "48K"),
            ("1", "Instruction", "32K"),
            ("2", "Unified", "2048K"),
            ("3", "Unified", "107520K"),
        ]);
        let no_l2 = write(&[("1", "Data", "48K"), ("1", "Instruction", "32K")]);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            spr,
            Some(Caches {
                l1d: 48 << 10,
                l2: 2 << 20
            })
        );
        assert_eq!(no_l2, None);
        assert_eq!(read_sysfs("/nonexistent/qkv"), None);
    }

    #[test]
    fn caches_are_plausible() {
        let c = caches();
        assert!((8 << 10..=1 << 20).contains(&c.l1d), "{c:?}");
        assert!((128 << 10..=64 << 20).contains(&c.l2), "{c:?}");
    }
}
