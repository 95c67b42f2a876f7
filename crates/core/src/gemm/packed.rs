//! Weights packed once: a model's matrices never change, so packing them per call is waste.

use super::blocking::KC;
use super::kernel::tile_dims_lanes;
use super::pack::{pack_b_for, Panels};
use crate::error::{invalid, Result};
use crate::isa::Isa;
use crate::mat::MatRef;

/// The B operand of `C ← α·A·B + β·C`, packed for one ISA's microkernel.
///
/// Layout: for each K block `pc` (of depth `kc = min(KC, K − pc)`), all `⌈N/NR⌉` panels of
/// `kc × NR` values, zero-padded, the last one only `⌈(N mod NR)/LANES⌉·LANES` wide. Built from `[K, N]` ([`PackedMatrix::from_kn`]) or from a
/// PyTorch `Linear` weight `[N, K]` with y = x·Wᵀ ([`PackedMatrix::from_weight`]).
///
/// ```
/// use qkv_core::{gemm_packed, GemmOptions, MatMut, MatRef, PackedMatrix};
/// // y = x · Wᵀ with W: [out = 2, in = 3] as PyTorch stores it.
/// let w = [1.0, 0.0, 0.0, 0.0, 1.0, 1.0];
/// let packed = PackedMatrix::from_weight(MatRef::new(&w, 2, 3)?)?;
/// let x = [1.0, 2.0, 3.0];
/// let mut y = [0.0; 2];
/// gemm_packed(MatRef::new(&x, 1, 3)?, &packed, MatMut::new(&mut y, 1, 2)?, &GemmOptions::default())?;
/// assert_eq!(y, [1.0, 5.0]);
/// # Ok::<(), qkv_core::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct PackedMatrix {
    pub(crate) data: Vec<f32>,
    pub(crate) k: usize,
    pub(crate) n: usize,
    pub(crate) nr: usize,
    /// Vector width: the last panel is ⌈(N mod NR) / lanes⌉·lanes wide.
    pub(crate) lanes: usize,
    pub(crate) isa: Isa,
}

impl PackedMatrix {
    /// Packs a `K × N` view for the active ISA.
    pub fn from_kn(b: MatRef) -> Result<Self> {
        Self::from_kn_for(b, Isa::active())
    }

    /// Packs a PyTorch-layout weight `[N, K]` (so the product is `x · Wᵀ`) for the active ISA.
    pub fn from_weight(w: MatRef) -> Result<Self> {
        Self::from_kn_for(w.t(), Isa::active())
    }

    /// Packs a `K × N` view for a given ISA (which must be available).
    pub fn from_kn_for(b: MatRef, isa: Isa) -> Result<Self> {
        let isa = isa.check()?;
        let (k, n) = (b.rows(), b.cols());
        let (_, nr, lanes) = tile_dims_lanes(isa);
        let panels = Panels {
            lanes: nr,
            step: lanes,
        };
        let too_large = || invalid("PackedMatrix", format!("{k}×{n} is too large"));
        n.div_ceil(nr).checked_mul(nr).ok_or_else(too_large)?;
        let npad = panels.len(n, 1);
        let len = npad.checked_mul(k).ok_or_else(too_large)?;
        if len == 0 {
            // N = 0 or K = 0: nothing to pack (and no K loop over a stride-0 view).
            return Ok(PackedMatrix {
                data: Vec::new(),
                k,
                n,
                nr,
                lanes,
                isa,
            });
        }
        let mut data = vec![0.0f32; len];
        let mut pc = 0;
        while pc < k {
            let kc = KC.min(k - pc);
            let dst = &mut data[pc * npad..pc * npad + panels.len(n, kc)];
            pack_b_for(isa, &b, 0, n, pc, kc, panels, dst);
            pc += kc;
        }
        Ok(PackedMatrix {
            data,
            k,
            n,
            nr,
            lanes,
            isa,
        })
    }

    /// K (rows of the logical `K × N` matrix: the input features).
    pub fn k(&self) -> usize {
        self.k
    }
    /// N (columns of the logical `K × N` matrix: the output features).
    pub fn n(&self) -> usize {
        self.n
    }
    /// The ISA whose microkernel this packing is for.
    pub fn isa(&self) -> Isa {
        self.isa
    }

    /// The packed block for depth `pc..pc+kc` and columns starting at `jc` (a multiple of NR).
    pub(crate) fn block(&self, pc: usize, jc: usize, kc: usize) -> &[f32] {
        let npad = Panels {
            lanes: self.nr,
            step: self.lanes,
        }
        .len(self.n, 1);
        &self.data[pc * npad + jc * kc..(pc + kc) * npad]
    }
}
