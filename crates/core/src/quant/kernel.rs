//! The run-time choice of the int8 microkernel: each kernel with its tile format, made only
//! after the CPU check (the contract the kernels implement is in `tile.rs`).

use super::isa::Int8Isa;
use super::tile::{MinMaxFn, QuantFn, QuantPackFn, TileFn};

/// A microkernel with its tile format. Only [`kernel`] makes one, after checking that the CPU
/// has the instructions, which is what makes calling its function pointers sound.
#[derive(Clone, Copy)]
pub(crate) struct Kernel {
    pub isa: Int8Isa,
    /// Rows of the register tile.
    pub mr: usize,
    /// Columns of the register tile.
    pub nr: usize,
    /// Consecutive k values one lane multiplies and sums (4 for `vpdpbusd`, 2 for `vpmaddwd`).
    pub kg: usize,
    /// Whether the packed panels hold i16 (AVX2) rather than u8/i8.
    pub wide: bool,
    pub tile: TileFn,
    pub minmax: MinMaxFn,
    pub quant: QuantFn,
    /// The fused quantize-and-pack, where the kernel has one (u8 panels only).
    pub quant_pack: Option<QuantPackFn>,
}

/// The kernel of `isa`, or `None` when this CPU cannot run it.
pub(crate) fn kernel(isa: Int8Isa) -> Option<Kernel> {
    if !isa.is_available() {
        return None;
    }
    let scalar = Kernel {
        isa,
        mr: super::kernel_scalar::MR,
        nr: super::kernel_scalar::NR,
        kg: 4,
        wide: false,
        tile: super::kernel_scalar::tile,
        minmax: super::kernel_scalar::minmax,
        quant: super::kernel_scalar::quantize,
        quant_pack: None,
    };
    Some(match isa {
        #[cfg(target_arch = "x86_64")]
        Int8Isa::Avx512Vnni => {
            use super::kernel_avx512 as k;
            Kernel {
                isa,
                mr: k::MR,
                nr: k::NR,
                kg: 4,
                wide: false,
                tile: k::tile,
                minmax: k::minmax,
                quant: k::quantize,
                quant_pack: Some(k::quantize_pack),
            }
        }
        #[cfg(target_arch = "x86_64")]
        Int8Isa::AvxVnni => {
            use super::kernel_avx2 as k;
            Kernel {
                isa,
                mr: k::MR,
                nr: k::NR,
                kg: 4,
                wide: false,
                tile: k::tile_avxvnni,
                minmax: k::minmax,
                quant: k::quantize,
                quant_pack: Some(k::quantize_pack),
            }
        }
        #[cfg(target_arch = "x86_64")]
        Int8Isa::Avx2 => {
            use super::kernel_avx2 as k;
            Kernel {
                isa,
                mr: k::MR,
                nr: k::NR,
                kg: 2,
                wide: true,
                tile: k::tile_avx2,
                minmax: k::minmax,
                quant: k::quantize,
                quant_pack: None,
            }
        }
        _ => scalar,
    })
}

/// Hot-cache speed of each microkernel alone (`cargo test -p qkv-core --lib quant::kernel --
/// --ignored --nocapture`): separates the kernel's quality from the memory hierarchy's.
#[cfg(test)]
mod probe {
    use super::super::tile::Tile;
    use super::*;

    #[test]
    #[ignore]
    fn probe_int8_tile() {
        for (isa, depth) in Int8Isa::available()
            .into_iter()
            .flat_map(|i| [(i, 384), (i, 1536)])
        {
            let k = kernel(isa).unwrap();
            let groups = depth / k.kg;
            let elem = if k.wide { 2 } else { 1 };
            let a = vec![1u8; groups * k.mr * k.kg * elem];
            let b = vec![1u8; groups * k.nr * k.kg * elem];
            let mut c = vec![0f32; k.mr * k.nr];
            let (zp, sa) = (vec![0i32; k.mr], vec![1f32; k.mr]);
            let (cs, sw) = (vec![0i32; k.nr], vec![1f32; k.nr]);
            let t = Tile {
                groups,
                c: c.as_mut_ptr(),
                rsc: k.nr,
                beta: 0.0,
                bias: std::ptr::null(),
                relu: false,
                zp: zp.as_ptr(),
                sa: sa.as_ptr(),
                colsum: cs.as_ptr(),
                sw: sw.as_ptr(),
            };
            // Short batches, best of many: the machine is shared, so the fastest batch is the
            // one that ran undisturbed.
            let reps = 100;
            let mut best = f64::INFINITY;
            for _ in 0..500 {
                let st = std::time::Instant::now();
                for _ in 0..reps {
                    // SAFETY: the panels hold groups·MR·kg and groups·NR·kg elements, C is
                    // MR×NR with row stride NR, the row/column arrays MR and NR values.
                    unsafe { (k.tile)(&t, a.as_ptr(), b.as_ptr(), 0, 0, k.mr, k.nr) };
                }
                best = best.min(st.elapsed().as_secs_f64());
            }
            let macs = (groups * k.kg * k.mr * k.nr * reps) as f64;
            eprintln!(
                "{isa} K={depth}: {:.1} G MAC/s hot (best batch), peak {:?}",
                macs / best / 1e9,
                super::super::int8_peak_gmacs(isa)
            );
        }
    }
}
