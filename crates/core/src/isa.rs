//! Run-time choice of the instruction set, decided once.
//!
//! [`Isa::active`] picks the widest kernel this CPU runs; `QKV_ISA=avx512|avx2|portable|scalar`
//! forces one (an unavailable choice falls back to the best one with a warning on stderr), so
//! tests and benchmarks can exercise every path the host has. The crate-private `dispatch`
//! runs a kernel generic over the SIMD token inside a `#[target_feature]` shim for the chosen
//! token. With the `internals` feature, `require_tested` lets per-ISA test loops fail when
//! an ISA that CI requires (`QKV_REQUIRE_ISAS`) would be skipped.

use crate::error::{Error, Result};
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
/// `#[target_feature]` shim for the token of the requested ISA. A macro, so that the GEMM can
/// define its own dispatcher beside its tile traits (`gemm::kernel::dispatch_tile`, whose ops
/// are generic over the register-tile shape) without this file naming anything of the GEMM.
macro_rules! define_dispatch {
    ($(#[$doc:meta])* $vis:vis fn $name:ident<Op: $op:path>) => {
        $(#[$doc])*
        #[inline]
        $vis fn $name<Op: $op>(isa: $crate::isa::Isa, op: Op) -> Op::Output {
            #[cfg(target_arch = "x86_64")]
            use $crate::simd::x86::{Avx2, Avx512};
            use $crate::isa::Isa;
            use $crate::simd::portable::Portable;
            use $crate::simd::scalar::Scalar;
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
pub(crate) use define_dispatch;

define_dispatch! {
    /// Runs `op` with the token of `isa`, compiled for that instruction set.
    ///
    /// If `isa` is not available on this CPU, falls back to the portable path (never executes
    /// an unsupported instruction).
    pub(crate) fn dispatch<Op: SimdOp>
}

/// The ISAs a per-ISA test loop should run on this host, for qkv's own tests (`internals`).
///
/// Returns every available ISA, widest first, and prints "`test`: `isa` skipped" on stderr for
/// the others. `QKV_REQUIRE_ISAS` (a comma list such as `avx512,avx2,portable,scalar`, set by
/// CI from what its CPU reports) names ISAs that must not be skipped: a loop that would skip
/// one fails instead of passing without having run it (matrixmultiply's
/// `MMTEST_ENSUREFEATURE`).
///
/// # Panics
/// When `QKV_REQUIRE_ISAS` names an unknown ISA or one this CPU lacks: a test helper, it fails
/// the test that called it.
#[cfg(feature = "internals")]
pub fn require_tested(test: &str) -> Vec<Isa> {
    let required = std::env::var("QKV_REQUIRE_ISAS").unwrap_or_default();
    match tested_isas(&required, Isa::is_available) {
        Ok(isas) => {
            for isa in Isa::ALL.into_iter().filter(|i| !isas.contains(i)) {
                eprintln!("{test}: {isa} skipped (not available on this CPU)");
            }
            isas
        }
        Err(e) => panic!("{test}: {e}"),
    }
}

/// The ISAs for which `available` holds, widest first; an error when the comma list
/// `required` names an unknown ISA or one that is not available.
#[cfg(feature = "internals")]
fn tested_isas(required: &str, available: impl Fn(Isa) -> bool) -> Result<Vec<Isa>> {
    for name in required.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let isa: Isa = name.parse()?;
        if !available(isa) {
            return Err(Error::IsaUnavailable(format!(
                "{isa} (required by QKV_REQUIRE_ISAS={required}, so its tests may not be skipped)"
            )));
        }
    }
    Ok(Isa::ALL.into_iter().filter(|&i| available(i)).collect())
}

#[cfg(all(test, feature = "internals"))]
mod tests {
    use super::*;

    #[test]
    fn required_isas_must_be_available() {
        let no_avx512 = |i: Isa| i != Isa::Avx512;
        assert_eq!(
            tested_isas("", no_avx512).unwrap(),
            [Isa::Avx2, Isa::Portable, Isa::Scalar]
        );
        assert_eq!(
            tested_isas(" avx2 , scalar,", no_avx512).unwrap(),
            [Isa::Avx2, Isa::Portable, Isa::Scalar]
        );
        let err = tested_isas("avx2,avx512", no_avx512).unwrap_err();
        assert!(err.to_string().contains("avx512"), "{err}");
        assert!(err.to_string().contains("QKV_REQUIRE_ISAS"), "{err}");
        assert!(matches!(
            tested_isas("avx1024", |_| true),
            Err(Error::IsaUnavailable(n)) if n == "avx1024"
        ));
    }

    #[test]
    fn require_tested_returns_the_available_isas() {
        // Passes on any host (CI's own QKV_REQUIRE_ISAS is honoured, and must hold here).
        assert_eq!(require_tested("isa"), Isa::available());
    }
}
