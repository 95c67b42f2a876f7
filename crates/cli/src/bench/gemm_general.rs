//! `qkv bench gemm --general`: qkv's general GEMM called as a BLAS user calls it (B a plain
//! view, packed per call) beside matrixmultiply given the same view, on every shape of the
//! sweep `M ∈ GEMM_GENERAL_M`, `K, N ∈ GEMM_GENERAL_KN`, with B column-major (`col`: a PyTorch
//! weight `[N, K]` through `MatRef::t`) and row-major (`row`: `[K, N]`). Both run interleaved in
//! one run, so the ratio is what counts on a shared machine. `ratio` is of the median calls,
//! `ratio_best` of the fastest ones.

use super::report::{r3, Row};
use qkv_core::perf::interleaved;
use qkv_core::{gemm, with_threads, GemmOptions, Isa, MatMut, MatRef};
use qkv_testkit::rng::rand_vec;
use qkv_testkit::shapes::{GEMM_GENERAL_KN, GEMM_GENERAL_M};
use serde_json::Value;

/// B's storage order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// `[N, K]` row-major, used as `Wᵀ` (K contiguous).
    Col,
    /// `[K, N]` row-major (N contiguous).
    Row,
}

impl Layout {
    fn name(self) -> &'static str {
        match self {
            Layout::Col => "col",
            Layout::Row => "row",
        }
    }
}

/// Every `(M, K, N)` of the sweep, smallest products first.
pub fn sweep() -> Vec<(usize, usize, usize)> {
    let mut v: Vec<_> = GEMM_GENERAL_M
        .iter()
        .flat_map(|&m| {
            GEMM_GENERAL_KN
                .iter()
                .flat_map(move |&k| GEMM_GENERAL_KN.iter().map(move |&n| (m, k, n)))
        })
        .collect();
    v.sort_by_key(|&(m, k, n)| (m * k * n, m));
    v
}

/// Measures `shapes` in both layouts at `threads`, `reps` timed calls at least.
pub fn measure(
    shapes: &[(usize, usize, usize)],
    threads: usize,
    reps: usize,
) -> anyhow::Result<Vec<Row>> {
    // matrixmultiply reads its thread count once, from the environment, before its first call.
    std::env::set_var("MATMUL_NUM_THREADS", threads.to_string());
    let isa = Isa::active();
    let mut rows = Vec::new();
    for (i, &(m, k, n)) in shapes.iter().enumerate() {
        let a = rand_vec(m * k, 2 * i as u64);
        let b = rand_vec(k * n, 2 * i as u64 + 1);
        let flops = 2.0 * (m * n * k) as f64;
        // About 0.1 s of timed calls per side at 50 GFLOP/s, within [reps, 400].
        let reps = ((5e9 / flops) as usize).clamp(reps.max(5), 400);
        for layout in [Layout::Col, Layout::Row] {
            let (bv, rsb, csb) = match layout {
                Layout::Col => (MatRef::new(&b, n, k)?.t(), 1, k as isize),
                Layout::Row => (MatRef::new(&b, k, n)?, n as isize, 1),
            };
            let mut c1 = vec![0.0f32; m * n];
            let mut c2 = vec![0.0f32; m * n];
            let t = with_threads(threads, || {
                let mut qkv = || {
                    let c = MatMut::new(&mut c1, m, n).expect("shape");
                    let a = MatRef::new(&a, m, k).expect("shape");
                    gemm(a, bv, c, &GemmOptions::default()).expect("gemm")
                };
                let mut mm = || {
                    // SAFETY: a is m×k row-major, b holds k·n values read with the strides of
                    // the layout (rsb, csb), c2 is m×n row-major.
                    unsafe {
                        matrixmultiply::sgemm(
                            m,
                            k,
                            n,
                            1.0,
                            a.as_ptr(),
                            k as isize,
                            1,
                            b.as_ptr(),
                            rsb,
                            csb,
                            0.0,
                            c2.as_mut_ptr(),
                            n as isize,
                            1,
                        )
                    }
                };
                interleaved(2, reps, &mut [&mut qkv, &mut mm])
            })?;
            let worst = c1
                .iter()
                .zip(&c2)
                .map(|(x, y)| (x - y).abs() / (1.0 + y.abs()))
                .fold(0.0f32, f32::max);
            anyhow::ensure!(
                worst <= 1e-3,
                "{m}×{k}×{n} {}: qkv and matrixmultiply differ by {worst:e}",
                layout.name()
            );
            let q = flops / t[0].median / 1e9;
            let mmg = flops / t[1].median / 1e9;
            rows.push(Row(vec![
                ("m", Value::from(m)),
                ("k", Value::from(k)),
                ("n", Value::from(n)),
                ("layout", Value::from(layout.name())),
                ("threads", Value::from(threads)),
                ("isa", Value::from(isa.name())),
                ("qkv_gflops", r3(q)),
                ("mm_gflops", r3(mmg)),
                ("ratio", r3(q / mmg)),
                // Fastest call each: on a loaded machine a preemption can land on the same side
                // of every interleaved pair and skew the medians; the minima are not skewed so.
                ("ratio_best", r3(t[1].min / t[0].min)),
            ]));
        }
    }
    Ok(rows)
}
