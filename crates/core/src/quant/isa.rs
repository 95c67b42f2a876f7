//! Which int8 microkernel runs: detected once, forcible by environment.
//!
//! The int8 kernels need instructions the f32 [`Isa`] does not name (VNNI), so they have their
//! own small enum. The default follows [`Isa::active`] (so `QKV_ISA=avx2` also keeps the int8
//! path off AVX-512) and takes the best int8 kernel inside that class; `QKV_INT8_ISA=
//! avx512vnni|avxvnni|avx2|scalar` forces one exactly (an unavailable choice falls back to the
//! default with a warning on stderr).

use crate::error::{Error, Result};
use crate::isa::Isa;
use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

/// An instruction set the int8 GEMM has a microkernel for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Int8Isa {
    /// AVX-512 VNNI: `vpdpbusd` on zmm (u8 × i8, four products summed into each i32 lane).
    Avx512Vnni,
    /// AVX-VNNI: the VEX-encoded `vpdpbusd` on ymm (Alder Lake, Zen 5; CPUs without AVX-512).
    AvxVnni,
    /// AVX2: operands widened to i16 at packing time, `vpmaddwd` + `vpaddd` (cannot saturate).
    Avx2,
    /// Plain Rust with i32 accumulators: the portable reference kernel.
    Scalar,
}

impl Int8Isa {
    /// Every int8 kernel, widest first.
    pub const ALL: [Int8Isa; 4] = [
        Int8Isa::Avx512Vnni,
        Int8Isa::AvxVnni,
        Int8Isa::Avx2,
        Int8Isa::Scalar,
    ];

    /// The short name (`avx512vnni`, `avxvnni`, `avx2`, `scalar`).
    pub fn name(self) -> &'static str {
        match self {
            Int8Isa::Avx512Vnni => "avx512vnni",
            Int8Isa::AvxVnni => "avxvnni",
            Int8Isa::Avx2 => "avx2",
            Int8Isa::Scalar => "scalar",
        }
    }

    /// Whether this CPU runs the kernel of `self`. The feature lists match the
    /// `#[target_feature]` lists of the kernels (`kernel_avx512.rs`, `kernel_avx2.rs`).
    pub fn is_available(self) -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::is_x86_feature_detected as has;
            match self {
                Int8Isa::Avx512Vnni => {
                    has!("avx512f")
                        && has!("avx512bw")
                        && has!("avx512vl")
                        && has!("avx512vnni")
                        && has!("avx2")
                        && has!("fma")
                }
                Int8Isa::AvxVnni => has!("avxvnni") && has!("avx2") && has!("fma"),
                Int8Isa::Avx2 => has!("avx2") && has!("fma"),
                Int8Isa::Scalar => true,
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            self == Int8Isa::Scalar
        }
    }

    /// The int8 kernels this CPU runs, widest first.
    pub fn available() -> Vec<Int8Isa> {
        Int8Isa::ALL
            .into_iter()
            .filter(|i| i.is_available())
            .collect()
    }

    /// The best int8 kernel inside the class of an f32 [`Isa`] (AVX-512 → VNNI on zmm, else
    /// AVX-VNNI, else AVX2; AVX2 → AVX-VNNI, else AVX2; portable and scalar → scalar).
    pub fn best_for(isa: Isa) -> Int8Isa {
        let candidates: &[Int8Isa] = match isa {
            Isa::Avx512 => &Int8Isa::ALL,
            Isa::Avx2 => &Int8Isa::ALL[1..],
            Isa::Portable | Isa::Scalar => &Int8Isa::ALL[3..],
        };
        candidates
            .iter()
            .copied()
            .find(|i| i.is_available())
            .unwrap_or(Int8Isa::Scalar)
    }

    /// The kernel used by default: `QKV_INT8_ISA` if set and available, else
    /// [`Int8Isa::best_for`]`(`[`Isa::active`]`())`. Decided on first call and cached.
    pub fn active() -> Int8Isa {
        static ACTIVE: OnceLock<Int8Isa> = OnceLock::new();
        *ACTIVE.get_or_init(|| {
            let best = Int8Isa::best_for(Isa::active());
            match std::env::var("QKV_INT8_ISA") {
                Ok(v) if !v.is_empty() => match v.parse::<Int8Isa>() {
                    Ok(isa) if isa.is_available() => isa,
                    _ => {
                        eprintln!(
                            "qkv: QKV_INT8_ISA={v} is not available here; using {}",
                            best.name()
                        );
                        best
                    }
                },
                _ => best,
            }
        })
    }

    /// `Ok(self)` if available, else [`Error::IsaUnavailable`].
    pub fn check(self) -> Result<Int8Isa> {
        if self.is_available() {
            Ok(self)
        } else {
            Err(Error::IsaUnavailable(self.name().to_string()))
        }
    }
}

impl fmt::Display for Int8Isa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Int8Isa {
    type Err = Error;
    fn from_str(s: &str) -> Result<Int8Isa> {
        match s.to_ascii_lowercase().as_str() {
            "avx512vnni" | "avx512_vnni" | "vnni" => Ok(Int8Isa::Avx512Vnni),
            "avxvnni" | "avx_vnni" => Ok(Int8Isa::AvxVnni),
            "avx2" => Ok(Int8Isa::Avx2),
            "scalar" | "portable" => Ok(Int8Isa::Scalar),
            _ => Err(Error::IsaUnavailable(s.to_string())),
        }
    }
}
