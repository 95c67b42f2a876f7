//! The data caches this CPU reports, read once: the sizes the GEMM's blocking is derived from
//! (`blocking.rs`). Linux's sysfs (`/sys/devices/system/cpu/cpu0/cache/index*/`) gives the
//! level, type and size of each cache of core 0, the same on every x86 and Arm server; where
//! it is missing (other systems, containers that hide it), the sizes of a Zen 4 core (the
//! smaller of the two server cores qkv is tuned on) stand in.

use std::sync::OnceLock;

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
    *C.get_or_init(|| read_sysfs().unwrap_or(Caches::FALLBACK))
}

/// The caches of core 0 from sysfs, `None` when a level is missing or unreadable.
fn read_sysfs() -> Option<Caches> {
    let (mut l1d, mut l2) = (None, None);
    for i in 0..8 {
        let dir = format!("/sys/devices/system/cpu/cpu0/cache/index{i}");
        let read = |f: &str| std::fs::read_to_string(format!("{dir}/{f}")).ok();
        let Some(level) = read("level") else { break };
        let (Some(kind), Some(size)) = (read("type"), read("size")) else {
            continue;
        };
        let size = parse_size(&size)?;
        match (level.trim(), kind.trim()) {
            ("1", "Data") => l1d = Some(size),
            ("2", "Unified" | "Data") => l2 = Some(size),
            _ => {}
        }
    }
    Some(Caches { l1d: l1d?, l2: l2? })
}

/// `"32K"`, `"1024K"`, `"2M"`, `"512"` → bytes.
fn parse_size(s: &str) -> Option<usize> {
    let s = s.trim();
    let (num, mult) = match s.as_bytes().last()? {
        b'K' | b'k' => (&s[..s.len() - 1], 1 << 10),
        b'M' | b'm' => (&s[..s.len() - 1], 1 << 20),
        b'G' | b'g' => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    num.trim().parse::<usize>().ok()?.checked_mul(mult)
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
        assert_eq!(parse_size("x"), None);
        assert_eq!(parse_size(""), None);
    }

    #[test]
    fn caches_are_plausible() {
        let c = caches();
        assert!((8 << 10..=1 << 20).contains(&c.l1d), "{c:?}");
        assert!((128 << 10..=64 << 20).contains(&c.l2), "{c:?}");
    }
}
