//! Naive references, kept beside the fast kernels: the definition each kernel is tested against.
//! Written for clarity, accumulating in f64.
//!
//! `internals` feature: for qkv's own tests, benches and fuzzing, not a stable API.

use crate::mat::MatRef;

/// `C ← α·A·B + β·C` in f64 (C row-major `M × N`); with β = 0, C is not read.
pub fn gemm_f64(alpha: f64, a: &MatRef, b: &MatRef, beta: f64, c: &mut [f64]) {
    let (m, k, n) = (a.rows(), a.cols(), b.cols());
    for i in 0..m {
        for j in 0..n {
            let mut s = 0.0f64;
            for p in 0..k {
                s += a.at(i, p) as f64 * b.at(p, j) as f64;
            }
            let prev = if beta == 0.0 {
                0.0
            } else {
                beta * c[i * n + j]
            };
            c[i * n + j] = alpha * s + prev;
        }
    }
}

/// `C = A·B` in f32 with the simplest triple loop (the "naive" line of the benchmarks).
pub fn gemm_naive(a: &MatRef, b: &MatRef, c: &mut [f32]) {
    let (m, k, n) = (a.rows(), a.cols(), b.cols());
    c[..m * n].fill(0.0);
    for i in 0..m {
        for p in 0..k {
            let x = a.at(i, p);
            for j in 0..n {
                c[i * n + j] += x * b.at(p, j);
            }
        }
    }
}

pub mod attention;
pub mod ops;
