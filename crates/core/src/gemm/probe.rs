//! Hot-cache speed of the microkernel alone (`cargo test --release -p qkv-core --lib probe --
//! --ignored --nocapture`): separates the kernel's quality from the memory hierarchy's.

use super::kernel::{dispatch_tile, TileArgs, TileOp, TileShape};

struct P;
impl TileOp for P {
    type Output = f64;
    #[inline(always)]
    fn run<S: TileShape>(self, s: S) -> f64 {
        let kc = 256;
        let a = vec![0.5f32; kc * S::MR];
        let b = vec![0.25f32; kc * S::NR];
        let mut c = vec![0.0f32; S::MR * S::NR];
        let t = TileArgs {
            kc,
            alpha: 1.0,
            beta: 0.0,
            rsc: S::NR,
            epi: Default::default(),
            a: a.as_ptr(),
            b: b.as_ptr(),
            b_next: std::ptr::null(),
            b_rs: 0,
            a_rs: 0,
            prefetch_c: true,
        };
        let reps = 20000;
        let st = std::time::Instant::now();
        for _ in 0..reps {
            // SAFETY: a holds kc·MR, b kc·NR and c MR·NR values with row stride NR.
            unsafe { s.tile(&t, c.as_mut_ptr(), S::MR, S::NR, std::ptr::null()) };
            std::hint::black_box(&mut c);
        }
        (2 * kc * S::MR * S::NR * reps) as f64 / st.elapsed().as_secs_f64() / 1e9
    }
}
#[test]
#[ignore]
fn probe_kernel() {
    for isa in crate::isa::require_tested("probe_kernel") {
        eprintln!(
            "{isa}: {:.1} GFLOP/s hot, peak {:.1}",
            dispatch_tile(isa, P),
            crate::perf::fma_peak_gflops(isa)
        );
    }
}
