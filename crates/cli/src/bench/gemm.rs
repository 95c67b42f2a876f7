//! `qkv bench gemm`: qkv's packed GEMM beside matrixmultiply on the shapes transformers use
//! ([`qkv_testkit::shapes::GEMM`]); with `--general`, the general GEMM (B a plain view, both
//! storage orders) beside matrixmultiply on a sweep of shapes (`gemm_general`); with `--int8`,
//! the int8 GEMM beside the f32 one and the measured int8 peak (`gemm_int8`).

use super::options::Common;
use super::report::{self, r3, Row};
use super::{gemm_general, gemm_int8};
use qkv_core::perf::{fma_peak_gflops_threads, interleaved};
use qkv_core::{gemm_packed, with_threads, GemmOptions, Isa, MatMut, MatRef, PackedMatrix};
use qkv_testkit::rng::rand_vec;
use qkv_testkit::shapes;
use serde_json::Value;

/// `qkv bench gemm` arguments.
#[derive(clap::Args, Clone, Debug)]
pub struct GemmBenchArgs {
    #[command(flatten)]
    pub common: Common,
    /// The general GEMM (B a view packed per call, column- and row-major) beside
    /// matrixmultiply on the M × K × N sweep (or `--shape`), instead of the packed weights.
    #[arg(long)]
    pub general: bool,
    /// The int8 GEMM (activation quantization included) beside qkv's f32 GEMM on the same
    /// weights, in multiply-adds per second, with the measured int8 and FMA peaks.
    #[arg(long, conflicts_with = "general")]
    pub int8: bool,
}

/// Measures every shape and prints one row each.
pub fn run(g: &GemmBenchArgs) -> anyhow::Result<()> {
    let c = &g.common;
    let rows = if g.general {
        let shapes = match &c.shape {
            Some(s) => vec![parse_shape(s)?],
            None => gemm_general::sweep(),
        };
        gemm_general::measure(&shapes, c.threads(), c.reps)?
    } else if g.int8 {
        let shapes = match &c.shape {
            Some(s) => vec![parse_shape(s)?],
            None => shapes::GEMM.to_vec(),
        };
        gemm_int8::measure(&shapes, c.threads(), c.reps)?
    } else {
        measure(c)?
    };
    report::print(&rows, c.json);
    Ok(())
}

/// The measurements behind `qkv bench gemm` (also used by `qkv bench all`).
pub fn measure(c: &Common) -> anyhow::Result<Vec<Row>> {
    let threads = c.threads();
    // matrixmultiply reads its thread count once, from the environment.
    // SAFETY-free: set before any matrixmultiply call and before other threads read the env.
    std::env::set_var("MATMUL_NUM_THREADS", threads.to_string());
    let isa = Isa::active();
    // The machine is shared: the peak is measured before and after, the higher one kept.
    let peak_before = fma_peak_gflops_threads(isa, threads);
    let mut rows = Vec::new();
    let mut measured = Vec::new();
    let shapes: Vec<(usize, usize, usize)> = match &c.shape {
        Some(s) => vec![parse_shape(s)?],
        None => shapes::GEMM.to_vec(),
    };
    for (i, &(m, k, n)) in shapes.iter().enumerate() {
        let a = rand_vec(m * k, 2 * i as u64);
        let w = rand_vec(n * k, 2 * i as u64 + 1); // PyTorch Linear weight [N, K]
        let packed = PackedMatrix::from_weight(MatRef::new(&w, n, k)?)?;
        let mut c1 = vec![0.0f32; m * n];
        let mut c2 = vec![0.0f32; m * n];
        let reps = if m * n * k > 1 << 30 {
            c.reps.max(5)
        } else {
            c.reps.max(5) * 3
        };
        let t = with_threads(threads, || {
            let mut qkv = || {
                gemm_packed(
                    MatRef::new(&a, m, k).expect("shape"),
                    &packed,
                    MatMut::new(&mut c1, m, n).expect("shape"),
                    &GemmOptions::default(),
                )
                .expect("gemm")
            };
            let mut mm = || {
                // SAFETY: a is m×k row-major, w is n×k row-major read as k×n (rs 1, cs k),
                // c2 is m×n row-major; all buffers have exactly these sizes.
                unsafe {
                    matrixmultiply::sgemm(
                        m,
                        k,
                        n,
                        1.0,
                        a.as_ptr(),
                        k as isize,
                        1,
                        w.as_ptr(),
                        1,
                        k as isize,
                        0.0,
                        c2.as_mut_ptr(),
                        n as isize,
                        1,
                    )
                }
            };
            interleaved(2, reps, &mut [&mut qkv, &mut mm])
        })?;
        let flops = 2.0 * (m * n * k) as f64;
        let q = flops / t[0].median / 1e9;
        measured.push((m, k, n, q, flops / t[1].median / 1e9));
    }
    let peak = peak_before.max(fma_peak_gflops_threads(isa, threads));
    for (m, k, n, q, mmg) in measured {
        rows.push(Row(vec![
            ("m", Value::from(m)),
            ("k", Value::from(k)),
            ("n", Value::from(n)),
            ("threads", Value::from(threads)),
            ("isa", Value::from(isa.name())),
            ("qkv_gflops", r3(q)),
            ("mm_gflops", r3(mmg)),
            ("ratio", r3(q / mmg)),
            ("peak_gflops", r3(peak)),
            ("pct_peak", r3(100.0 * q / peak)),
        ]));
    }
    Ok(rows)
}

/// Parses `MxKxN`.
fn parse_shape(s: &str) -> anyhow::Result<(usize, usize, usize)> {
    let v: Vec<usize> = s
        .split(['x', 'X', ','])
        .map(|t| t.trim().parse::<usize>())
        .collect::<Result<_, _>>()
        .map_err(|e| anyhow::anyhow!("--shape {s:?}: {e} (expected MxKxN)"))?;
    match v[..] {
        [m, k, n] => Ok((m, k, n)),
        _ => anyhow::bail!("--shape {s:?}: expected three numbers MxKxN"),
    }
}
