//! Shared helpers for the core's integration tests: seeded data and ISA loops.
#![allow(dead_code)]

use qkv_core::Isa;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Seeded uniform values in [-1, 1).
pub fn rand_vec(len: usize, seed: u64) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..len).map(|_| rng.gen_range(-1.0f32..1.0)).collect()
}

/// Seeded standard-normal-ish values (sum of uniforms; enough for numerics tests).
pub fn randn_vec(len: usize, seed: u64) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..len)
        .map(|_| {
            let s: f32 = (0..12).map(|_| rng.gen::<f32>()).sum();
            s - 6.0
        })
        .collect()
}

/// Every ISA the host can run; prints "skipped" for the others, and fails the test when one
/// that `QKV_REQUIRE_ISAS` names would be skipped ([`qkv_core::isa::require_tested`]).
pub fn host_isas(test: &str) -> Vec<Isa> {
    qkv_core::isa::require_tested(test)
}
