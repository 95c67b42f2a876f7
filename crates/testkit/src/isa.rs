//! The per-ISA test loops: every kernel test runs on each instruction set the host has, and
//! fails (rather than passing without having run) when CI requires one that is missing.
//!
//! CI (`.ci/run`) sets, from what `/proc/cpuinfo` reports, one comma list per kernel family
//! (matrixmultiply's `MMTEST_ENSUREFEATURE`):
//!
//! | family | variable | names |
//! |---|---|---|
//! | f32 kernels ([`Isa`]) | `QKV_REQUIRE_ISAS` | `avx512,avx2,portable,scalar` |
//! | int8 GEMM ([`Int8Isa`]) | `QKV_REQUIRE_INT8_ISAS` | `avx512vnni,avxvnni,avx2,scalar` |
//! | bf16 GEMM ([`Bf16Isa`]) | `QKV_REQUIRE_BF16_ISAS` | `avx512bf16,widened` |
//!
//! A loop prints "`test`: `isa` skipped" for each ISA the host lacks; a required one that is
//! missing, or a name that is not an ISA, fails the test.

use qkv_core::bf16::Bf16Isa;
use qkv_core::{Int8Isa, Isa};
use std::fmt::Display;

/// The f32 ISAs to test on this host, widest first (`QKV_REQUIRE_ISAS` honoured): the core's
/// own [`qkv_core::isa::require_tested`], which the core's unit tests use too.
pub fn host_isas(test: &str) -> Vec<Isa> {
    qkv_core::isa::require_tested(test)
}

/// The int8 GEMM kernels to test on this host, widest first (`QKV_REQUIRE_INT8_ISAS`).
pub fn host_int8_isas(test: &str) -> Vec<Int8Isa> {
    require(
        test,
        "QKV_REQUIRE_INT8_ISAS",
        &Int8Isa::ALL,
        Int8Isa::is_available,
    )
}

/// The bf16 GEMM kernels to test on this host, widest first (`QKV_REQUIRE_BF16_ISAS`).
pub fn host_bf16_isas(test: &str) -> Vec<Bf16Isa> {
    require(
        test,
        "QKV_REQUIRE_BF16_ISAS",
        &Bf16Isa::ALL,
        Bf16Isa::is_available,
    )
}

/// The members of `all` for which `available` holds; panics when the comma list in `var`
/// names one that does not (or a name that is not in `all`).
fn require<K: Copy + Display + PartialEq>(
    test: &str,
    var: &str,
    all: &[K],
    available: impl Fn(K) -> bool,
) -> Vec<K> {
    let required = std::env::var(var).unwrap_or_default();
    match tested(var, &required, all, &available) {
        Ok(isas) => {
            for isa in all.iter().filter(|i| !isas.contains(i)) {
                eprintln!("{test}: {isa} skipped (not available on this CPU)");
            }
            isas
        }
        Err(e) => panic!("{test}: {e}"),
    }
}

/// The available members of `all`, or why the list `required` (from `var`) cannot hold.
fn tested<K: Copy + Display + PartialEq>(
    var: &str,
    required: &str,
    all: &[K],
    available: &impl Fn(K) -> bool,
) -> Result<Vec<K>, String> {
    for name in required.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let Some(&isa) = all.iter().find(|i| i.to_string() == name) else {
            let names: Vec<String> = all.iter().map(ToString::to_string).collect();
            return Err(format!(
                "{var}={required}: {name:?} is not one of {}",
                names.join(", ")
            ));
        };
        if !available(isa) {
            return Err(format!(
                "{isa} is not available on this CPU, but {var}={required} requires its tests"
            ));
        }
    }
    Ok(all.iter().copied().filter(|&i| available(i)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_kernels_must_be_available() {
        let no_vnni = |i: Int8Isa| !matches!(i, Int8Isa::Avx512Vnni | Int8Isa::AvxVnni);
        let all = &Int8Isa::ALL;
        assert_eq!(
            tested("V", "", all, &no_vnni).unwrap(),
            [Int8Isa::Avx2, Int8Isa::Scalar]
        );
        assert_eq!(
            tested("V", " avx2 , scalar,", all, &no_vnni).unwrap(),
            [Int8Isa::Avx2, Int8Isa::Scalar]
        );
        let err = tested("V", "avx2,avx512vnni", all, &no_vnni).unwrap_err();
        assert!(err.contains("avx512vnni") && err.contains('V'), "{err}");
        let err = tested("V", "avx1024", all, &|_| true).unwrap_err();
        assert!(err.contains("\"avx1024\" is not one of"), "{err}");
    }

    #[test]
    fn host_loops_return_what_the_host_has() {
        // Passes on any host: CI's own requirements are honoured, and must hold here.
        assert_eq!(host_isas("testkit"), Isa::available());
        assert_eq!(host_int8_isas("testkit"), Int8Isa::available());
        let bf16: Vec<Bf16Isa> = Bf16Isa::ALL
            .into_iter()
            .filter(|i| i.is_available())
            .collect();
        assert_eq!(host_bf16_isas("testkit"), bf16);
    }
}
