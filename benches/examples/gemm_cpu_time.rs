//! qkv's general GEMM beside matrixmultiply, one thread, timed in **thread CPU time**
//! (`CLOCK_THREAD_CPUTIME_ID`): on a shared machine whose load keeps the cores busy, wall-clock
//! medians of interleaved calls turn bimodal (a preemption lands on the same side of every
//! pair), while the CPU time a call used is not inflated by the time it waited.
//!
//! ```sh
//! cargo run --release -p qkv-benches --example gemm_cpu_time            # the whole sweep
//! cargo run --release -p qkv-benches --example gemm_cpu_time -- 37 1536 384 col
//! ```
//!
//! Shapes: `GEMM_GENERAL_M` × `GEMM_GENERAL_KN`², B column-major (`col`: a `[N, K]` weight
//! through `MatRef::t`) and row-major (`row`: `[K, N]`), or `packed` (qkv's `PackedMatrix`,
//! matrixmultiply as for `col`). One line per shape: medians of both, their ratio (above 1:
//! qkv is faster) and the ratio of the fastest calls. Linux (x86-64 or any target with
//! `clock_gettime`).

use qkv_core::{gemm, gemm_packed, GemmOptions, MatMut, MatRef, PackedMatrix};
use qkv_testkit::rng::rand_vec;
use qkv_testkit::shapes::{GEMM_GENERAL_KN, GEMM_GENERAL_M};

/// CPU time this thread has used, in nanoseconds.
fn cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant Linux knows.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Times one shape and prints its line.
fn measure(m: usize, k: usize, n: usize, layout: &str, reps: usize) {
    let a = rand_vec(m * k, 1);
    let b = rand_vec(k * n, 2);
    let mut c1 = vec![0.0f32; m * n];
    let mut c2 = vec![0.0f32; m * n];
    let (bv, rsb, csb) = match layout {
        "row" => (MatRef::new(&b, k, n).unwrap(), n as isize, 1),
        _ => (MatRef::new(&b, n, k).unwrap().t(), 1, k as isize),
    };
    let packed = PackedMatrix::from_kn(bv).unwrap();
    let opts = GemmOptions {
        parallel: false,
        ..Default::default()
    };
    let (mut tq, mut tm) = (Vec::new(), Vec::new());
    for r in 0..reps + 2 {
        let t = cpu_ns();
        let av = MatRef::new(&a, m, k).unwrap();
        let cv = MatMut::new(&mut c1, m, n).unwrap();
        if layout == "packed" {
            gemm_packed(av, &packed, cv, &opts).unwrap();
        } else {
            gemm(av, bv, cv, &opts).unwrap();
        }
        let dq = cpu_ns() - t;
        let t = cpu_ns();
        // SAFETY: a is m×k row-major, b holds k·n values read with the strides (rsb, csb) of
        // the layout, c2 is m×n row-major.
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
        };
        let dm = cpu_ns() - t;
        if r >= 2 {
            tq.push(dq.max(1));
            tm.push(dm.max(1));
        }
    }
    tq.sort_unstable();
    tm.sort_unstable();
    let flops = 2.0 * (m * n * k) as f64;
    let (q, mm) = (tq[tq.len() / 2] as f64, tm[tm.len() / 2] as f64);
    println!(
        "{m}x{k}x{n} {layout}: qkv {:.1} mm {:.1} GFLOP/s ratio {:.3} best-call ratio {:.3}",
        flops / q,
        flops / mm,
        mm / q,
        tm[0] as f64 / tq[0] as f64
    );
}

fn main() {
    // matrixmultiply reads its thread count once, before its first call.
    std::env::set_var("MATMUL_NUM_THREADS", "1");
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [m, k, n, layout, rest @ ..] = &args[..] {
        let p = |s: &String| s.parse::<usize>().expect("M K N LAYOUT [REPS]");
        let reps = rest.first().map_or(30, p);
        measure(p(m), p(k), p(n), layout, reps);
        return;
    }
    for &m in &GEMM_GENERAL_M {
        for &k in &GEMM_GENERAL_KN {
            for &n in &GEMM_GENERAL_KN {
                // About 1 s of CPU per shape and side at 50 GFLOP/s, within [5, 200] calls.
                let reps = ((2e9 / (2.0 * (m * n * k) as f64)) as usize).clamp(5, 200);
                for layout in ["col", "row"] {
                    measure(m, k, n, layout, reps);
                }
            }
        }
    }
}
