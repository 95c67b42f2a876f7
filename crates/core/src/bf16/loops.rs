//! The loops around the `vdpbf16ps` microkernel: activations converted to bf16 once per call,
//! then (row block, column panels) tasks over threads, cut as for the int8 GEMM. K is not blocked
//! and each tile sums its whole depth in registers in a fixed order, so the result does not
//! depend on the thread count.

use super::convert::k_even;
use super::kernel_avx512::{self as k, Tile};
use crate::mat::MatRef;
use crate::par;
use crate::quant::{Grid, RowHook};

/// Bytes of Ã one task sweeps per column panel (kept in L2 beside the B̃ panel).
const A_BLOCK_BYTES: usize = 256 * 1024;
/// Below this many multiply-adds a product runs on one thread.
const PARALLEL_MIN_MACS: usize = 1 << 21;

/// One product with the AVX-512 BF16 kernel; shapes validated by the caller.
pub(crate) struct Problem<'a> {
    pub a: MatRef<'a>,
    /// B̃ panels of `k::NR` columns.
    pub b: &'a [u16],
    pub n: usize,
    pub c: *mut f32,
    pub rsc: usize,
    pub beta: f32,
    pub bias: Option<&'a [f32]>,
    pub relu: bool,
    pub hook: Option<RowHook<'a>>,
    pub parallel: bool,
}

/// Runs the product (the caller checked that the CPU has AVX-512 BF16).
pub(crate) fn run(p: Problem) {
    let (m, kk, n) = (p.a.rows(), p.a.cols(), p.n);
    let (mr, nr) = (k::MR, k::NR);
    let ke = k_even(kk);
    let macs = m.saturating_mul(n).saturating_mul(kk);
    let threads = if p.parallel && macs >= PARALLEL_MIN_MACS {
        rayon::current_num_threads()
    } else {
        1
    };
    let (m_panels, n_panels) = (m.div_ceil(mr), n.div_ceil(nr));

    // Pass 1: Ã = bf16(A), row-major, zero padding (a fresh buffer: no stale NaN bits).
    let mut a16 = vec![0u16; m_panels * mr * ke];
    let convert = |(i, dst): (usize, &mut [u16])| {
        if i >= m {
            return;
        }
        let dst = &mut dst[..kk];
        if p.a.col_stride() == 1 {
            let row = &p.a.data()[i * p.a.row_stride()..i * p.a.row_stride() + kk];
            // SAFETY: only reached through `super::gemm_bf16`, which checked AVX-512 BF16
            // (and so F and BW); `row` and `dst` have K elements.
            unsafe { k::convert_row(row, dst) };
        } else {
            let row: Vec<f32> = (0..kk).map(|q| p.a.at(i, q)).collect();
            // SAFETY: as above.
            unsafe { k::convert_row(&row, dst) };
        }
    };
    if ke > 0 {
        if threads > 1 {
            par::for_each_chunk_mut(&mut a16, ke, |i, d| convert((i, d)));
        } else {
            a16.chunks_mut(ke).enumerate().for_each(convert);
        }
    }

    // Pass 2: the tiles.
    let t = Tile {
        pairs: ke / 2,
        a: a16.as_ptr(),
        lda: ke,
        c: p.c,
        rsc: p.rsc,
        beta: p.beta,
        bias: p.bias.map_or(std::ptr::null(), |b| b.as_ptr()),
        relu: p.relu,
    };
    assert!(p.b.len() >= n_panels * nr * ke && p.bias.is_none_or(|b| b.len() >= n));
    let grid = Grid::new(
        m_panels,
        n_panels,
        (A_BLOCK_BYTES / (mr * ke * 2).max(1)).max(1),
        threads,
    );
    let task = |id: usize| {
        let (ib, jb) = (id / grid.n_chunks, id % grid.n_chunks);
        let ips = ib * grid.panels_per..((ib + 1) * grid.panels_per).min(m_panels);
        for jp in jb * grid.chunk..((jb + 1) * grid.chunk).min(n_panels) {
            let (j, ncur) = (jp * nr, nr.min(n - jp * nr));
            for ip in ips.clone() {
                let (i, mcur) = (ip * mr, mr.min(m - ip * mr));
                // SAFETY: the CPU has AVX-512 BF16 (checked by the caller); Ã holds m_panels·MR
                // rows of ke values and B̃ n_panels panels (asserted above); the tile lies inside
                // C (validated by the caller); tasks write disjoint tiles.
                unsafe { k::tile(&t, p.b.as_ptr().add(jp * nr * ke), i, j, mcur, ncur) };
                if let Some(h) = p.hook {
                    for r in 0..mcur {
                        // SAFETY: row i + r, columns j..j+ncur belong to this tile only.
                        h(unsafe {
                            std::slice::from_raw_parts_mut(t.c.add((i + r) * p.rsc + j), ncur)
                        });
                    }
                }
            }
        }
    };
    let tasks = m_panels.div_ceil(grid.panels_per) * grid.n_chunks;
    if threads > 1 {
        par::for_each(tasks, task);
    } else {
        (0..tasks).for_each(task);
    }
}
