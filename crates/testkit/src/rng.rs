//! Seeded random inputs: every random test input and benchmark operand comes from here.

use rand::{Rng, SeedableRng};

/// The seeded generator of every random test input.
pub type TestRng = rand_chacha::ChaCha8Rng;

/// `len` values uniform in `[-1, 1)` from `seed`.
pub fn rand_vec(len: usize, seed: u64) -> Vec<f32> {
    uniform(len, 1.0, &mut TestRng::seed_from_u64(seed))
}

/// `len` values uniform in `(-a, a)` drawn from `rng`.
pub fn uniform(len: usize, a: f32, rng: &mut TestRng) -> Vec<f32> {
    (0..len).map(|_| rng.gen_range(-a..a)).collect()
}

/// `len` roughly standard-normal values from `seed` (a sum of 12 uniforms minus 6: enough for
/// numerics tests).
pub fn randn_vec(len: usize, seed: u64) -> Vec<f32> {
    let mut rng = TestRng::seed_from_u64(seed);
    (0..len)
        .map(|_| {
            let s: f32 = (0..12).map(|_| rng.gen::<f32>()).sum();
            s - 6.0
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_and_in_range() {
        assert_eq!(rand_vec(100, 3), rand_vec(100, 3));
        assert_ne!(rand_vec(100, 3), rand_vec(100, 4));
        assert!(rand_vec(1000, 5).iter().all(|x| (-1.0..1.0).contains(x)));
        let n = randn_vec(10_000, 6);
        let mean = n.iter().sum::<f32>() / n.len() as f32;
        assert!(mean.abs() < 0.05, "mean {mean}");
        assert!(n.iter().all(|x| x.abs() <= 6.0));
    }
}
