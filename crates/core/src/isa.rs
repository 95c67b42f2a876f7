//! Run-time choice of the instruction set, decided once.
//!
//! [`Isa::best`] picks the widest kernel this CPU runs; `QKV_ISA=avx512|avx2|portable|scalar`
//! forces one (an unavailable choice falls back to the best one with a warning on stderr), so
//! tests and benchmarks can exercise every path the host has. [`dispatch`] runs a
//! [`SimdOp`] inside a `#[target_feature]` shim for the chosen token.

use crate::error::{Error, Result};
use crate::simd::portable::Portable;
use crate::simd::scalar::Scalar;
#[cfg(target_arch = "x86_64")]
use crate::simd::x86::{Avx2, Avx512};
use crate::simd::SimdOp;
use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

/// An instruction set qkv has kernels for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Isa {
    /// AVX-512F (x86-64), 16 lanes, 32 registers.
    Avx512,
    /// AVX2 + FMA (x86-64), 8 lanes, 16 registers.
    Avx2,
    /// `wide` (NEON on aarch64, SSE2 on baseline x86-64), chosen at compile time.
    Portable,
    /// Plain Rust, one lane.
    Scalar,
}

impl Isa {
    /// Every ISA qkv knows, widest first.
    pub const ALL: [Isa; 4] = [Isa::Avx512, Isa::Avx2, Isa::Portable, Isa::Scalar];

    /// The short name (`avx512`, `avx2`, `portable`, `scalar`).
    pub fn name(self) -> &'static str {
        match self {
            Isa::Avx512 => "avx512",
            Isa::Avx2 => "avx2",
            Isa::Portable => "portable",
            Isa::Scalar => "scalar",
        }
    }

    /// Whether this CPU can run the kernels of `self`.
    pub fn is_available(self) -> bool {
        match self {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => Avx512::new().is_some(),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => Avx2::new().is_some(),
            #[cfg(not(target_arch = "x86_64"))]
            Isa::Avx512 | Isa::Avx2 => false,
            Isa::Portable | Isa::Scalar => true,
        }
    }

    /// The ISAs this CPU can run, widest first.
    pub fn available() -> Vec<Isa> {
        Isa::ALL.into_iter().filter(|i| i.is_available()).collect()
    }

    /// The ISA kernels use by default: `QKV_ISA` if set and available, else the widest available.
    /// Decided on first call and cached.
    pub fn active() -> Isa {
        static ACTIVE: OnceLock<Isa> = OnceLock::new();
        *ACTIVE.get_or_init(|| {
            let best = Isa::available()[0];
            match std::env::var("QKV_ISA") {
                Ok(v) if !v.is_empty() => match v.parse::<Isa>() {
                    Ok(isa) if isa.is_available() => isa,
                    _ => {
                        eprintln!(
                            "qkv: QKV_ISA={v} is not available here; using {}",
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
    pub fn check(self) -> Result<Isa> {
        if self.is_available() {
            Ok(self)
        } else {
            Err(Error::IsaUnavailable(self.name().to_string()))
        }
    }
}

impl fmt::Display for Isa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Isa {
    type Err = Error;
    fn from_str(s: &str) -> Result<Isa> {
        match s.to_ascii_lowercase().as_str() {
            "avx512" | "avx512f" => Ok(Isa::Avx512),
            "avx2" | "fma" => Ok(Isa::Avx2),
            "portable" | "wide" | "neon" | "sse2" => Ok(Isa::Portable),
            "scalar" => Ok(Isa::Scalar),
            _ => Err(Error::IsaUnavailable(s.to_string())),
        }
    }
}

/// Defines a dispatcher: a function that runs an op trait's generic `run` inside a
/// `#[target_feature]` shim for the token of the requested ISA. Written once as a macro because
/// the GEMM needs a second dispatcher whose ops are generic over [`crate::gemm::TileShape`].
macro_rules! define_dispatch {
    ($(#[$doc:meta])* $vis:vis fn $name:ident<Op: $op:path>) => {
        $(#[$doc])*
        #[inline]
        $vis fn $name<Op: $op>(isa: Isa, op: Op) -> Op::Output {
            match isa {
                #[cfg(target_arch = "x86_64")]
                Isa::Avx512 => match Avx512::new() {
                    Some(t) => {
                        #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")]
                        fn shim<Op: $op>(t: Avx512, op: Op) -> Op::Output {
                            op.run(t)
                        }
                        // SAFETY: `t` exists, so the CPU has every feature the shim enables.
                        unsafe { shim(t, op) }
                    }
                    None => op.run(Portable),
                },
                #[cfg(target_arch = "x86_64")]
                Isa::Avx2 => match Avx2::new() {
                    Some(t) => {
                        #[target_feature(enable = "avx2,fma")]
                        fn shim<Op: $op>(t: Avx2, op: Op) -> Op::Output {
                            op.run(t)
                        }
                        // SAFETY: `t` exists, so the CPU has AVX2 and FMA.
                        unsafe { shim(t, op) }
                    }
                    None => op.run(Portable),
                },
                #[cfg(not(target_arch = "x86_64"))]
                Isa::Avx512 | Isa::Avx2 => op.run(Portable),
                Isa::Portable => op.run(Portable),
                Isa::Scalar => op.run(Scalar),
            }
        }
    };
}

define_dispatch! {
    /// Runs `op` with the token of `isa`, compiled for that instruction set.
    ///
    /// If `isa` is not available on this CPU, falls back to the portable path (never executes
    /// an unsupported instruction).
    pub fn dispatch<Op: SimdOp>
}

define_dispatch! {
    /// [`dispatch`] for GEMM ops, whose kernels also need the ISA's register-tile shape.
    pub(crate) fn dispatch_tile<Op: crate::gemm::TileOp>
}
