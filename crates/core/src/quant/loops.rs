//! The loops around the int8 microkernel, with (row block, column panels) tasks over threads.
//!
//! K is not blocked: each tile sums its whole depth in i32 registers, so the sums are exact and
//! the write-out happens once. (An f32 GEMM blocks K to keep B̃ in L1; here a K = 3072 B
//! micro-panel is 3072·48 bytes = 144 KiB and streams from L2 at 8 bytes per cycle, a quarter of
//! what L2 delivers.) Every element of C comes from the same integer sum and the same f32
//! operations whatever the tiling or thread count, so results are bit-identical for any split.

use super::activations::quantize_rows;
use super::kernel::Kernel;
use super::pack::k_padded;
use super::tile::{dequant_one, RowHook, Tile};
use super::weights::{PackedB, QuantizedMatrix};
use crate::error::Result;
use crate::mat::MatRef;
use crate::par;

/// Bytes of packed A one task sweeps for every column panel: it must stay in L2 (≥ 512 KiB on
/// the CPUs with VNNI) beside the B̃ micro-panel.
const A_BLOCK_BYTES: usize = 256 * 1024;

/// Below this many multiply-adds a product runs on one thread (≈ 10 µs of `vpdpbusd` time,
/// more than a fork/join costs).
const PARALLEL_MIN_MACS: usize = 1 << 21;

/// One product `C ← dequant(A_q·W_qᵀ) + β·C + bias`, shapes validated by the caller.
pub(crate) struct Problem<'a> {
    pub kern: Kernel,
    pub a: MatRef<'a>,
    pub w: &'a QuantizedMatrix,
    pub c: *mut f32,
    pub rsc: usize,
    pub beta: f32,
    pub bias: Option<&'a [f32]>,
    pub relu: bool,
    pub hook: Option<RowHook<'a>>,
    pub parallel: bool,
}

/// Runs the product. Fails (before C is touched) when a row of A is not finite.
pub(crate) fn run(p: Problem) -> Result<()> {
    let (m, n, k) = (p.a.rows(), p.w.n, p.w.k);
    if m == 0 || n == 0 {
        return Ok(());
    }
    let kern = &p.kern;
    let macs = m.saturating_mul(n).saturating_mul(k);
    let threads = if p.parallel && macs >= PARALLEL_MIN_MACS {
        rayon::current_num_threads()
    } else {
        1
    };
    let rows = quantize_rows(kern, &p.a, p.w.inv_smooth(), threads > 1)?;
    if k == 0 {
        rows.recycle();
        write_k0(&p);
        return Ok(());
    }

    let (mr, nr) = (kern.mr, kern.nr);
    let elem = if kern.wide { 2 } else { 1 };
    let kp = k_padded(k);
    let (a_panel, b_panel) = (mr * kp * elem, nr * kp * elem);
    let a_bytes = rows.bytes();
    let b_bytes: &[u8] = match &p.w.b {
        PackedB::Bytes(v) => bytemuck::cast_slice(v),
        PackedB::Wide(v) => bytemuck::cast_slice(v),
    };
    let (m_panels, n_panels) = (m.div_ceil(mr), n.div_ceil(nr));
    assert!(a_bytes.len() >= m_panels * a_panel && b_bytes.len() >= n_panels * b_panel);
    assert!(rows.zp.len() >= m_panels * mr && p.w.sw.len() >= n_panels * nr);
    if let Some(b) = p.bias {
        assert!(b.len() >= n);
    }

    let t = Tile {
        groups: kp / kern.kg,
        c: p.c,
        rsc: p.rsc,
        beta: p.beta,
        bias: p.bias.map_or(std::ptr::null(), |b| b.as_ptr()),
        relu: p.relu,
        zp: rows.zp.as_ptr(),
        sa: rows.sa.as_ptr(),
        colsum: p.w.colsum.as_ptr(),
        sw: p.w.sw.as_ptr(),
    };
    let grid = Grid::new(
        m_panels,
        n_panels,
        (A_BLOCK_BYTES / a_panel).max(1),
        threads,
    );
    let task = |id: usize| {
        let (ib, jb) = (id / grid.n_chunks, id % grid.n_chunks);
        let ips = ib * grid.panels_per..((ib + 1) * grid.panels_per).min(m_panels);
        let jps = jb * grid.chunk..((jb + 1) * grid.chunk).min(n_panels);
        // Loop 2 (jr): column panels; the B̃ micro-panel stays hot across loop 1.
        for jp in jps {
            let j = jp * nr;
            let ncur = nr.min(n - j);
            // Loop 1 (ir): row panels of this task's block.
            for ip in ips.clone() {
                let i = ip * mr;
                let mcur = mr.min(m - i);
                // SAFETY: `kern` was made by `kernel::kernel` (its ISA is available); the panels
                // lie inside the packed buffers (asserted above); tile (i, j) of mcur × ncur lies
                // inside C, which the caller validated; the row and column arrays are padded to
                // whole panels and the bias holds n values (asserted above). Tasks write
                // disjoint tiles.
                unsafe {
                    (kern.tile)(
                        &t,
                        a_bytes.as_ptr().add(ip * a_panel),
                        b_bytes.as_ptr().add(jp * b_panel),
                        i,
                        j,
                        mcur,
                        ncur,
                    );
                }
                if let Some(h) = p.hook {
                    for r in 0..mcur {
                        // SAFETY: row i + r, columns j..j+ncur of C belong to this tile only.
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
    rows.recycle();
    Ok(())
}

/// How the product is cut into tasks: blocks of `panels_per` row panels (at most what fits
/// [`A_BLOCK_BYTES`]) times `n_chunks` ranges of `chunk` column panels. One thread: one task
/// per row block. More threads: about two tasks per thread, splitting N first (the B̃ panels are
/// the larger operand) and M when N has too few panels.
pub(crate) struct Grid {
    pub panels_per: usize,
    pub chunk: usize,
    pub n_chunks: usize,
}

impl Grid {
    pub(crate) fn new(m_panels: usize, n_panels: usize, max_panels: usize, threads: usize) -> Grid {
        let target = if threads > 1 { 2 * threads } else { 1 };
        let chunk = n_panels.div_ceil(n_panels.clamp(1, target));
        let n_chunks = n_panels.div_ceil(chunk);
        let m_chunks = m_panels
            .div_ceil(max_panels)
            .max(target.div_ceil(n_chunks))
            .clamp(1, m_panels);
        Grid {
            panels_per: m_panels.div_ceil(m_chunks),
            chunk,
            n_chunks,
        }
    }
}

/// K = 0: the product is zero, so C ← β·C + bias, then ReLU and the hook.
fn write_k0(p: &Problem) {
    let n = p.w.n;
    for i in 0..p.a.rows() {
        // SAFETY: the caller validated that C holds m rows of n values at stride rsc.
        let row = unsafe { std::slice::from_raw_parts_mut(p.c.add(i * p.rsc), n) };
        for (j, v) in row.iter_mut().enumerate() {
            let old = if p.beta != 0.0 { *v } else { 0.0 };
            let bias = p.bias.map(|b| b[j]);
            *v = dequant_one(0, 0, 0, 0.0, 0.0, p.beta, old, bias, p.relu);
        }
        if let Some(h) = p.hook {
            h(row);
        }
    }
}
